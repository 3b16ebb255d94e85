//! The text forms in which users name master keys (flags, env vars, `.sops.yaml`),
//! parsed into [`KeyKind`]s the way sops reads them.

use std::collections::BTreeMap;

use crate::KeyKind;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {kind} key {input:?}: {reason}")]
pub struct KeySpecError {
    pub kind: &'static str,
    pub input: String,
    pub reason: &'static str,
}

fn err(kind: &'static str, input: &str, reason: &'static str) -> KeySpecError {
    KeySpecError {
        kind,
        input: input.to_string(),
        reason,
    }
}

/// Splits a comma-separated list, dropping blanks (sops' flag and env form).
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

pub fn age(recipient: &str) -> KeyKind {
    KeyKind::Age {
        recipient: recipient.trim().to_string(),
    }
}

/// A PGP fingerprint; spaces are removed and hex is upper-cased.
pub fn pgp(fingerprint: &str) -> Result<KeyKind, KeySpecError> {
    let fp: String = fingerprint
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if fp.len() < 16 || !fp.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(err("pgp", fingerprint, "expected a hex key fingerprint"));
    }
    Ok(KeyKind::Pgp { fingerprint: fp })
}

/// `arn[+role_arn]` as in `--kms` / `SOPS_KMS_ARN`.
pub fn kms(
    spec: &str,
    context: &BTreeMap<String, String>,
    aws_profile: &str,
) -> Result<KeyKind, KeySpecError> {
    let (arn, role) = match spec.split_once('+') {
        Some((arn, role)) => (arn.trim(), Some(role.trim().to_string())),
        None => (spec.trim(), None),
    };
    if !arn.starts_with("arn:aws") || !arn.contains(":kms:") {
        return Err(err(
            "kms",
            spec,
            "expected arn:aws:kms:<region>:<account>:key/<id> or alias/<name>",
        ));
    }
    Ok(KeyKind::AwsKms {
        arn: arn.to_string(),
        role,
        context: context.clone(),
        aws_profile: aws_profile.to_string(),
    })
}

/// `--encryption-context key:value,key2:value2`.
pub fn encryption_context(s: &str) -> Result<BTreeMap<String, String>, KeySpecError> {
    let mut out = BTreeMap::new();
    for pair in split_list(s) {
        let (k, v) = pair
            .split_once(':')
            .ok_or_else(|| err("kms", s, "encryption context entries are key:value"))?;
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// `projects/…/locations/…/keyRings/…/cryptoKeys/…`.
pub fn gcp_kms(resource_id: &str) -> Result<KeyKind, KeySpecError> {
    let parts: Vec<&str> = resource_id.trim().split('/').collect();
    let shape_ok = parts.len() == 8
        && parts[0] == "projects"
        && parts[2] == "locations"
        && parts[4] == "keyRings"
        && parts[6] == "cryptoKeys"
        && parts.iter().all(|p| !p.is_empty());
    if !shape_ok {
        return Err(err(
            "gcp_kms",
            resource_id,
            "expected projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>",
        ));
    }
    Ok(KeyKind::GcpKms {
        resource_id: resource_id.trim().to_string(),
    })
}

/// `https://<vault>.vault.azure.net/keys/<name>[/<version>]`.
pub fn azure_kv(url: &str) -> Result<KeyKind, KeySpecError> {
    let url = url.trim();
    let (base, rest) = url.split_once("/keys/").ok_or_else(|| {
        err(
            "azure_kv",
            url,
            "expected https://<vault>/keys/<name>[/<version>]",
        )
    })?;
    if !base.starts_with("https://") && !base.starts_with("http://") {
        return Err(err("azure_kv", url, "the vault URL must be http(s)"));
    }
    let mut parts = rest.trim_end_matches('/').split('/');
    let name = parts
        .next()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| err("azure_kv", url, "missing key name"))?;
    let version = parts.next().unwrap_or("");
    if parts.next().is_some() {
        return Err(err("azure_kv", url, "too many path segments"));
    }
    Ok(KeyKind::AzureKv {
        vault_url: base.to_string(),
        name: name.to_string(),
        version: version.to_string(),
    })
}

/// `https://vault:8200/v1/<engine path>/keys/<name>`.
pub fn hc_vault(uri: &str) -> Result<KeyKind, KeySpecError> {
    let uri = uri.trim();
    let scheme_end = uri
        .find("://")
        .ok_or_else(|| err("hc_vault", uri, "expected an http(s) URI"))?
        + 3;
    let path_start = uri[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .ok_or_else(|| err("hc_vault", uri, "missing /v1/<engine>/keys/<name>"))?;
    let address = &uri[..path_start];
    let path = uri[path_start..]
        .strip_prefix("/v1/")
        .ok_or_else(|| err("hc_vault", uri, "the path must start with /v1/"))?;
    let (engine, name) = path
        .rsplit_once("/keys/")
        .ok_or_else(|| err("hc_vault", uri, "missing /keys/<name>"))?;
    if engine.is_empty() || name.is_empty() || name.contains('/') {
        return Err(err("hc_vault", uri, "expected /v1/<engine>/keys/<name>"));
    }
    Ok(KeyKind::HcVault {
        vault_address: address.to_string(),
        engine_path: engine.to_string(),
        key_name: name.to_string(),
    })
}

/// `region:uuid`.
pub fn hckms(key_id: &str) -> Result<KeyKind, KeySpecError> {
    match key_id.trim().split_once(':') {
        Some((region, id)) if !region.is_empty() && !id.is_empty() => Ok(KeyKind::HuaweiKms {
            key_id: key_id.trim().to_string(),
        }),
        _ => Err(err("hckms", key_id, "expected <region>:<key id>")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            hc_vault("https://vault:8200/v1/sops/transit/keys/first").unwrap(),
            KeyKind::HcVault {
                vault_address: "https://vault:8200".into(),
                engine_path: "sops/transit".into(),
                key_name: "first".into()
            }
        );
        assert!(hc_vault("https://vault:8200/transit/keys/x").is_err());
        assert_eq!(
            azure_kv("https://v.vault.azure.net/keys/k/abc").unwrap(),
            KeyKind::AzureKv {
                vault_url: "https://v.vault.azure.net".into(),
                name: "k".into(),
                version: "abc".into()
            }
        );
        let ctx = encryption_context("a:1,b:2").unwrap();
        let k = kms(
            "arn:aws:kms:us-east-1:1:key/x+arn:aws:iam::1:role/r",
            &ctx,
            "",
        )
        .unwrap();
        assert!(matches!(k, KeyKind::AwsKms { role: Some(_), .. }));
        assert!(kms("nope", &ctx, "").is_err());
        assert!(gcp_kms("projects/p/locations/l/keyRings/r/cryptoKeys/k").is_ok());
        assert!(gcp_kms("projects/p").is_err());
        assert_eq!(
            pgp("fbc7 b9e2 a4f9 289a c0c1  d484 3d16 cee4 a273 81b4").unwrap(),
            KeyKind::Pgp {
                fingerprint: "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4".into()
            }
        );
        assert_eq!(split_list("a, b,,c "), vec!["a", "b", "c"]);
    }
}
