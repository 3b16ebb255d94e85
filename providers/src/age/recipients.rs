//! Recipient strings (what sops stores in `age[].recipient`) and new identities.

use std::time::{SystemTime, UNIX_EPOCH};

use ::age::secrecy::ExposeSecret;
use ::age::{ssh, x25519};
use hush_crypto::KeyKind;
use zeroize::Zeroizing;

use super::plugins::plugin_of_recipient;
use crate::KeyError;

pub(crate) type BoxedRecipient = Box<dyn ::age::Recipient + Send>;

fn invalid(input: &str, reason: impl Into<String>) -> KeyError {
    KeyError::InvalidKey {
        kind: "age",
        input: input.to_string(),
        reason: reason.into(),
    }
}

/// Parses a recipient the way sops does: `age1…` (X25519), `age1NAME1…` (served by
/// the `age-plugin-NAME` program), `ssh-ed25519 …` or `ssh-rsa …`. Post-quantum
/// (`age1pq1…`) recipients are recognised but not supported by the `age` crate this
/// build uses.
pub(crate) fn parse_age_recipient(input: &str) -> Result<BoxedRecipient, KeyError> {
    let recipient = input.trim();
    if recipient.starts_with("age1pq1") {
        return Err(invalid(
            recipient,
            "post-quantum age recipients are not supported by this build",
        ));
    }
    if plugin_of_recipient(recipient).is_some() {
        return super::plugins::recipient(recipient);
    }
    if recipient.starts_with("age1") {
        let parsed: x25519::Recipient = recipient
            .parse()
            .map_err(|e: &str| invalid(recipient, e.to_string()))?;
        return Ok(Box::new(parsed));
    }
    if recipient.starts_with("ssh-") {
        let parsed: ssh::Recipient = recipient
            .parse()
            .map_err(|e| invalid(recipient, format!("not a usable SSH public key: {e:?}")))?;
        return Ok(Box::new(parsed));
    }
    Err(invalid(recipient, "unknown age recipient type"))
}

/// Validates an age recipient and returns it as a master-key identity.
pub fn parse_recipient(input: &str) -> Result<KeyKind, KeyError> {
    parse_age_recipient(input)?;
    Ok(KeyKind::Age {
        recipient: input.trim().to_string(),
    })
}

/// Generates a new X25519 identity. Returns the identity file text, laid out like
/// `age-keygen` output (`# created:`, `# public key:`, the secret key line), and the
/// recipient.
pub fn generate_identity() -> (Zeroizing<String>, String) {
    let identity = x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let secret = identity.to_string();
    let text = Zeroizing::new(format!(
        "# created: {}\n# public key: {recipient}\n{}\n",
        rfc3339_utc_now(),
        secret.expose_secret()
    ));
    (text, recipient)
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339_utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_819), (2027, 1, 1));
    }

    #[test]
    fn recipient_kinds() {
        assert!(
            parse_recipient("age1lzd99uklcjnc0e7d860axevet2cz99ce9pq6tzuzd05l5nr28ams36nvun")
                .is_ok()
        );
        assert!(parse_recipient(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID+Wi8WZw2bXfBpcs/WECttCzP39OkenS6pHWHWGFJvN Test"
        )
        .is_ok());
        for bad in [
            "age1pq1abc",
            "age1yubikey1qabc",
            "age1notbech32",
            "nope",
            "",
        ] {
            assert!(
                matches!(parse_recipient(bad), Err(KeyError::InvalidKey { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn generated_identity_round_trips() {
        let (text, recipient) = generate_identity();
        assert!(text.starts_with("# created: "));
        assert!(text.contains(&format!("# public key: {recipient}\n")));
        let line = text.lines().nth(2).unwrap();
        let identity: x25519::Identity = line.parse().unwrap();
        assert_eq!(identity.to_public().to_string(), recipient);
    }
}
