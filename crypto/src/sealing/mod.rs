//! Sealed Secrets (`bitnami.com/v1alpha1`) compatible sealing.
//!
//! * [`hybrid`]: the per-value RSA-OAEP + AES-256-GCM scheme, byte for byte as
//!   Bitnami's `pkg/crypto/crypto.go` (`HybridEncrypt`/`HybridDecrypt`).
//! * [`scope`]: strict / namespace-wide / cluster-wide scopes and their OAEP labels.
//! * [`keys`] and [`cert`]: the controller's RSA key pairs, their PEM forms, the
//!   key Secrets (`tls.crt`/`tls.key`) and the self-signed certificates.
//! * [`manifest`]: Kubernetes Secret -> SealedSecret documents (YAML/JSON),
//!   `--merge-into`, and the whole-object unseal used by the controller.
//!
//! RSA backend: every RSA operation goes through `aws-lc-rs` (AWS-LC). The pure
//! Rust `rsa` crate is not used: RUSTSEC-2023-0071 (Marvin timing attack) still
//! lists no patched release (advisory-db PR #3208, 2026-09-12: 0.9.10 and
//! 0.10.0-rc.18 affected, tracking RustCrypto/RSA#626). AWS-LC blinds the
//! private-key operation (`crypto/fipsmodule/rsa/rsa_impl.c`, `rsa_blinding_get`),
//! uses constant-time Montgomery exponentiation, and checks OAEP padding with
//! constant-time masks (`crypto/rsa_extra/rsa_crypt.c`,
//! `RSA_padding_check_PKCS1_OAEP_mgf1`).

pub mod cert;
pub mod documents;
pub mod hybrid;
pub mod keys;
pub mod manifest;
pub mod scope;
pub mod template;

pub use cert::{
    generate_sealing_key, parse_certificate_pem, CertificateInfo, SealingKeyMaterial,
    DEFAULT_KEY_TTL,
};
pub use documents::DocumentFormat;
pub use hybrid::{seal, unseal, unseal_with_any, SealError};
pub use keys::{key_fingerprint, KeyError, SealingPrivateKey, SealingPublicKey};
pub use manifest::{
    merge_into, parse_recovery_keys, seal_raw, seal_secret, unseal_sealed_secret, ManifestError,
    SealOptions, SealedSecretManifest, SecretManifest, UnsealedSecret,
};
pub use scope::{scope_label, Scope};
