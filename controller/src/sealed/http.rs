//! The controller's HTTP API, as Bitnami's `server.go`: `GET /healthz`,
//! `GET /v1/cert.pem`, `POST /v1/verify`, `POST /v1/rotate`; hush's own
//! `POST /v1/key-info` (which key opens each posted SealedSecret: fingerprint,
//! creation time, key Secret; never a value), and the sealed metrics on their own
//! listener. The POST endpoints are rate-limited per path and client
//! (`X-Forwarded-For`, which the API-server service proxy sets).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use base64::{engine::general_purpose::STANDARD, Engine};
use hush_crypto::sealing::{
    scope_label, seal, unseal_with_any, DocumentFormat, SealedSecretManifest,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::keys::{KeySet, KeyStore};
use super::metrics::SealedMetrics;

const MAX_BODY: usize = 4 << 20;

/// A token bucket per (path, client): `rate` per second, up to `burst` at once.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::default(),
        }
    }

    pub fn allow(&self, key: &str) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let (tokens, last) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    fn text(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into().into_bytes(),
        }
    }
}

/// Route one request. Error texts name objects and keys, never values.
pub fn handle(
    keys: &KeySet,
    limiter: &RateLimiter,
    method: &str,
    path: &str,
    client: &str,
    body: &[u8],
) -> Response {
    match (method, path) {
        ("GET", "/healthz") => Response::text(200, "ok"),
        ("GET", "/v1/cert.pem") => match keys.newest() {
            Some(info) => Response {
                status: 200,
                content_type: "application/x-pem-file",
                body: info.certificate_pem.clone().into_bytes(),
            },
            None => Response::text(503, "no sealing key yet\n"),
        },
        ("POST", "/v1/key-info") => {
            if !limiter.allow(&format!("{path} {client}")) {
                return Response::text(429, "rate limit exceeded\n");
            }
            match key_info(keys, body) {
                Ok(json) => Response {
                    status: 200,
                    content_type: "application/json",
                    body: json.into_bytes(),
                },
                Err(message) => Response::text(400, message),
            }
        }
        ("POST", "/v1/verify") | ("POST", "/v1/rotate") => {
            if !limiter.allow(&format!("{path} {client}")) {
                return Response::text(429, "rate limit exceeded\n");
            }
            let manifest = match one_manifest(body) {
                Ok(m) => m,
                Err(message) => return Response::text(400, message),
            };
            if path == "/v1/verify" {
                match hush_crypto::sealing::unseal_sealed_secret(&keys.private, &manifest) {
                    Ok(_) => Response::text(200, "ok\n"),
                    Err(error) => Response::text(409, format!("{error}\n")),
                }
            } else {
                match rotate(keys, manifest) {
                    Ok(text) => Response {
                        status: 200,
                        content_type: "application/json",
                        body: text.into_bytes(),
                    },
                    Err(message) => Response::text(409, message),
                }
            }
        }
        ("GET", _) | ("POST", _) => Response::text(404, "not found\n"),
        _ => Response::text(405, "method not allowed\n"),
    }
}

fn one_manifest(body: &[u8]) -> Result<SealedSecretManifest, String> {
    let text = std::str::from_utf8(body).map_err(|_| "body is not UTF-8\n".to_string())?;
    let mut all = SealedSecretManifest::parse_all(text).map_err(|e| format!("{e}\n"))?;
    if all.len() != 1 {
        return Err(format!("expected one SealedSecret, got {}\n", all.len()));
    }
    Ok(all.remove(0))
}

/// For every SealedSecret in `body` (one JSON document or `List`, or a YAML stream
/// of many), the keys that open
/// its values: `[{"object", "keys": [{"fingerprint", "created", "secret",
/// "newest"}], "error"}]`, in input order. Plaintext is dropped at once.
fn key_info(keys: &KeySet, body: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(body).map_err(|_| "body is not UTF-8\n".to_string())?;
    let manifests = SealedSecretManifest::parse_all(text).map_err(|e| format!("{e}\n"))?;
    let newest = keys.newest().map(|k| k.fingerprint.clone());
    let rows: Vec<serde_json::Value> = manifests
        .iter()
        .map(|manifest| {
            let (used, error) = keys_opening(keys, manifest);
            let described: Vec<serde_json::Value> = used
                .iter()
                .map(|&index| {
                    let info = &keys.info[index];
                    serde_json::json!({
                        "fingerprint": info.fingerprint,
                        "created": super::keys::rfc3339(info.created),
                        "secret": info.secret_name,
                        "newest": Some(&info.fingerprint) == newest.as_ref(),
                    })
                })
                .collect();
            serde_json::json!({
                "object": manifest.display_name(),
                "keys": described,
                "error": error,
            })
        })
        .collect();
    Ok(serde_json::Value::Array(rows).to_string())
}

/// Indices of the keys that open `manifest`'s values (ascending), and the first
/// failure (naming the data key, never a value).
fn keys_opening(keys: &KeySet, manifest: &SealedSecretManifest) -> (Vec<usize>, Option<String>) {
    let name = manifest.metadata.name.clone().unwrap_or_default();
    let namespace = manifest.metadata.namespace.clone().unwrap_or_default();
    let label = scope_label(manifest.scope(), &namespace, &name);
    let mut used = std::collections::BTreeSet::new();
    let mut error = None;
    for (key, encoded) in &manifest.spec.encrypted_data {
        let opened = STANDARD
            .decode(encoded.as_bytes())
            .map_err(|_| format!("data key {key:?} is not valid base64"))
            .and_then(|ct| {
                unseal_with_any(&keys.private, &label, &ct)
                    .map_err(|e| format!("data key {key:?}: {e}"))
            });
        match opened {
            Ok((index, _plaintext)) => {
                used.insert(index);
            }
            Err(message) => {
                error.get_or_insert(message);
            }
        }
    }
    (used.into_iter().collect(), error)
}

/// Re-encrypt every value to the newest key, keeping everything else.
fn rotate(keys: &KeySet, mut manifest: SealedSecretManifest) -> Result<String, String> {
    let newest = keys
        .newest_private()
        .ok_or_else(|| "no sealing key yet\n".to_string())?;
    let name = manifest.metadata.name.clone().unwrap_or_default();
    let namespace = manifest.metadata.namespace.clone().unwrap_or_default();
    let label = scope_label(manifest.scope(), &namespace, &name);
    let object = manifest.display_name();
    for (key, encoded) in manifest.spec.encrypted_data.iter_mut() {
        let ciphertext = STANDARD
            .decode(encoded.as_bytes())
            .map_err(|_| format!("{object}: data key {key:?} is not valid base64\n"))?;
        let (_, plaintext) = unseal_with_any(&keys.private, &label, &ciphertext)
            .map_err(|e| format!("{object}: cannot unseal key {key:?}: {e}\n"))?;
        let resealed = seal(newest.public_key(), &label, &plaintext)
            .map_err(|e| format!("{object}: cannot seal key {key:?}: {e}\n"))?;
        *encoded = STANDARD.encode(resealed);
    }
    // Bitnami keeps the template metadata in step with the object's own.
    if manifest.spec.template.metadata.name.is_none() {
        manifest.spec.template.metadata.name = manifest.metadata.name.clone();
    }
    manifest.status = None;
    Ok(manifest.to_document(DocumentFormat::Json))
}

/// Serve the API on `addr` until the task is dropped.
pub async fn serve_api(
    addr: SocketAddr,
    keys: Arc<KeyStore>,
    limiter: Arc<RateLimiter>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "sealed secrets API listening");
    loop {
        let (stream, peer) = listener.accept().await?;
        let keys = keys.clone();
        let limiter = limiter.clone();
        tokio::spawn(async move {
            serve_one(stream, peer, move |req| {
                let snapshot = keys.snapshot();
                let limiter = limiter.clone();
                async move {
                    // RSA work off the async threads.
                    tokio::task::spawn_blocking(move || {
                        handle(
                            &snapshot,
                            &limiter,
                            &req.method,
                            &req.path,
                            &req.client,
                            &req.body,
                        )
                    })
                    .await
                    .unwrap_or_else(|_| Response::text(500, "internal error\n"))
                }
            })
            .await;
        });
    }
}

/// Serve `/metrics` (sealed metrics, key gauges refreshed per scrape) on `addr`.
pub async fn serve_metrics(
    addr: SocketAddr,
    keys: Arc<KeyStore>,
    metrics: SealedMetrics,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "sealed secrets metrics listening");
    loop {
        let (stream, peer) = listener.accept().await?;
        let keys = keys.clone();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            serve_one(stream, peer, move |req| {
                let response = match req.path.as_str() {
                    "/metrics" => Response {
                        status: 200,
                        content_type: "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        body: metrics.encode(&keys.snapshot()).into_bytes(),
                    },
                    "/healthz" => Response::text(200, "ok"),
                    _ => Response::text(404, "not found\n"),
                };
                async move { response }
            })
            .await;
        });
    }
}

pub struct Request {
    pub method: String,
    pub path: String,
    pub client: String,
    pub body: Vec<u8>,
}

/// Read one HTTP/1.1 request (headers plus Content-Length body), answer, close.
async fn serve_one<F, Fut>(mut stream: tokio::net::TcpStream, peer: SocketAddr, handler: F)
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let request = match tokio::time::timeout(
        Duration::from_secs(10),
        read_request(&mut stream, peer),
    )
    .await
    {
        Ok(Some(r)) => r,
        _ => return,
    };
    let response = handler(request).await;
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        response.status,
        reason_phrase(response.status),
        response.content_type,
        response.body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&response.body).await;
    let _ = stream.shutdown().await;
}

async fn read_request(stream: &mut tokio::net::TcpStream, peer: SocketAddr) -> Option<Request> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let target = first.next()?;
    let path = target.split('?').next().unwrap_or(target).to_string();
    let mut length = 0usize;
    let mut client = peer.ip().to_string();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().ok()?;
            } else if name.eq_ignore_ascii_case("x-forwarded-for") {
                client = value.split(',').next().unwrap_or(value).trim().to_string();
            }
        }
    }
    if length > MAX_BODY {
        return None;
    }
    let mut body = buf[header_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(Request {
        method,
        path,
        client,
        body,
    })
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sealed::keys::KeyInfo;
    use hush_crypto::sealing::{generate_sealing_key, Scope};

    fn key_set(count: usize) -> KeySet {
        let mut set = KeySet::default();
        for i in 0..count {
            let m = generate_sealing_key(
                2048,
                "t",
                std::time::SystemTime::now(),
                Duration::from_secs(3600),
            )
            .unwrap();
            set.info.push(KeyInfo {
                secret_name: format!("k{i}"),
                fingerprint: m.private_key.fingerprint(),
                created: std::time::SystemTime::now(),
                certificate_pem: m.tls_crt(),
            });
            set.private.push(m.private_key);
        }
        set
    }

    fn sealed_json(keys: &KeySet, index: usize, value: &str) -> String {
        let label = scope_label(Scope::Strict, "ns", "s");
        let ct = seal(keys.private[index].public_key(), &label, value.as_bytes()).unwrap();
        serde_json::json!({
            "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
            "metadata": { "name": "s", "namespace": "ns" },
            "spec": { "encryptedData": { "k": STANDARD.encode(ct) } }
        })
        .to_string()
    }

    #[test]
    fn cert_verify_and_rotate() {
        let keys = key_set(2);
        let limiter = RateLimiter::new(100.0, 100);
        let cert = handle(&keys, &limiter, "GET", "/v1/cert.pem", "c", b"");
        assert_eq!(cert.status, 200);
        assert_eq!(cert.body, keys.info[1].certificate_pem.as_bytes());
        let old = sealed_json(&keys, 0, "plain-value");
        assert_eq!(
            handle(&keys, &limiter, "POST", "/v1/verify", "c", old.as_bytes()).status,
            200
        );
        let other = key_set(1);
        let foreign = sealed_json(&other, 0, "plain-value");
        let refused = handle(
            &keys,
            &limiter,
            "POST",
            "/v1/verify",
            "c",
            foreign.as_bytes(),
        );
        assert_eq!(refused.status, 409);
        assert!(!String::from_utf8_lossy(&refused.body).contains("plain-value"));
        let rotated = handle(&keys, &limiter, "POST", "/v1/rotate", "c", old.as_bytes());
        assert_eq!(rotated.status, 200);
        let manifest = one_manifest(&rotated.body).unwrap();
        let ct = STANDARD.decode(&manifest.spec.encrypted_data["k"]).unwrap();
        let label = scope_label(Scope::Strict, "ns", "s");
        let (index, plain) = unseal_with_any(&keys.private, &label, &ct).unwrap();
        assert_eq!(
            (index, plain.as_slice()),
            (1, b"plain-value".as_slice()),
            "re-encrypted to the newest key"
        );
        assert_eq!(
            handle(&keys, &limiter, "GET", "/healthz", "c", b"").status,
            200
        );
    }

    #[test]
    fn key_info_names_the_key_that_opens_each_document() {
        let keys = key_set(2);
        let limiter = RateLimiter::new(100.0, 100);
        let body = format!(
            "---\n{}\n---\n{}",
            sealed_json(&keys, 0, "first-value"),
            sealed_json(&key_set(1), 0, "foreign-value")
        );
        let answer = handle(
            &keys,
            &limiter,
            "POST",
            "/v1/key-info",
            "c",
            body.as_bytes(),
        );
        assert_eq!(answer.status, 200);
        let text = String::from_utf8(answer.body).unwrap();
        assert!(!text.contains("value\""), "no plaintext: {text}");
        let rows: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(rows[0]["object"], "ns/s");
        assert_eq!(rows[0]["keys"][0]["fingerprint"], keys.info[0].fingerprint);
        assert_eq!(rows[0]["keys"][0]["secret"], "k0");
        assert_eq!(rows[0]["keys"][0]["newest"], false);
        assert!(rows[0]["error"].is_null());
        assert_eq!(rows[1]["keys"].as_array().unwrap().len(), 0);
        assert!(rows[1]["error"].as_str().unwrap().contains("\"k\""));
    }

    #[test]
    fn limiter_allows_a_burst_then_refuses() {
        let limiter = RateLimiter::new(0.001, 2);
        assert!(limiter.allow("a"));
        assert!(limiter.allow("a"));
        assert!(!limiter.allow("a"));
        assert!(limiter.allow("b"), "buckets are per client");
    }
}
