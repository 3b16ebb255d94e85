//! A fake Azure Key Vault (keys API) and Entra ID token endpoint over HTTPS,
//! following the public REST reference:
//! - Key Vault's challenge: a request without a valid bearer token gets
//!   `401` with `WWW-Authenticate: Bearer authorization="…", resource="https://vault.azure.net"`;
//! - `POST {authority}/{tenant}/oauth2/v2.0/token` (client credentials) →
//!   `{"token_type": "Bearer", "expires_in", "ext_expires_in", "access_token"}`;
//! - `GET /keys/{name}/{version?}` → `{"key": {"kid", "kty": "RSA", "key_ops", "n", "e"}, "attributes": {…}}`;
//! - `POST /keys/{name}/{version}/wrapkey|unwrapkey` `{"alg": "RSA-OAEP-256", "value": b64url}` →
//!   `{"kid", "value": b64url}`;
//! - errors as `{"error": {"code", "message"}}` (`KeyNotFound` 404, `Forbidden` 403, `BadParameter` 400).
//!
//! Keys are real RSA-2048 keys and wrapping is real RSA-OAEP-256, so output
//! has the shape and size Key Vault's has. Azure SDKs send tokens only over
//! https: the server uses a self-signed certificate; trust it with `SSL_CERT_FILE`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeySize, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    OAEP_SHA256_MGF1SHA256,
};
use base64::Engine;
use serde_json::{json, Value};

use crate::standins::{FakeControls, FakeRequest, FakeResponse, FakeServer};

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const CLIENT_ID: &str = "hush-test-client";
pub const CLIENT_SECRET: &str = "hush-test-secret";
/// Tokens from any fake authority start with this; every fake vault accepts
/// them (they share one tenant), so one authority can serve several vaults.
const TOKEN_PREFIX: &str = "eyJ0eXAiOiJKV1Qi.fake.";

struct KeyVersion {
    version: String,
    key: PrivateDecryptingKey,
    /// Big-endian modulus and exponent, for GetKey's JWK.
    n: Vec<u8>,
    e: Vec<u8>,
}

#[derive(Default)]
struct State {
    /// Versions of each key, oldest first (the last is the latest).
    keys: BTreeMap<String, Vec<KeyVersion>>,
    denied: BTreeSet<String>,
    issued: usize,
}

/// The running fake: one vault and its token authority on the same port.
pub struct FakeAzureKv {
    pub server: FakeServer,
    /// The self-signed certificate to trust (`SSL_CERT_FILE`).
    pub ca_pem: String,
    state: Arc<Mutex<State>>,
}

impl FakeAzureKv {
    pub fn start() -> FakeAzureKv {
        let (tls, ca_pem) = crate::standins::self_signed_tls();
        let state = Arc::new(Mutex::new(State::default()));
        let controls = Arc::new(FakeControls::default());
        let handler_state = state.clone();
        let handler_controls = controls.clone();
        let port_cell: Arc<Mutex<u16>> = Arc::new(Mutex::new(0));
        let handler_port = port_cell.clone();
        let server = FakeServer::start(
            Some(tls),
            controls,
            Arc::new(move |req| {
                let port = *handler_port.lock().unwrap();
                handle(req, port, &handler_state, &handler_controls)
            }),
        );
        *port_cell.lock().unwrap() = server.port;
        FakeAzureKv {
            server,
            ca_pem,
            state,
        }
    }

    /// The vault URL (`https://127.0.0.1:port`), also the `AZURE_AUTHORITY_HOST`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn controls(&self) -> &FakeControls {
        &self.server.controls
    }

    /// Environment for a client-secret login against this fake (plus `SSL_CERT_FILE`).
    pub fn env(&self, ca_file: &std::path::Path) -> Vec<(String, String)> {
        vec![
            ("AZURE_TENANT_ID".into(), TENANT.into()),
            ("AZURE_CLIENT_ID".into(), CLIENT_ID.into()),
            ("AZURE_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
            ("AZURE_AUTHORITY_HOST".into(), self.url()),
            ("SSL_CERT_FILE".into(), ca_file.display().to_string()),
        ]
    }

    /// Creates a new RSA-2048 version of key `name`; returns the version id.
    pub fn create_key(&self, name: &str) -> String {
        let key = PrivateDecryptingKey::generate(KeySize::Rsa2048).expect("RSA key");
        let spki = key.public_key().as_der().expect("public key DER");
        let (n, e) = modulus_and_exponent(spki.as_ref());
        let mut s = self.state.lock().unwrap();
        let versions = s.keys.entry(name.into()).or_default();
        let version = format!(
            "{:032x}",
            versions.len() as u128 + 0xabc0_0000_0000_0000_0000_0000_0000_0000
        );
        versions.push(KeyVersion {
            version: version.clone(),
            key,
            n,
            e,
        });
        version
    }

    /// Denies (or re-allows) use of key `name`: access policy revoked.
    pub fn deny(&self, name: &str, denied: bool) {
        let mut s = self.state.lock().unwrap();
        if denied {
            s.denied.insert(name.into());
        } else {
            s.denied.remove(name);
        }
    }

    /// (wrapKey, unwrapKey) calls answered so far.
    pub fn crypto_calls(&self) -> (usize, usize) {
        (
            self.controls().calls("wrapkey"),
            self.controls().calls("unwrapkey"),
        )
    }
}

/// Reads n and e from a DER SubjectPublicKeyInfo holding an RSA key:
/// SEQUENCE { AlgorithmIdentifier, BIT STRING { SEQUENCE { INTEGER n, INTEGER e } } }.
fn modulus_and_exponent(spki: &[u8]) -> (Vec<u8>, Vec<u8>) {
    fn read_tlv(d: &[u8]) -> (u8, &[u8], &[u8]) {
        let tag = d[0];
        let (len, hdr) = if d[1] & 0x80 == 0 {
            (d[1] as usize, 2)
        } else {
            let k = (d[1] & 0x7f) as usize;
            let mut l = 0usize;
            for b in &d[2..2 + k] {
                l = (l << 8) | *b as usize;
            }
            (l, 2 + k)
        };
        (tag, &d[hdr..hdr + len], &d[hdr + len..])
    }
    let (_, outer, _) = read_tlv(spki);
    let (_, _algorithm, rest) = read_tlv(outer);
    let (_, bits, _) = read_tlv(rest);
    let (_, seq, _) = read_tlv(&bits[1..]); // skip the unused-bits byte
    let (_, n, rest) = read_tlv(seq);
    let (_, e, _) = read_tlv(rest);
    let strip = |v: &[u8]| {
        let i = v.iter().position(|b| *b != 0).unwrap_or(v.len());
        v[i..].to_vec()
    };
    (strip(n), strip(e))
}

fn error(status: u16, code: &str, message: &str) -> FakeResponse {
    FakeResponse::json(
        status,
        &json!({"error": {"code": code, "message": message}}).to_string(),
    )
}

fn form_value<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

fn handle(
    req: &FakeRequest,
    port: u16,
    state: &Mutex<State>,
    controls: &FakeControls,
) -> FakeResponse {
    let base = format!("https://127.0.0.1:{port}");
    if req.path == format!("/{TENANT}/oauth2/v2.0/token") {
        let body = String::from_utf8_lossy(&req.body).into_owned();
        if form_value(&body, "client_id") != Some(CLIENT_ID)
            || form_value(&body, "client_secret") != Some(CLIENT_SECRET)
        {
            return FakeResponse::json(
                401,
                r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}"#,
            );
        }
        controls.count("token");
        let mut s = state.lock().unwrap();
        s.issued += 1;
        let token = format!("{TOKEN_PREFIX}{}", s.issued);
        return FakeResponse::json(
            200,
            &json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}).to_string(),
        );
    }
    let token = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    let s = state.lock().unwrap();
    if !token.starts_with(TOKEN_PREFIX) {
        controls.count("challenge");
        return error(
            401,
            "Unauthorized",
            "AKV10000: Request is missing a Bearer or PoP token.",
        )
        .with_header(
            "WWW-Authenticate",
            &format!(
                r#"Bearer authorization="{base}/{TENANT}", resource="https://vault.azure.net""#
            ),
        );
    }
    let parts: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    if parts.first() != Some(&"keys") || parts.len() < 2 {
        return error(404, "NotFound", "unknown path");
    }
    let name = parts[1];
    let Some(versions) = s.keys.get(name) else {
        return error(
            404,
            "KeyNotFound",
            &format!("A key with (name/id) {name} was not found in this key vault."),
        );
    };
    if s.denied.contains(name) {
        return error(
            403,
            "Forbidden",
            &format!("The user, group or application does not have keys wrapKey/unwrapKey permission on key vault for key {name}."),
        );
    }
    let version = parts.get(2).copied().unwrap_or("");
    let found = if version.is_empty() {
        versions.last()
    } else {
        versions.iter().find(|v| v.version == version)
    };
    let Some(kv) = found else {
        return error(
            404,
            "KeyNotFound",
            &format!("A key with (name/id) {name}/{version} was not found in this key vault."),
        );
    };
    let kid = format!("{base}/keys/{name}/{}", kv.version);
    match (req.method.as_str(), parts.get(3).copied()) {
        ("GET", None) => {
            controls.count("getkey");
            FakeResponse::json(
                200,
                &json!({
                    "key": {
                        "kid": kid, "kty": "RSA",
                        "key_ops": ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
                        "n": B64URL.encode(&kv.n), "e": B64URL.encode(&kv.e),
                    },
                    "attributes": {"enabled": true, "created": 1764200000, "updated": 1764200000, "recoveryLevel": "Recoverable+Purgeable"},
                })
                .to_string(),
            )
        }
        ("POST", Some(op @ ("wrapkey" | "unwrapkey"))) => {
            let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
                return error(400, "BadParameter", "Invalid JSON in request body.");
            };
            if body.get("alg").and_then(Value::as_str) != Some("RSA-OAEP-256") {
                return error(400, "BadParameter", "Unsupported algorithm.");
            }
            let Some(value) = body
                .get("value")
                .and_then(Value::as_str)
                .and_then(|v| B64URL.decode(v.trim_end_matches('=')).ok())
            else {
                return error(400, "BadParameter", "Property 'value' is required.");
            };
            controls.count(op);
            let result = if op == "wrapkey" {
                let public = OaepPublicEncryptingKey::new(kv.key.public_key()).unwrap();
                let mut out = vec![0u8; public.ciphertext_size()];
                public
                    .encrypt(&OAEP_SHA256_MGF1SHA256, &value, &mut out, None)
                    .map(|c| c.to_vec())
                    .ok()
            } else {
                let private = OaepPrivateDecryptingKey::new(kv.key.clone()).unwrap();
                let mut out = vec![0u8; private.min_output_size()];
                private
                    .decrypt(&OAEP_SHA256_MGF1SHA256, &value, &mut out, None)
                    .map(|p| p.to_vec())
                    .ok()
            };
            match result {
                Some(bytes) => FakeResponse::json(
                    200,
                    &json!({"kid": kid, "value": B64URL.encode(bytes)}).to_string(),
                ),
                None => error(
                    400,
                    "BadParameter",
                    "Error occurred while decrypting the value.",
                ),
            }
        }
        _ => error(405, "MethodNotAllowed", "unsupported operation"),
    }
}
