//! Which sealing key opens each SealedSecret, from hush-controller's
//! `POST /v1/key-info` (fingerprint, creation time, key Secret; never a value),
//! for `hush rotation status`. Reached by URL or through the service proxy.

use std::time::{Duration, SystemTime};

use hush_crypto::sealing::{DocumentFormat, SealedSecretManifest};

use super::{call_controller, ClusterArgs, ControllerRequest};
use crate::commands::rotation_status::{AgeSource, DataKeyAge, State};

/// SealedSecrets per request: one request per batch keeps well inside the
/// controller's rate limit (2 per second by default).
const BATCH: usize = 200;
const RETRIES_ON_429: u32 = 10;
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the controller is.
pub enum Source {
    Url(String),
    Cluster(ClusterArgs),
}

/// The parts of a status row this fills in.
pub struct SealedRow<'a> {
    pub documents: &'a [SealedSecretManifest],
    pub state: &'a mut State,
    pub age: &'a mut Option<(DataKeyAge, Duration)>,
    pub recipients: &'a mut Vec<String>,
    pub detail: &'a mut String,
    pub sealing_keys: &'a mut Vec<serde_json::Value>,
}

/// Ask the controller about every document in `rows` and record the answers:
/// the oldest opening key's age decides overdue; a document no key opens is
/// broken. When the controller cannot be reached, rows stay `unknown`.
pub fn annotate(source: &Source, rows: &mut [SealedRow<'_>], now: SystemTime, max_age: Duration) {
    let documents: Vec<&SealedSecretManifest> =
        rows.iter().flat_map(|r| r.documents.iter()).collect();
    if documents.is_empty() {
        return;
    }
    let answers = match query(source, &documents) {
        Ok(answers) => answers,
        Err(message) => {
            for row in rows.iter_mut() {
                *row.detail = format!("sealing controller unreachable: {message}");
            }
            return;
        }
    };
    let mut answers = answers.into_iter();
    for row in rows.iter_mut() {
        let mut oldest: Option<(SystemTime, String)> = None;
        let mut recipients = Vec::new();
        let mut problems = Vec::new();
        for document in row.documents {
            let answer = answers.next().unwrap_or(serde_json::Value::Null);
            let object = document.display_name();
            if let Some(error) = answer["error"].as_str() {
                problems.push(format!("{object}: {error}"));
            }
            for key in answer["keys"].as_array().into_iter().flatten() {
                let fingerprint = key["fingerprint"].as_str().unwrap_or_default();
                let created = key["created"].as_str().unwrap_or_default().to_string();
                let newest = key["newest"].as_bool().unwrap_or(false);
                recipients.push(format!(
                    "sealed {object}: key {} ({created}{})",
                    &fingerprint[..fingerprint.len().min(16)],
                    if newest { ", newest" } else { ", not newest" }
                ));
                row.sealing_keys.push(serde_json::json!({
                    "object": object,
                    "fingerprint": fingerprint,
                    "created": created,
                    "newest": newest,
                    "secret": key["secret"],
                }));
                if let Ok(time) = humantime::parse_rfc3339_weak(&created) {
                    if oldest.as_ref().is_none_or(|(t, _)| time < *t) {
                        oldest = Some((time, created.clone()));
                    }
                }
            }
        }
        *row.recipients = recipients;
        if !problems.is_empty() {
            *row.state = State::Broken;
            *row.detail = problems.join("; ");
            continue;
        }
        let Some((since, text)) = oldest else {
            *row.detail = "the controller named no sealing key".into();
            continue;
        };
        let elapsed = now.duration_since(since).unwrap_or_default();
        *row.state = if elapsed > max_age {
            State::Overdue
        } else {
            State::Ok
        };
        *row.age = Some((
            DataKeyAge {
                rotated_at: text,
                since,
                source: AgeSource::SealingKey,
            },
            elapsed,
        ));
        row.detail.clear();
    }
}

/// One answer object per document, in order.
fn query(
    source: &Source,
    documents: &[&SealedSecretManifest],
) -> Result<Vec<serde_json::Value>, String> {
    let mut all = Vec::with_capacity(documents.len());
    for batch in documents.chunks(BATCH) {
        // YAML documents (each starts with `---`) concatenate into one stream.
        let body: String = batch
            .iter()
            .map(|d| d.to_document(DocumentFormat::Yaml))
            .collect();
        let text = post_with_retry(source, &body)?;
        let answer: Vec<serde_json::Value> = serde_json::from_str(&text)
            .map_err(|e| format!("unexpected answer from /v1/key-info: {e}"))?;
        if answer.len() != batch.len() {
            return Err(format!(
                "/v1/key-info answered {} entries for {} SealedSecrets (an older controller?)",
                answer.len(),
                batch.len()
            ));
        }
        all.extend(answer);
    }
    Ok(all)
}

fn post_with_retry(source: &Source, body: &str) -> Result<String, String> {
    let mut attempt = 0;
    loop {
        let (code, text) = post(source, body)?;
        match code {
            200 => return Ok(text),
            429 if attempt < RETRIES_ON_429 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(600));
            }
            404 => return Err("the controller has no /v1/key-info (not hush-controller?)".into()),
            _ => return Err(format!("/v1/key-info answered {code}: {}", text.trim())),
        }
    }
}

/// (status, body); the error is a connection failure.
fn post(source: &Source, body: &str) -> Result<(u16, String), String> {
    match source {
        Source::Url(base) => {
            let url = format!("{}/v1/key-info", base.trim_end_matches('/'));
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(HTTP_TIMEOUT))
                .http_status_as_error(false)
                .build()
                .into();
            let mut response = agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.as_bytes())
                .map_err(|e| format!("{url}: {e}"))?;
            let code = response.status().as_u16();
            let text = response
                .body_mut()
                .read_to_string()
                .map_err(|e| format!("{url}: {e}"))?;
            Ok((code, text))
        }
        Source::Cluster(args) => {
            let request = ControllerRequest {
                post: true,
                path: "/v1/key-info".into(),
                body: body.to_string(),
            };
            let answer = call_controller(args, vec![request])
                .map_err(|e| format!("{e:#}"))?
                .pop()
                .ok_or_else(|| "no answer".to_string())?;
            Ok(match answer {
                Ok(text) => (200, text),
                Err(failure) if failure.code == 0 => return Err(failure.message),
                Err(failure) => (failure.code, failure.message),
            })
        }
    }
}
