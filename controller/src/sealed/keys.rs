//! The controller's sealing keys, stored as Bitnami stores them: one
//! `kubernetes.io/tls` Secret per key in the controller's namespace, named
//! `<prefix><5 random chars>` and labelled `sealedsecrets.bitnami.com/sealed-secrets-key`,
//! so key Secrets made by the Bitnami controller load unchanged (and the reverse).
//! Old keys are never deleted: they stay in the decrypt set.

use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use hush_crypto::sealing::{generate_sealing_key, SealingKeyMaterial, SealingPrivateKey};
use k8s_openapi::{api::core::v1::Secret, ByteString};
use kube::{
    api::{ListParams, ObjectMeta, PostParams},
    Api, Client, ResourceExt,
};
use rand::{distributions::Alphanumeric, Rng};

/// Label on every key Secret (value `active`; Bitnami marks retired ones `compromised`).
pub const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";
const ACTIVE: &str = "active";
const COMPROMISED: &str = "compromised";
const TLS_CRT: &str = "tls.crt";
const TLS_KEY: &str = "tls.key";

#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("key generation: {0}")]
    Generate(String),
}

/// What we know about one key besides its private half.
#[derive(Clone, Debug)]
pub struct KeyInfo {
    /// Name of the Secret that stores it.
    pub secret_name: String,
    /// SHA-256 fingerprint of the public key, as `hush seal` prints it.
    pub fingerprint: String,
    /// Certificate notBefore (Bitnami's default key ordering).
    pub created: SystemTime,
    pub certificate_pem: String,
}

/// An immutable snapshot of all keys, oldest first; the last one seals new data.
#[derive(Clone, Default)]
pub struct KeySet {
    pub private: Vec<SealingPrivateKey>,
    pub info: Vec<KeyInfo>,
}

impl KeySet {
    pub fn newest(&self) -> Option<&KeyInfo> {
        self.info.last()
    }

    pub fn newest_private(&self) -> Option<&SealingPrivateKey> {
        self.private.last()
    }

    fn from_entries(mut entries: Vec<(SealingPrivateKey, KeyInfo)>) -> Self {
        entries
            .sort_by(|a, b| (a.1.created, &a.1.secret_name).cmp(&(b.1.created, &b.1.secret_name)));
        let (private, info) = entries.into_iter().unzip();
        Self { private, info }
    }
}

/// How keys are made.
#[derive(Clone, Debug)]
pub struct KeySettings {
    pub namespace: String,
    /// Secret name prefix (Bitnami: `sealed-secrets-key`).
    pub prefix: String,
    pub bits: usize,
    pub ttl: Duration,
    pub common_name: String,
}

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            namespace: "kube-system".into(),
            prefix: "sealed-secrets-key".into(),
            bits: 4096,
            ttl: hush_crypto::sealing::DEFAULT_KEY_TTL,
            common_name: "sealed-secret".into(),
        }
    }
}

/// Loads, generates and hands out the sealing keys.
pub struct KeyStore {
    client: Client,
    pub settings: KeySettings,
    current: RwLock<Arc<KeySet>>,
}

impl KeyStore {
    pub fn new(client: Client, settings: KeySettings) -> Self {
        Self {
            client,
            settings,
            current: RwLock::default(),
        }
    }

    /// The keys as of now (cheap: an `Arc` clone).
    pub fn snapshot(&self) -> Arc<KeySet> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn api(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.settings.namespace)
    }

    /// Read every key Secret in the namespace. Unreadable ones are logged and skipped.
    /// Lists without a selector and filters here: the key namespace is small, and this
    /// also picks up the legacy Secret named exactly `<prefix>`.
    pub async fn load(&self) -> Result<usize, KeyStoreError> {
        let secrets = self.api().list(&ListParams::default()).await?;
        let mut entries = Vec::new();
        for secret in secrets {
            let name = secret.name_any();
            let label = secret.labels().get(KEY_LABEL).map(String::as_str);
            let is_key = match label {
                Some(COMPROMISED) => false,
                Some(_) => true,
                None => name == self.settings.prefix,
            };
            if !is_key {
                continue;
            }
            match material_from_secret(&secret) {
                Some(material) => entries.push(entry(material, name)),
                None => {
                    tracing::warn!(secret = %name, "key Secret has no valid tls.crt/tls.key pair; skipped")
                }
            }
        }
        let count = entries.len();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) =
            Arc::new(KeySet::from_entries(entries));
        Ok(count)
    }

    /// Make a new key, store it as a Secret, and add it to the set as the newest.
    pub async fn generate(&self) -> Result<KeyInfo, KeyStoreError> {
        let settings = self.settings.clone();
        let material = tokio::task::spawn_blocking(move || {
            generate_sealing_key(
                settings.bits,
                &settings.common_name,
                SystemTime::now(),
                settings.ttl,
            )
        })
        .await
        .map_err(|e| KeyStoreError::Generate(e.to_string()))?
        .map_err(|e| KeyStoreError::Generate(e.to_string()))?;
        let name = format!("{}{}", self.settings.prefix, random_suffix());
        let secret = key_secret(&name, &self.settings.namespace, &material)?;
        self.api().create(&PostParams::default(), &secret).await?;
        let (private, info) = entry(material, name);
        tracing::info!(secret = %info.secret_name, fingerprint = %info.fingerprint, "generated a new sealing key");
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        let mut set = (**current).clone();
        set.private.push(private);
        set.info.push(info.clone());
        *current = Arc::new(set);
        Ok(info)
    }

    /// Startup: load the existing keys, then generate one when there is none, when
    /// `force` is set, or when the newest is older than `renew_period` (0 = never).
    pub async fn ensure(&self, renew_period: Duration, force: bool) -> Result<(), KeyStoreError> {
        let loaded = self.load().await?;
        tracing::info!(keys = loaded, namespace = %self.settings.namespace, "loaded sealing keys");
        if loaded == 0 || force || self.renewal_due(renew_period).is_some_and(|d| d.is_zero()) {
            self.generate().await?;
        }
        Ok(())
    }

    /// Time until the next renewal (zero when overdue), `None` when renewal is off.
    pub fn renewal_due(&self, renew_period: Duration) -> Option<Duration> {
        if renew_period.is_zero() {
            return None;
        }
        let newest = self.snapshot().newest()?.created;
        let age = SystemTime::now().duration_since(newest).unwrap_or_default();
        Some(renew_period.saturating_sub(age))
    }

    /// Renew forever: a new key every `renew_period` after the newest one, and one at
    /// once on SIGUSR1 (as Bitnami). Failures are retried after a minute.
    pub async fn renew_loop(self: Arc<Self>, renew_period: Duration) {
        let mut usr1 =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()).ok();
        loop {
            let wait = self
                .renewal_due(renew_period)
                .unwrap_or(Duration::from_secs(365 * 24 * 3600));
            let forced = tokio::select! {
                _ = tokio::time::sleep(wait) => false,
                Some(()) = async { match usr1.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => true,
            };
            if !forced && self.renewal_due(renew_period).is_none() {
                continue;
            }
            if let Err(err) = self.generate().await {
                tracing::warn!(%err, "key renewal failed; retrying in 60s");
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
        }
    }
}

fn entry(material: SealingKeyMaterial, secret_name: String) -> (SealingPrivateKey, KeyInfo) {
    let info = KeyInfo {
        secret_name,
        fingerprint: material.private_key.fingerprint(),
        created: UNIX_EPOCH + Duration::from_secs(material.certificate.not_before),
        certificate_pem: material.tls_crt(),
    };
    (material.private_key, info)
}

fn material_from_secret(secret: &Secret) -> Option<SealingKeyMaterial> {
    let data = secret.data.as_ref()?;
    let crt = std::str::from_utf8(&data.get(TLS_CRT)?.0).ok()?;
    let key = zeroize::Zeroizing::new(std::str::from_utf8(&data.get(TLS_KEY)?.0).ok()?.to_string());
    SealingKeyMaterial::from_tls_pems(crt, &key).ok()
}

/// The key Secret, as Bitnami's `writeKey` makes it.
fn key_secret(
    name: &str,
    namespace: &str,
    material: &SealingKeyMaterial,
) -> Result<Secret, KeyStoreError> {
    let key = material
        .tls_key()
        .map_err(|e| KeyStoreError::Generate(e.to_string()))?;
    let data = BTreeMap::from([
        (
            TLS_CRT.to_string(),
            ByteString(material.tls_crt().into_bytes()),
        ),
        (TLS_KEY.to_string(), ByteString(key.as_bytes().to_vec())),
    ]);
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            labels: Some(BTreeMap::from([(
                KEY_LABEL.to_string(),
                ACTIVE.to_string(),
            )])),
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(data),
        ..Default::default()
    })
}

/// Five lowercase alphanumerics, like the API server's `generateName` suffix.
fn random_suffix() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .map(|c| (c as char).to_ascii_lowercase())
        .take(5)
        .collect()
}

/// RFC 3339 of a key time (seconds precision).
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    jiff::Timestamp::from_second(secs)
        .map(crate::kube_util::rfc3339)
        .unwrap_or_default()
}
