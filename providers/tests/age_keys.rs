//! age key source against sops/age vectors and the real `age` binary.

mod common;

use std::process::Command;

use common::{have_binary, read_vector, read_vector_text, sops_vector};
use hush_crypto::{KeyKind, MasterKey};
use hush_providers::age::{generate_identity, parse_recipient, AgeEnv, AgeSource};
use hush_providers::{KeyError, KeySource};
use zeroize::Zeroizing;

fn recipient() -> String {
    read_vector_text("age/recipient.txt").trim().to_string()
}

fn age_key(recipient: &str, enc: String) -> MasterKey {
    MasterKey {
        kind: KeyKind::Age {
            recipient: recipient.to_string(),
        },
        enc,
        created_at: None,
    }
}

fn identity_source() -> AgeSource {
    AgeSource::from_identities_text(&read_vector_text("age/identity.txt")).unwrap()
}

const DATA_KEY: [u8; 32] = *b"0123456789abcdef0123456789ABCDEF";

#[test]
fn unwraps_sops_age_vector() {
    let key = age_key(&recipient(), read_vector_text("age/encrypted_key.age.asc"));
    let plain = identity_source().unwrap(&key).unwrap();
    assert_eq!(&plain[..], &read_vector("age/encrypted_key.plain")[..]);
}

#[test]
fn unwraps_ssh_vector() {
    let ssh_recipient = read_vector_text("age/ssh_recipient.pub").trim().to_string();
    let env = AgeEnv {
        ssh_key_file: Some(sops_vector("age/ssh_identity")),
        ..AgeEnv::default()
    };
    let source = AgeSource::from_age_env(&env, None).unwrap();
    let key = age_key(
        &ssh_recipient,
        read_vector_text("age/encrypted_key_to_ssh.age.asc"),
    );
    assert_eq!(
        &source.unwrap(&key).unwrap()[..],
        &read_vector("age/encrypted_key.plain")[..]
    );
    // And a fresh wrap to the SSH recipient round-trips.
    let enc = source
        .wrap(&parse_recipient(&ssh_recipient).unwrap(), &DATA_KEY)
        .unwrap();
    assert_eq!(
        &source.unwrap(&age_key(&ssh_recipient, enc)).unwrap()[..],
        &DATA_KEY
    );
}

#[test]
fn wrap_round_trip_and_sops_shape() {
    let source = identity_source();
    let kind = parse_recipient(&recipient()).unwrap();
    let enc = source.wrap(&kind, &DATA_KEY).unwrap();
    assert!(enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
    assert!(enc.ends_with("-----END AGE ENCRYPTED FILE-----\n"));
    let plain = source.unwrap(&age_key(&recipient(), enc)).unwrap();
    assert_eq!(&plain[..], &DATA_KEY);
}

#[test]
fn other_identity_is_no_identity() {
    let other =
        AgeSource::from_identities_text(&read_vector_text("age/other_identity.txt")).unwrap();
    let key = age_key(&recipient(), read_vector_text("age/encrypted_key.age.asc"));
    assert!(matches!(
        other.unwrap(&key),
        Err(KeyError::NoIdentity { .. })
    ));
    assert!(matches!(
        AgeSource::recipients_only().unwrap(&key),
        Err(KeyError::NoIdentity { .. })
    ));
}

#[test]
fn corrupt_enc_is_unwrap_error() {
    let source = identity_source();
    let enc = source
        .wrap(&parse_recipient(&recipient()).unwrap(), &DATA_KEY)
        .unwrap();
    // Flip one base64 character of the payload (the last body line before the footer).
    let mut lines: Vec<String> = enc.lines().map(String::from).collect();
    let body = lines.len() - 2;
    let flipped: String = lines[body]
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 2 {
                if c == 'A' {
                    'B'
                } else {
                    'A'
                }
            } else {
                c
            }
        })
        .collect();
    lines[body] = flipped;
    let corrupt = lines.join("\n") + "\n";
    assert!(matches!(
        source.unwrap(&age_key(&recipient(), corrupt)),
        Err(KeyError::Unwrap { .. })
    ));
    assert!(matches!(
        source.unwrap(&age_key(&recipient(), "not age at all".into())),
        Err(KeyError::Unwrap { .. })
    ));
}

#[test]
fn multiple_identities_text_with_comments_and_spaces() {
    let text = format!(
        "# created: 2024-01-01T00:00:00Z\n# public key: whatever\n{} {}\n\n",
        read_vector_text("age/other_identity.txt").trim(),
        read_vector_text("age/identity.txt").trim()
    );
    let source = AgeSource::from_identities_text(&text).unwrap();
    assert_eq!(source.identity_count(), 2);
    let key = age_key(&recipient(), read_vector_text("age/encrypted_key.age.asc"));
    assert!(source.unwrap(&key).is_ok());
}

#[test]
fn bad_identity_text_names_line_not_content() {
    let err = AgeSource::from_identities_text("# ok\nAGE-SECRET-KEY-1NOTVALIDSECRET\n")
        .err()
        .unwrap();
    let message = err.to_string();
    assert!(message.contains("line 2"), "{message}");
    assert!(!message.contains("NOTVALIDSECRET"), "{message}");
}

#[test]
fn post_quantum_is_reported_not_fatal() {
    let text = format!(
        "{}\n{}\n",
        read_vector_text("age/hybrid_pq_identity.txt").trim(),
        read_vector_text("age/identity.txt").trim()
    );
    let source = AgeSource::from_identities_text(&text).unwrap();
    assert_eq!(source.identity_count(), 1);
    assert_eq!(source.warnings().len(), 1);
    assert!(!source.warnings()[0].contains("AGE-SECRET-KEY"));
    assert!(matches!(
        parse_recipient("age1pq1qqqqqqqqqqqqqq"),
        Err(KeyError::InvalidKey { .. })
    ));
}

fn passphrase_source(answer: Option<&'static str>) -> AgeSource {
    let env = AgeEnv {
        key_file: Some(sops_vector("age/passphrase_protected_identity.age.asc")),
        ..AgeEnv::default()
    };
    let asked_for = sops_vector("age/passphrase_protected_identity.age.asc")
        .display()
        .to_string();
    AgeSource::from_age_env(
        &env,
        Some(Box::new(move |name: &str| {
            assert_eq!(name, asked_for);
            answer.map(|a| Zeroizing::new(a.to_string()))
        })),
    )
    .unwrap()
}

#[test]
fn passphrase_protected_identity_file() {
    let passphrase: &'static str = Box::leak(
        read_vector_text("age/passphrase.txt")
            .trim()
            .to_string()
            .into_boxed_str(),
    );
    let key = age_key(&recipient(), read_vector_text("age/encrypted_key.age.asc"));

    let source = passphrase_source(Some(passphrase));
    assert_eq!(
        source.identity_count(),
        0,
        "nothing opened before it is needed"
    );
    assert_eq!(
        &source.unwrap(&key).unwrap()[..],
        &read_vector("age/encrypted_key.plain")[..]
    );
    assert_eq!(source.identity_count(), 1);

    assert!(matches!(
        passphrase_source(Some("wrong")).unwrap(&key),
        Err(KeyError::Unwrap { .. })
    ));
    assert!(matches!(
        passphrase_source(None).unwrap(&key),
        Err(KeyError::NoIdentity { .. })
    ));
    // Without a prompt at all the protected file is simply not usable.
    let env = AgeEnv {
        key_file: Some(sops_vector("age/passphrase_protected_identity.age.asc")),
        ..AgeEnv::default()
    };
    let no_prompt = AgeSource::from_age_env(&env, None).unwrap();
    assert!(matches!(
        no_prompt.unwrap(&key),
        Err(KeyError::NoIdentity { .. })
    ));
}

#[test]
fn named_missing_file_is_an_error_naming_it() {
    let env = AgeEnv {
        key_file: Some("/nonexistent/hush/keys.txt".into()),
        ..AgeEnv::default()
    };
    let err = AgeSource::from_age_env(&env, None).err().unwrap();
    assert!(
        err.to_string().contains("/nonexistent/hush/keys.txt"),
        "{err}"
    );
}

#[test]
fn default_locations_and_key_cmd() {
    let dir = tempfile::tempdir().unwrap();
    // Missing defaults are fine.
    let empty = AgeEnv {
        home: Some(dir.path().to_path_buf()),
        ..AgeEnv::default()
    };
    assert_eq!(
        AgeSource::from_age_env(&empty, None)
            .unwrap()
            .identity_count(),
        0
    );

    // ~/.config/sops/age/keys.txt and ~/.ssh/id_ed25519 are picked up.
    let keys = dir.path().join(".config/sops/age/keys.txt");
    std::fs::create_dir_all(keys.parent().unwrap()).unwrap();
    std::fs::write(&keys, read_vector("age/identity.txt")).unwrap();
    std::fs::create_dir_all(dir.path().join(".ssh")).unwrap();
    std::fs::write(
        dir.path().join(".ssh/id_ed25519"),
        read_vector("age/ssh_identity"),
    )
    .unwrap();
    let source = AgeSource::from_age_env(&empty, None).unwrap();
    assert_eq!(source.identity_count(), 2);

    // XDG_CONFIG_HOME wins over ~/.config.
    let xdg = AgeEnv {
        xdg_config_home: Some(dir.path().join("xdg")),
        ..AgeEnv::default()
    };
    assert_eq!(
        xdg.default_keys_file().unwrap(),
        dir.path().join("xdg/sops/age/keys.txt")
    );

    // The key command runs only when needed, with SOPS_AGE_RECIPIENT set.
    let seen = dir.path().join("seen");
    let cmd_env = AgeEnv {
        key_cmd: Some(format!(
            "printf '%s' \"$SOPS_AGE_RECIPIENT\" > '{}'; cat '{}'",
            seen.display(),
            sops_vector("age/identity.txt").display()
        )),
        ..AgeEnv::default()
    };
    let source = AgeSource::from_age_env(&cmd_env, None).unwrap();
    assert!(!seen.exists());
    let key = age_key(&recipient(), read_vector_text("age/encrypted_key.age.asc"));
    assert!(source.unwrap(&key).is_ok());
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), recipient());

    let failing = AgeEnv {
        key_cmd: Some("exit 3".into()),
        ..AgeEnv::default()
    };
    let err = AgeSource::from_age_env(&failing, None)
        .unwrap()
        .unwrap(&key)
        .err()
        .unwrap();
    assert!(err.to_string().contains("SOPS_AGE_KEY_CMD"), "{err}");

    // SOPS_AGE_SSH_PRIVATE_KEY_CMD prints an SSH key; only `ssh-` recipients run it.
    let ssh_cmd = AgeEnv {
        ssh_key_cmd: Some(format!(
            "echo run >> '{}'; cat '{}'",
            seen.display(),
            sops_vector("age/ssh_identity").display()
        )),
        ..AgeEnv::default()
    };
    std::fs::remove_file(&seen).unwrap();
    let source = AgeSource::from_age_env(&ssh_cmd, None).unwrap();
    assert!(matches!(
        source.unwrap(&key),
        Err(KeyError::NoIdentity { .. })
    ));
    assert!(!seen.exists());
    let ssh_key = age_key(
        read_vector_text("age/ssh_recipient.pub").trim(),
        read_vector_text("age/encrypted_key_to_ssh.age.asc"),
    );
    assert_eq!(
        &source.unwrap(&ssh_key).unwrap()[..],
        &read_vector("age/encrypted_key.plain")[..]
    );
    assert!(source.unwrap(&ssh_key).is_ok());
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), "run\n", "ran once");
}

#[test]
fn generated_identity_works_with_source() {
    let (text, recipient) = generate_identity();
    let source = AgeSource::from_identities_text(&text).unwrap();
    let enc = source
        .wrap(&parse_recipient(&recipient).unwrap(), &DATA_KEY)
        .unwrap();
    assert_eq!(
        &source.unwrap(&age_key(&recipient, enc)).unwrap()[..],
        &DATA_KEY
    );
}

fn run_age(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    hush_tests::piped("age", args, stdin)
}

#[test]
fn interop_with_age_binary() {
    assert!(
        have_binary("age"),
        "install the age binary (apt-get install -y age)"
    );
    let identity = sops_vector("age/identity.txt");
    let identity = identity.to_str().unwrap();
    let source = identity_source();

    // hush wraps, age decrypts.
    let enc = source
        .wrap(&parse_recipient(&recipient()).unwrap(), &DATA_KEY)
        .unwrap();
    assert_eq!(run_age(&["-d", "-i", identity], enc.as_bytes()), DATA_KEY);

    // age encrypts (armored), hush unwraps.
    let enc = run_age(&["-a", "-r", &recipient()], &DATA_KEY);
    let key = age_key(&recipient(), String::from_utf8(enc).unwrap());
    assert_eq!(&source.unwrap(&key).unwrap()[..], &DATA_KEY);

    // SSH recipient: hush wraps, age decrypts with the OpenSSH key.
    let ssh_recipient = read_vector_text("age/ssh_recipient.pub").trim().to_string();
    let enc = source
        .wrap(&parse_recipient(&ssh_recipient).unwrap(), &DATA_KEY)
        .unwrap();
    let ssh_identity = sops_vector("age/ssh_identity");
    assert_eq!(
        run_age(
            &["-d", "-i", ssh_identity.to_str().unwrap()],
            enc.as_bytes()
        ),
        DATA_KEY
    );
}

/// Runs ssh-keygen to make a key pair in `dir`; returns (private key path, public key line).
fn ssh_keygen(dir: &std::path::Path, kind: &str, passphrase: &str) -> (std::path::PathBuf, String) {
    let path = dir.join(format!("id_{kind}"));
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", passphrase, "-C", "hush-test", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    (path, public.trim().to_string())
}

#[test]
fn ssh_rsa_recipient_interop_with_age_binary() {
    assert!(
        have_binary("age"),
        "install the age binary (apt-get install -y age)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = ssh_keygen(dir.path(), "rsa", "");
    assert!(public.starts_with("ssh-rsa "));
    let source = AgeSource::from_age_env(
        &AgeEnv {
            ssh_key_file: Some(private.clone()),
            ..AgeEnv::default()
        },
        None,
    )
    .unwrap();
    let enc = source
        .wrap(&parse_recipient(&public).unwrap(), &DATA_KEY)
        .unwrap();
    assert_eq!(
        run_age(&["-d", "-i", private.to_str().unwrap()], enc.as_bytes()),
        DATA_KEY
    );
    let enc = run_age(&["-a", "-r", &public], &DATA_KEY);
    let key = age_key(&public, String::from_utf8(enc).unwrap());
    assert_eq!(&source.unwrap(&key).unwrap()[..], &DATA_KEY);
}

#[test]
fn passphrase_protected_ssh_key_opens_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = ssh_keygen(dir.path(), "ed25519", "sesame");
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    let source = AgeSource::from_age_env(
        &AgeEnv {
            ssh_key_file: Some(private),
            ..AgeEnv::default()
        },
        Some(Box::new(move |_| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Some(Zeroizing::new("sesame".to_string()))
        })),
    )
    .unwrap();
    // An X25519 data key does not make it ask for the SSH passphrase.
    let x25519 = age_key(&recipient(), read_vector_text("age/encrypted_key.age.asc"));
    assert!(matches!(
        source.unwrap(&x25519),
        Err(KeyError::NoIdentity { .. })
    ));
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 0);

    let enc = source
        .wrap(&parse_recipient(&public).unwrap(), &DATA_KEY)
        .unwrap();
    let key = age_key(&public, enc);
    assert_eq!(&source.unwrap(&key).unwrap()[..], &DATA_KEY);
    assert_eq!(&source.unwrap(&key).unwrap()[..], &DATA_KEY);
    assert_eq!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "asked once, then cached"
    );
}

#[test]
fn age_env_debug_hides_sops_age_key() {
    let env = AgeEnv {
        key: Some(Zeroizing::new(read_vector_text("age/identity.txt"))),
        ..AgeEnv::default()
    };
    let shown = format!("{env:?}");
    assert!(!shown.contains("AGE-SECRET-KEY"), "{shown}");
    assert!(shown.contains("redacted"));
}
