#!/usr/bin/env python3
"""Labelled accuracy corpus for leak scanners.

Writes DEST/files/... and DEST/labels.json. Every labelled line is either a
realistic positive (a synthetic secret in the provider's real format, in a
realistic context) or a hard negative (UUIDs, hashes, documented example
keys, placeholders such as `changeme` or `${VAR}`, code references, SOPS
`ENC[...]` values, SealedSecret data, prefixes mentioned in docs).
Each label has a category (the kind of secret or trap).
Usage: make_corpus.py DEST [SEED]
"""
import base64
import hashlib
import json
import os
import random
import sys
import uuid

dest = sys.argv[1]
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 2026)
A = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
HEX = "0123456789abcdef"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def r(n, alphabet=A):
    return "".join(rng.choice(alphabet) for _ in range(n))


def b64(n):
    return base64.b64encode(bytes(rng.randrange(256) for _ in range(n))).decode()


def pem_body(lines=6):
    return "\n".join(b64(48) for _ in range(lines))


def jwt():
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
    h = enc({"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"})
    p = enc({"sub": r(10), "iat": rng.randint(1.6e9, 1.8e9), "role": rng.choice(["admin", "svc", "ci"])})
    return f"{h}.{p}.{r(43, A + '-_')}"


def filler():
    w = rng.sample("user order cache index client request build render parse value total count".split(), 3)
    return rng.choice([
        f"    {w[0]}_{w[1]} = compute_{w[2]}({rng.randint(0, 99)})",
        f"// {w[0]} {w[1]} {w[2]}",
        f"  {w[0]}: {rng.randint(0, 9999)}",
        f"const {w[0]}{w[1].title()} = '{w[2]}';",
        "",
    ])


# category -> (positive generators, negative generators); each returns (text, offset of labelled line in text)
def ctx(key, value, style=None):
    style = style or rng.choice(["env", "yaml", "json", "py", "js", "go", "toml"])
    return {
        "env": f"{key.upper()}={value}",
        "yaml": f"  {key.lower()}: {value}",
        "json": f'  "{key}": "{value}",',
        "py": f'{key.upper()} = "{value}"',
        "js": f"const {key} = '{value}';",
        "go": f'\t{key} := "{value}"',
        "toml": f'{key.lower()} = "{value}"',
    }[style]


P = {
    "private-key": [
        lambda: f"-----BEGIN RSA PRIVATE KEY-----\n{pem_body()}\n-----END RSA PRIVATE KEY-----",
        lambda: f"-----BEGIN PRIVATE KEY-----\n{pem_body()}\n-----END PRIVATE KEY-----",
        lambda: f"-----BEGIN EC PRIVATE KEY-----\n{pem_body(3)}\n-----END EC PRIVATE KEY-----",
        lambda: f"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA{r(46, A + '+/')}\n{pem_body(4)}\n-----END OPENSSH PRIVATE KEY-----",
        lambda: f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBG{r(58, A + '+/')}\n{pem_body(4)}\n={r(4)}\n-----END PGP PRIVATE KEY BLOCK-----",
        lambda: '  "private_key": "-----BEGIN PRIVATE KEY-----\\n' + "\\n".join(b64(48) for _ in range(5)) + '\\n-----END PRIVATE KEY-----\\n",',
    ],
    "aws": [
        lambda: ctx("aws_access_key_id", "AKIA" + r(16, B32)),
        lambda: ctx("AccessKeyId", "ASIA" + r(16, B32), "json"),
        lambda: ctx("aws_secret_access_key", r(40, A + "+/"), rng.choice(["env", "toml", "yaml"])),
    ],
    "gcp": [
        lambda: ctx("apiKey", "AIza" + r(35, A + "-_"), rng.choice(["js", "json"])),
        lambda: ctx("client_secret", "GOCSPX-" + r(28, A + "-_"), "json"),
    ],
    "azure": [
        lambda: f"AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName={r(8).lower()};AccountKey={b64(64)};EndpointSuffix=core.windows.net",
        lambda: ctx("azure_client_secret", r(3) + str(rng.randint(0, 9)) + "Q~" + r(34, A + "_~.-")),
    ],
    "github": [
        lambda: ctx("github_token", rng.choice(["ghp_", "gho_", "ghs_", "ghu_"]) + r(36)),
        lambda: ctx("GH_PAT", "github_pat_" + r(22) + "_" + r(59)),
    ],
    "gitlab": [
        lambda: ctx("gitlab_token", "glpat-" + r(20, A + "_-")),
        lambda: f"gitlab-runner register --registration-token GR1348941{r(20)}",
        lambda: ctx("runner_token", "glrt-" + r(20)),
    ],
    "slack": [
        lambda: ctx("slack_bot_token", f"xoxb-{r(11, '0123456789')}-{r(13, '0123456789')}-{r(24)}"),
        lambda: ctx("slack_webhook", f"https://hooks.slack.com/services/T{r(8, B32)}/B{r(10, B32)}/{r(24)}"),
        lambda: ctx("slack_app_token", f"xapp-1-A{r(10, B32)}-{r(13, '0123456789')}-{r(64, HEX)}"),
    ],
    "stripe": [lambda: ctx("stripe_secret_key", rng.choice(["sk_live_", "rk_live_", "sk_test_"]) + r(rng.choice([24, 34, 99])))],
    "twilio": [
        lambda: ctx("twilio_api_key", "SK" + r(32, HEX)),
        lambda: ctx("twilio_auth_token", r(32, HEX)),
    ],
    "sendgrid": [lambda: ctx("sendgrid_api_key", f"SG.{r(22, A + '-_')}.{r(43, A + '-_')}")],
    "npm": [
        lambda: f"//registry.npmjs.org/:_authToken=npm_{r(36)}",
        lambda: ctx("NPM_TOKEN", "npm_" + r(36)),
    ],
    "pypi": [lambda: f"password = pypi-AgEIcHlwaS5vcmc{r(rng.randint(60, 140), A + '-_')}"],
    "docker": [
        lambda: '{"auths": {"' + rng.choice(["ghcr.io", "registry.corp.internal", "https://index.docker.io/v1/"]) + '": {"auth": "' + base64.b64encode(f"{r(8).lower()}:{r(20)}".encode()).decode() + '"}}}',
        lambda: ctx("DOCKERHUB_TOKEN", "dckr_pat_" + r(27, A + "-_")),
    ],
    "jwt": [
        lambda: f'curl -H "Authorization: Bearer {jwt()}" https://api.internal/v1/jobs',
        lambda: ctx("id_token", jwt()),
    ],
    "url-credentials": [
        lambda: ctx("DATABASE_URL", f"{rng.choice(['postgres', 'mysql', 'mongodb', 'redis', 'amqp'])}://{r(6).lower()}:{r(14)}@{r(5).lower()}.internal:5432/app", rng.choice(["env", "yaml", "toml"])),
        lambda: f"git clone https://deploy:{r(20)}@git.corp-{r(5).lower()}.net/org/repo.git",
    ],
    "generic-password": [
        lambda: ctx(rng.choice(["db_password", "password", "admin_pass", "smtp_password"]), r(rng.randint(12, 20), A + "!#%^*")),
        lambda: ctx(rng.choice(["api_key", "secret_key", "client_secret", "auth_token"]), r(rng.randint(20, 40))),
        lambda: ctx("SECRET_KEY", "django-insecure-" + r(40, A + "!@#%^&*(-_=+)"), "py"),
    ],
}

N = {
    "private-key": [
        lambda: "-----BEGIN CERTIFICATE-----\n" + pem_body() + "\n-----END CERTIFICATE-----",
        lambda: "-----BEGIN PUBLIC KEY-----\n" + pem_body(4) + "\n-----END PUBLIC KEY-----",
        lambda: 'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):',
        lambda: "-----BEGIN PRIVATE KEY-----\n<paste your key here>\n-----END PRIVATE KEY-----",
    ],
    "aws": [
        lambda: ctx("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"),
        lambda: ctx("aws_secret_access_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        lambda: ctx("aws_secret_access_key", "${AWS_SECRET_ACCESS_KEY}", "yaml"),
        lambda: ctx("region", rng.choice(["asia-northeast1", "asia-south1"])),
    ],
    "gcp": [lambda: ctx("apiKey", "AIza" + "X" * 35), lambda: ctx("apiKey", "process.env.FIREBASE_API_KEY", "yaml")],
    "azure": [lambda: ctx("connection", "UseDevelopmentStorage=true"), lambda: ctx("azure_client_secret", "<client-secret>")],
    "github": [lambda: ctx("github_token", "ghp_" + "x" * 36), lambda: ctx("github_token", "${{ secrets.GITHUB_TOKEN }}", "yaml")],
    "gitlab": [lambda: ctx("gitlab_token", "glpat-xxxxxxxxxxxxxxxxxxxx"), lambda: ctx("gitlab_token", "$CI_JOB_TOKEN")],
    "slack": [lambda: ctx("slack_webhook", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"), lambda: ctx("slack_bot_token", "xoxb-your-token")],
    "stripe": [lambda: ctx("stripe_secret_key", "sk_live_" + "x" * 24), lambda: ctx("stripe_publishable_key", "pk_live_" + r(24))],
    "twilio": [lambda: ctx("twilio_account_sid_hint", "AC" + "0" * 32), lambda: ctx("twilio_auth_token", "${TWILIO_AUTH_TOKEN}")],
    "sendgrid": [lambda: "sg.setApiKey(process.env.SENDGRID_API_KEY);"],
    "npm": [lambda: "//registry.npmjs.org/:_authToken=${NPM_TOKEN}"],
    "pypi": [lambda: "password = __token__"],
    "docker": [lambda: '{"auths": {"ghcr.io": {"auth": "' + base64.b64encode(b"just-a-user-without-colon").decode() + '"}}}', lambda: '{"credsStore": "desktop"}'],
    "jwt": [lambda: ctx("example", "eyJhbGciOi..."), lambda: ctx("payload", base64.urlsafe_b64encode(json.dumps({"some": r(8)}).encode()).decode())],
    "url-credentials": [
        lambda: ctx("DATABASE_URL", "postgres://user:password@localhost/db"),
        lambda: ctx("DATABASE_URL", "postgres://app:${DB_PASSWORD}@db/app"),
        lambda: "git@github.com:org/repo.git",
        lambda: 'url = "mysql://%s:%s@%s/%s" % (user, pw, host, db)',
    ],
    "generic-password": [
        lambda: ctx("password", "changeme"),
        lambda: ctx("db_password", "${DB_PASSWORD}"),
        lambda: 'password = os.environ["DB_PASSWORD"]',
        lambda: "token = self.get_token()",
        lambda: ctx("api_key", "<YOUR_API_KEY>"),
        lambda: ctx("request_id", str(uuid.UUID(int=rng.getrandbits(128)))),
        lambda: ctx("token_id", str(uuid.UUID(int=rng.getrandbits(128)))),
        lambda: ctx("secret_sha256", hashlib.sha256(r(10).encode()).hexdigest()),
        lambda: ctx("commit_sha", hashlib.sha1(r(10).encode()).hexdigest()),
        lambda: ctx("integrity", "sha512-" + b64(64)),
        lambda: 'password: "{{ .Values.db.password }}"',
        lambda: "secretKeyRef: {name: db, key: password}",
        lambda: ctx("password_field", "user_password_input"),
        lambda: ctx("TOKEN_TTL_SECONDS", "3600"),
        lambda: ctx("test_password", "password123"),
    ],
}

files_dir = os.path.join(dest, "files")
os.makedirs(files_dir, exist_ok=True)
labels = []


def emit(name, chunks):
    """chunks: list of (text, label or None). Labels point at the chunk's first line."""
    lines = []
    for text, label in chunks:
        if label is not None:
            labels.append({"file": name, "line": len(lines) + 1, **label})
        lines.extend(text.split("\n"))
    path = os.path.join(files_dir, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


EXT = ["env", "yaml", "json", "py", "js", "go", "toml", "txt"]
for cat in P:
    for i in range(8):
        chunks = []
        for _ in range(rng.randint(3, 6)):
            for _ in range(rng.randint(1, 4)):
                chunks.append((filler(), None))
            if rng.random() < 0.55:
                chunks.append((rng.choice(P[cat])(), {"category": cat, "positive": True}))
            else:
                chunks.append((rng.choice(N[cat])(), {"category": cat, "positive": False}))
        emit(f"{cat}/sample{i}.{rng.choice(EXT)}", chunks)

# GitOps: plaintext Kubernetes Secrets, partially decrypted SOPS files, and their safe forms.
ENC = lambda t="str": f"ENC[AES256_GCM,data:{b64(18)},iv:{b64(32)},tag:{b64(16)},type:{t}]"
SOPS_META = lambda: f"sops:\n    age:\n        - recipient: age1{r(58, 'qpzry9x8gf2tvdw0s3jn54khce6mua7l')}\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n            {b64(60)}\n            -----END AGE ENCRYPTED FILE-----\n    lastmodified: \"2026-05-01T10:00:00Z\"\n    mac: {ENC()}\n    unencrypted_suffix: _unencrypted\n    version: 3.13.1"
for i in range(12):
    name = f"app{i}"
    head = [("apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + name + "\n  namespace: prod\ntype: Opaque", None)]
    if i % 3 == 0:
        emit(f"k8s/{name}-secret.yaml", head + [("stringData:", None), (f"  DB_PASSWORD: {r(16)}", {"category": "k8s-secret", "positive": True})])
    elif i % 3 == 1:
        v = base64.b64encode(r(18).encode()).decode()
        emit(f"k8s/{name}-secret.yaml", head + [("data:", None), (f"  api-token: {v}", {"category": "k8s-secret", "positive": True})])
    else:
        emit(f"k8s/{name}-sealed.yaml", [("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: " + name + "\nspec:\n  encryptedData:", None), (f"    password: Ag{b64(300)}", {"category": "k8s-secret", "positive": False})])
for i in range(12):
    body = [("db:", None), (f"    user: {ENC()}", None)]
    if i % 2 == 0:
        body.append((f"    password: {r(18)}", {"category": "sops-plaintext", "positive": True}))
    else:
        body.append((f"    password: {ENC()}", {"category": "sops-plaintext", "positive": False}))
    body.append((f"    port_unencrypted: 5432", None))
    body.append((SOPS_META(), None))
    emit(f"sops/secrets{i}.enc.yaml", body)

with open(os.path.join(dest, "labels.json"), "w") as f:
    json.dump(labels, f, indent=1)
pos = sum(1 for l in labels if l["positive"])
print(f"{dest}: {len(labels)} labelled lines ({pos} positive, {len(labels) - pos} negative)")
