//! A fake of the Cloud KMS REST API (v1), enough for sops-style key wrapping,
//! following the public reference:
//! - `POST /v1/{name=projects/*/locations/*/keyRings/*/cryptoKeys/**}:encrypt`
//!   `{"plaintext": b64, "additionalAuthenticatedData"?: b64}` →
//!   `{"name": ".../cryptoKeyVersions/1", "ciphertext": b64, "protectionLevel": "SOFTWARE", …}`;
//! - `POST …:decrypt` `{"ciphertext": b64}` → `{"plaintext": b64, "usedPrimary": true, …}`;
//! - errors as `{"error": {"code", "message", "status"}}` (401 UNAUTHENTICATED,
//!   403 PERMISSION_DENIED, 404 NOT_FOUND, 400 INVALID_ARGUMENT).
//!
//! It also plays the GCE metadata server (`GCE_METADATA_HOST`) so that
//! Application Default Credentials obtain a token from it, as on GKE with
//! workload identity. Ciphertexts are AES-256-GCM under a per-key secret, so a
//! ciphertext only opens with the key that made it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use serde_json::{json, Value};

use crate::standins::{FakeControls, FakeRequest, FakeResponse, FakeServer};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The token the fake metadata server hands out and the KMS accepts.
pub const METADATA_TOKEN: &str = "ya29.fake-metadata-token";

#[derive(Default)]
struct State {
    keys: BTreeMap<String, [u8; 32]>,
    tokens: BTreeSet<String>,
    /// Service accounts whose self-signed JWTs are accepted: email -> RSA public key
    /// (PKCS#1 DER), as Google verifies a service-account key's signature.
    service_accounts: BTreeMap<String, Vec<u8>>,
    /// Resource ids whose use is denied (a revoked IAM binding).
    denied: BTreeSet<String>,
}

/// The running fake.
pub struct FakeGcpKms {
    pub server: FakeServer,
    state: Arc<Mutex<State>>,
}

impl FakeGcpKms {
    pub fn start() -> FakeGcpKms {
        let state = Arc::new(Mutex::new(State::default()));
        state.lock().unwrap().tokens.insert(METADATA_TOKEN.into());
        let controls = Arc::new(FakeControls::default());
        let handler_state = state.clone();
        let handler_controls = controls.clone();
        let server = FakeServer::start(
            None,
            controls,
            Arc::new(move |req| handle(req, &handler_state, &handler_controls)),
        );
        FakeGcpKms { server, state }
    }

    /// `http://127.0.0.1:port`: the value for `SOPS_GCP_KMS_ENDPOINT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `127.0.0.1:port`: the value for `GCE_METADATA_HOST`.
    pub fn metadata_host(&self) -> String {
        format!("127.0.0.1:{}", self.server.port)
    }

    pub fn controls(&self) -> &FakeControls {
        &self.server.controls
    }

    /// Creates a symmetric key named `resource_id`.
    pub fn create_key(&self, resource_id: &str) {
        let mut secret = [0u8; 32];
        SystemRandom::new().fill(&mut secret).unwrap();
        self.state
            .lock()
            .unwrap()
            .keys
            .insert(resource_id.into(), secret);
    }

    /// Accepts `token` as a bearer token (as if from `GOOGLE_OAUTH_ACCESS_TOKEN`).
    pub fn allow_token(&self, token: &str) {
        self.state.lock().unwrap().tokens.insert(token.into());
    }

    /// A new service-account key for `email`, as the JSON file Google issues
    /// (`type: service_account`); bearer JWTs it signs are accepted from now on.
    pub fn service_account_key(&self, email: &str) -> String {
        use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
        use aws_lc_rs::signature::KeyPair as _;
        let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8: Pkcs8V1Der = key.as_der().unwrap();
        let body = B64.encode(pkcs8.as_ref());
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        );
        self.state
            .lock()
            .unwrap()
            .service_accounts
            .insert(email.into(), key.public_key().as_ref().to_vec());
        json!({
            "type": "service_account",
            "project_id": "hush-test",
            "private_key_id": "0123456789abcdef",
            "private_key": pem,
            "client_email": email,
            "client_id": "1234567890",
            "token_uri": format!("{}/token", self.url()),
        })
        .to_string()
    }

    /// Denies (or re-allows) use of a key: IAM revoked.
    pub fn deny(&self, resource_id: &str, denied: bool) {
        let mut s = self.state.lock().unwrap();
        if denied {
            s.denied.insert(resource_id.into());
        } else {
            s.denied.remove(resource_id);
        }
    }

    /// Encrypt and decrypt calls answered so far.
    pub fn crypto_calls(&self) -> (usize, usize) {
        (
            self.controls().calls("encrypt"),
            self.controls().calls("decrypt"),
        )
    }
}

/// A self-signed service-account JWT (RS256) whose `iss` is a known service account
/// and whose signature verifies with that account's key.
fn signed_by_service_account(s: &State, token: &str) -> bool {
    let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let claims: Option<Value> = b64url
        .decode(payload)
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok());
    let Some(key) = claims
        .as_ref()
        .and_then(|c| c["iss"].as_str())
        .and_then(|iss| s.service_accounts.get(iss))
    else {
        return false;
    };
    let Ok(signature) = b64url.decode(signature) else {
        return false;
    };
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        key,
    )
    .verify(format!("{header}.{payload}").as_bytes(), &signature)
    .is_ok()
}

fn error(code: u16, status: &str, message: &str) -> FakeResponse {
    FakeResponse::json(
        code,
        &json!({"error": {"code": code, "message": message, "status": status}}).to_string(),
    )
}

fn handle(req: &FakeRequest, state: &Mutex<State>, controls: &FakeControls) -> FakeResponse {
    if req.path.starts_with("/computeMetadata/") {
        return metadata(req, controls).with_header("Metadata-Flavor", "Google");
    }
    let Some(rest) = req.path.strip_prefix("/v1/") else {
        return error(404, "NOT_FOUND", "unknown path");
    };
    let Some((name, verb)) = rest.rsplit_once(':') else {
        return error(404, "NOT_FOUND", "unknown method");
    };
    if req.method != "POST" || !(verb == "encrypt" || verb == "decrypt") {
        return error(404, "NOT_FOUND", "unknown method");
    }
    let s = state.lock().unwrap();
    let token = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    if !s.tokens.contains(token) && !signed_by_service_account(&s, token) {
        return error(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        );
    }
    if s.denied.contains(name) {
        return error(
            403,
            "PERMISSION_DENIED",
            &format!("Permission 'cloudkms.cryptoKeyVersions.useTo{}' denied on resource '{name}' (or it may not exist).", if verb == "encrypt" { "Encrypt" } else { "Decrypt" }),
        );
    }
    let Some(secret) = s.keys.get(name).copied() else {
        return error(404, "NOT_FOUND", &format!("CryptoKey {name} not found."));
    };
    drop(s);
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    };
    controls.count(verb);
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .and_then(|v| B64.decode(v).ok())
    };
    let aad = field("additionalAuthenticatedData").unwrap_or_default();
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &secret).unwrap());
    if verb == "encrypt" {
        let Some(mut plaintext) = field("plaintext") else {
            return error(400, "INVALID_ARGUMENT", "plaintext is required");
        };
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).unwrap();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad[..]),
            &mut plaintext,
        )
        .unwrap();
        let mut ciphertext = nonce.to_vec();
        ciphertext.extend_from_slice(&plaintext);
        FakeResponse::json(
            200,
            &json!({
                "name": format!("{name}/cryptoKeyVersions/1"),
                "ciphertext": B64.encode(&ciphertext),
                "verifiedPlaintextCrc32c": false,
                "verifiedAdditionalAuthenticatedDataCrc32c": false,
                "protectionLevel": "SOFTWARE",
            })
            .to_string(),
        )
    } else {
        let bad = || {
            error(
                400,
                "INVALID_ARGUMENT",
                "Decryption failed: the ciphertext is invalid.",
            )
        };
        let Some(ciphertext) = field("ciphertext") else {
            return bad();
        };
        if ciphertext.len() < NONCE_LEN + 16 {
            return bad();
        }
        let (nonce, sealed) = ciphertext.split_at(NONCE_LEN);
        let mut sealed = sealed.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).unwrap();
        match key.open_in_place(nonce, Aad::from(&aad[..]), &mut sealed) {
            Ok(plaintext) => FakeResponse::json(
                200,
                &json!({
                    "plaintext": B64.encode(plaintext),
                    "usedPrimary": true,
                    "protectionLevel": "SOFTWARE",
                })
                .to_string(),
            ),
            Err(_) => bad(),
        }
    }
}

/// The metadata server's token endpoint (and the little else ADC asks for).
fn metadata(req: &FakeRequest, controls: &FakeControls) -> FakeResponse {
    if req.header("metadata-flavor") != Some("Google") {
        return FakeResponse::json(403, r#"{"error":"Missing Metadata-Flavor header"}"#);
    }
    let path = req.path.trim_end_matches('/');
    if path.ends_with("/service-accounts/default/token") {
        controls.count("metadata-token");
        return FakeResponse::json(
            200,
            &json!({"access_token": METADATA_TOKEN, "expires_in": 3599, "token_type": "Bearer"})
                .to_string(),
        );
    }
    if path.ends_with("/universe/universe-domain") {
        return FakeResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "application/text".into())],
            body: b"googleapis.com".to_vec(),
        };
    }
    if path.ends_with("/service-accounts/default")
        || path.ends_with("/service-accounts/default/email")
    {
        return FakeResponse::json(
            200,
            r#"{"email":"sops@hush-test.iam.gserviceaccount.com","scopes":["https://www.googleapis.com/auth/cloud-platform"]}"#,
        );
    }
    FakeResponse::json(404, r#"{"error":"not found"}"#)
}
