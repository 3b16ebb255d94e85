//! HashiCorp Vault / OpenBao transit (`hc_vault:` entries):
//! `POST {address}/v1/{engine_path}/encrypt/{key_name}` with the base64 data
//! key; `enc` is the `vault:vN:…` ciphertext, exactly as sops stores it.
//!
//! The address is the key's `vault_address` (`VAULT_ADDR` when a key has none).
//! The token is `VAULT_TOKEN`, else `~/.vault-token`; `VAULT_NAMESPACE`,
//! `VAULT_CACERT` and `VAULT_SKIP_VERIFY` are honoured as by the Vault CLI.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine;
use hush_crypto::{KeyKind, KeyType, MasterKey};
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;
use zeroize::Zeroizing;

use super::net::{self, CallError, NetSettings};
use super::{unwrap_error, wrap_error};
use crate::source::{KeyError, KeySource};

/// Wraps data keys with a transit engine. Clients (one per address) are built
/// on first use, so constructing the source reads no token and opens no socket.
pub struct VaultTransitSource {
    settings: NetSettings,
    /// A token to use instead of `VAULT_TOKEN` / `~/.vault-token`.
    token: Option<Zeroizing<String>>,
    clients: Mutex<HashMap<String, Arc<VaultClient>>>,
}

impl Default for VaultTransitSource {
    fn default() -> Self {
        Self::new(NetSettings::from_env())
    }
}

/// The token the Vault CLI would use: `VAULT_TOKEN`, else `~/.vault-token`.
fn token() -> Option<Zeroizing<String>> {
    if let Ok(t) = std::env::var("VAULT_TOKEN") {
        if !t.trim().is_empty() {
            return Some(Zeroizing::new(t.trim().to_string()));
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let t = Zeroizing::new(std::fs::read_to_string(home.join(".vault-token")).ok()?);
    let t = t.trim();
    (!t.is_empty()).then(|| Zeroizing::new(t.to_string()))
}

struct VaultKey<'k> {
    address: String,
    engine_path: &'k str,
    key_name: &'k str,
}

fn parse(kind: &KeyKind) -> Result<VaultKey<'_>, KeyError> {
    let KeyKind::HcVault {
        vault_address,
        engine_path,
        key_name,
    } = kind
    else {
        return Err(KeyError::Unsupported(kind.key_type()));
    };
    let address = if vault_address.is_empty() {
        std::env::var("VAULT_ADDR").unwrap_or_default()
    } else {
        vault_address.clone()
    };
    let valid = url::Url::parse(&address)
        .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .unwrap_or(false);
    if !valid {
        return Err(KeyError::InvalidKey {
            kind: "hc_vault",
            input: kind.describe(),
            reason: format!("{address:?} is not an http(s) Vault address"),
        });
    }
    Ok(VaultKey {
        address: address.trim_end_matches('/').to_string(),
        engine_path: engine_path.trim_matches('/'),
        key_name,
    })
}

impl VaultTransitSource {
    pub fn new(settings: NetSettings) -> Self {
        VaultTransitSource {
            settings,
            token: None,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Uses `token` instead of the environment's.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Zeroizing::new(token.into()));
        self
    }

    fn client(&self, address: &str) -> Result<Arc<VaultClient>, CallError> {
        let cached = self.clients.lock().expect("lock").get(address).cloned();
        if let Some(c) = cached {
            return Ok(c);
        }
        let token = self.token.clone().or_else(token).ok_or_else(|| {
            CallError::no_credentials("no Vault token: set VAULT_TOKEN or write ~/.vault-token")
        })?;
        net::install_crypto_provider();
        let mut builder = VaultClientSettingsBuilder::default();
        // `address` was validated in `parse`, so the builder's panicking setter is safe.
        builder
            .address(address)
            .token(token.as_str())
            .timeout(Some(self.settings.total_timeout));
        if let Ok(ns) = std::env::var("VAULT_NAMESPACE") {
            if !ns.is_empty() {
                builder.set_namespace(ns);
            }
        }
        let settings = builder
            .build()
            .map_err(|e| CallError::permanent(format!("Vault client settings: {e}")))?;
        let client = Arc::new(
            VaultClient::new(settings)
                .map_err(|e| CallError::permanent(format!("Vault client: {e}")))?,
        );
        self.clients
            .lock()
            .expect("lock")
            .insert(address.to_string(), client.clone());
        Ok(client)
    }
}

/// Vault answers with a status and error strings; 5xx and 429 are worth a retry,
/// as are failures to reach the server at all.
fn classify(err: ClientError) -> CallError {
    match err {
        ClientError::APIError { code, errors } => {
            let detail = format!("HTTP {code}: {}", errors.join("; "));
            if code >= 500 || code == 429 {
                CallError::transient(detail)
            } else {
                CallError::permanent(detail)
            }
        }
        ClientError::RestClientError { source } => {
            let mut detail = source.to_string();
            let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&source);
            while let Some(c) = cause {
                detail.push_str(&format!(": {c}"));
                cause = c.source();
            }
            CallError::transient(detail)
        }
        other => CallError::permanent(other.to_string()),
    }
}

impl KeySource for VaultTransitSource {
    fn key_type(&self) -> KeyType {
        KeyType::HcVault
    }

    fn wrap(&self, kind: &KeyKind, data_key: &[u8]) -> Result<String, KeyError> {
        let key = parse(kind)?;
        let plaintext = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(data_key));
        let (engine, name, plaintext) = (key.engine_path, key.key_name, plaintext.as_str());
        let result = self.client(&key.address).and_then(|client| {
            let client = client.as_ref();
            net::block_on(net::with_retries(&self.settings, || async move {
                vaultrs::transit::data::encrypt(client, engine, name, plaintext, None)
                    .await
                    .map(|r| r.ciphertext)
                    .map_err(classify)
            }))
        });
        result.map_err(|e| wrap_error(kind, &key.address, e))
    }

    fn unwrap(&self, master: &MasterKey) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let kind = &master.kind;
        let key = parse(kind)?;
        let (engine, name, ciphertext) = (key.engine_path, key.key_name, master.enc.trim());
        let result = self.client(&key.address).and_then(|client| {
            let client = client.as_ref();
            net::block_on(net::with_retries(&self.settings, || async move {
                let answer =
                    vaultrs::transit::data::decrypt(client, engine, name, ciphertext, None)
                        .await
                        .map_err(classify)?;
                let encoded = Zeroizing::new(answer.plaintext);
                base64::engine::general_purpose::STANDARD
                    .decode(encoded.as_bytes())
                    .map(Zeroizing::new)
                    .map_err(|_| CallError::permanent("the decrypt answer is not base64"))
            }))
        });
        result.map_err(|e| unwrap_error(kind, &key.address, e))
    }
}
