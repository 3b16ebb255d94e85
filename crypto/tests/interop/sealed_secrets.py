#!/usr/bin/env python3
"""Independent Sealed Secrets hybrid scheme, for hush's interop tests.

Usage:
  sealed_secrets.py IMPL seal CERT_PEM_FILE LABEL_HEX PLAINTEXT_HEX      -> base64 ciphertext
  sealed_secrets.py IMPL unseal KEY_PEM_FILE LABEL_HEX CIPHERTEXT_BASE64 -> plaintext hex

IMPL is "pyca" (written here on top of pyca/cryptography: RSA-OAEP SHA-256
with MGF1-SHA-256 and the label, AES-GCM with a 12-byte zero nonce) or
"aes_gcm_rsa_oaep" (the PyPI package of that name, a separate implementation).
Exit status 3 means a dependency is missing.
"""
import base64
import sys

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError as error:  # pragma: no cover - reported to the Rust test
    print(f"missing python dependency: {error}", file=sys.stderr)
    sys.exit(3)


def oaep(label):
    return padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()),
        algorithm=hashes.SHA256(),
        label=label or None,
    )


def pyca_seal(public_key, label, plaintext):
    session_key = AESGCM.generate_key(bit_length=256)
    rsa_ct = public_key.encrypt(session_key, oaep(label))
    body = AESGCM(session_key).encrypt(bytes(12), plaintext, None)
    return len(rsa_ct).to_bytes(2, "big") + rsa_ct + body


def pyca_unseal(private_key, label, ciphertext):
    if len(ciphertext) < 2:
        raise ValueError("too short")
    rsa_len = int.from_bytes(ciphertext[:2], "big")
    if len(ciphertext) < 2 + rsa_len:
        raise ValueError("too short")
    session_key = private_key.decrypt(ciphertext[2 : 2 + rsa_len], oaep(label))
    return AESGCM(session_key).decrypt(bytes(12), ciphertext[2 + rsa_len :], None)


def implementation(name):
    if name == "pyca":
        return pyca_seal, pyca_unseal
    if name == "aes_gcm_rsa_oaep":
        try:
            import aes_gcm_rsa_oaep
        except ImportError as error:
            print(f"missing python dependency: {error}", file=sys.stderr)
            sys.exit(3)
        return (
            lambda key, label, pt: aes_gcm_rsa_oaep.encrypt(pt, key, label or None),
            lambda key, label, ct: aes_gcm_rsa_oaep.decrypt(ct, key, label or None),
        )
    raise SystemExit(f"unknown implementation {name}")


def main():
    impl, command, key_file, label_hex, payload = sys.argv[1:6]
    seal, unseal = implementation(impl)
    label = bytes.fromhex(label_hex)
    with open(key_file, "rb") as handle:
        pem = handle.read()
    if command == "seal":
        public_key = x509.load_pem_x509_certificate(pem).public_key()
        print(base64.b64encode(seal(public_key, label, bytes.fromhex(payload))).decode())
    elif command == "unseal":
        private_key = serialization.load_pem_private_key(pem, password=None)
        print(unseal(private_key, label, base64.b64decode(payload)).hex())
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
