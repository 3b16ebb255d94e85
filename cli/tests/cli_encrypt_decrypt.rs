//! `hush encrypt` / `hush decrypt` with age keys, checked against the format notes
//! field by field and against Debian's real `age` binary.

mod common;
use common::*;

const PLAIN_YAML: &str = "\
# database settings
db:
    user: admin
    password: s3cr3t # inline note
    port: 5432
    ratio: 1.5
    enabled: true
    empty: \"\"
    nothing: null
hosts:
    - a.example.org
    - b.example.org
api_unencrypted: visible
";

#[test]
fn age_yaml_round_trip_restores_every_byte() {
    let sb = Sandbox::new();
    let plain = sb.write("secrets.yaml", PLAIN_YAML);
    let enc = encrypt_age(&sb, &plain, &[]);
    let enc_path = sb.write("secrets.enc.yaml", &enc);
    let mut cmd = hush(&sb);
    cmd.args(["decrypt"]).arg(&enc_path);
    assert_eq!(ok_stdout(&run(cmd)), PLAIN_YAML);
}

#[test]
fn encrypted_yaml_follows_the_sops_layout() {
    let sb = Sandbox::new();
    let plain = sb.write("secrets.yaml", PLAIN_YAML);
    let enc = encrypt_age(&sb, &plain, &[]);
    // Values are ENC[...] with the right type tags and 32-byte IVs; selected keys stay clear.
    let value = |key: &str| {
        enc.lines()
            .find(|l| l.trim_start().starts_with(&format!("{key}:")))
            .unwrap_or_else(|| panic!("{key} missing in\n{enc}"))
            .to_string()
    };
    for (key, ty) in [
        ("user", "str"),
        ("port", "int"),
        ("ratio", "float"),
        ("enabled", "bool"),
    ] {
        let line = value(key);
        assert!(
            line.contains("ENC[AES256_GCM,data:") && line.ends_with(&format!(",type:{ty}]")),
            "{line}"
        );
        let iv = line
            .split(",iv:")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        assert_eq!(iv.len(), 44, "32-byte IV in padded base64: {iv}");
    }
    assert!(
        value("empty").ends_with("empty: \"\""),
        "empty strings stay empty"
    );
    assert!(
        value("nothing").ends_with("nothing: null"),
        "nulls are not encrypted"
    );
    assert!(value("api_unencrypted").ends_with("visible"));
    assert!(
        enc.contains("#ENC[AES256_GCM,"),
        "comments are encrypted: {enc}"
    );
    assert!(
        !enc.contains("s3cr3t") && !enc.contains("admin") && !enc.contains("database settings")
    );
    // The sops block: keys sorted, age entry with recipient and armored enc, no created_at.
    let sops = &enc[enc.find("\nsops:\n").expect("sops block") + 1..];
    let top: Vec<&str> = sops
        .lines()
        .filter(|l| l.starts_with("    ") && !l.starts_with("     "))
        .map(|l| l.trim().split(':').next().unwrap())
        .collect();
    assert_eq!(
        top,
        [
            "age",
            "lastmodified",
            "mac",
            "unencrypted_suffix",
            "version"
        ],
        "{sops}"
    );
    assert!(
        sops.contains(&format!("          recipient: {}", age_recipient())),
        "{sops}"
    );
    assert!(
        sops.contains("        - enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----"),
        "{sops}"
    );
    assert!(!sops.contains("created_at"));
    assert!(sops.contains("    unencrypted_suffix: _unencrypted\n"));
    assert!(sops.contains("    version: 3.13.2\n"));
    let lm = sops.lines().find(|l| l.contains("lastmodified")).unwrap();
    assert!(
        lm.len() == "    lastmodified: \"2026-01-01T00:00:00Z\"".len() && lm.ends_with("Z\""),
        "{lm}"
    );
}

#[test]
fn real_age_binary_opens_the_wrapped_data_key() {
    let sb = Sandbox::new();
    let plain = sb.write("s.json", "{\"a\": \"b\"}");
    let enc = encrypt_age(&sb, &plain, &[]);
    let doc: serde_json::Value = serde_json::from_str(&enc).unwrap();
    let armored = doc["sops"]["age"][0]["enc"].as_str().unwrap();
    let armored_path = sb.write("key.age", armored);
    let out = sb
        .command("age")
        .args(["-d", "-i"])
        .arg(age_identity_file())
        .arg(&armored_path)
        .output()
        .expect("age must be installed (apt-get install age)");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        out.stdout.len(),
        32,
        "the age payload is the raw 32-byte data key"
    );
}

#[test]
fn json_dotenv_ini_binary_round_trip() {
    let sb = Sandbox::new();
    let cases: [(&str, &[u8]); 4] = [
        (
            "c.json",
            b"{\n\t\"a\": 1,\n\t\"b\": [\n\t\ttrue,\n\t\t\"x\"\n\t],\n\t\"c\": 2.5\n}\n",
        ),
        ("c.env", b"A=1\n#comment\nB= spaced value \nURL=x=y\n"),
        ("c.ini", b"[db]\nhost = h\nport = 5\n\n[app]\nname = n\n"),
        ("c.bin", b"\x00\x01\xffbinary\n"),
    ];
    for (name, content) in cases {
        let plain = sb.write(name, content);
        let enc = encrypt_age(&sb, &plain, &[]);
        let enc_path = sb.write(&format!("enc-{name}"), &enc);
        let mut cmd = hush(&sb);
        cmd.args(["decrypt", "--input-type"])
            .arg(hush_crypto::document::Format::from_path(name).name())
            .arg("--output-type")
            .arg(hush_crypto::document::Format::from_path(name).name())
            .arg(&enc_path);
        let out = run(cmd);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(out.stdout, content, "{name}");
    }
}

#[test]
fn kubernetes_secret_encrypts_only_data_and_string_data() {
    let sb = Sandbox::new();
    let secret = sb.write(
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\ntype: Opaque\nstringData:\n    password: hunter2\ndata:\n    token: aGVsbG8=\n",
    );
    let mut cmd = hush(&sb);
    cmd.args(["encrypt", "--age", &age_recipient()])
        .arg(&secret);
    let out = run(cmd);
    let enc = ok_stdout(&out);
    assert!(
        stderr(&out).contains("encrypting only data and stringData"),
        "{}",
        stderr(&out)
    );
    assert!(
        enc.contains("    name: db\n") && enc.contains("kind: Secret\n"),
        "{enc}"
    );
    assert!(!enc.contains("hunter2") && !enc.contains("aGVsbG8="));
    assert!(
        enc.contains("    encrypted_regex: ^(data|stringData)$\n"),
        "{enc}"
    );
    // A flag wins over the Kubernetes default.
    let mut cmd = hush(&sb);
    cmd.args([
        "encrypt",
        "--age",
        &age_recipient(),
        "--unencrypted-suffix",
        "_clear",
    ])
    .arg(&secret);
    let enc = ok_stdout(&run(cmd));
    assert!(
        !enc.contains("    name: db\n"),
        "metadata is encrypted with an explicit selector"
    );
}

#[test]
fn extract_prints_one_value() {
    let sb = Sandbox::new();
    let plain = sb.write("s.yaml", PLAIN_YAML);
    let enc = sb.write("s.enc.yaml", encrypt_age(&sb, &plain, &[]));
    let mut cmd = hush(&sb);
    cmd.args(["decrypt", "--extract", "[\"db\"][\"password\"]"])
        .arg(&enc);
    assert_eq!(ok_stdout(&run(cmd)), "s3cr3t");
    let mut cmd = hush(&sb);
    cmd.args(["decrypt", "--extract", "[\"hosts\"][1]"])
        .arg(&enc);
    assert_eq!(ok_stdout(&run(cmd)), "b.example.org");
    let mut cmd = hush(&sb);
    cmd.args(["decrypt", "--extract", "[\"db\"][\"nope\"]"])
        .arg(&enc);
    let out = run(cmd);
    assert_eq!(code(&out), 91, "{}", stderr(&out));
    let mut cmd = hush(&sb);
    cmd.args(["decrypt", "--extract", "db.password"]).arg(&enc);
    assert_eq!(code(&run(cmd)), 91);
}

#[test]
fn in_place_is_atomic_and_keeps_the_mode() {
    let sb = Sandbox::new();
    let plain = sb.write("s.yaml", PLAIN_YAML);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut cmd = hush(&sb);
    cmd.args(["encrypt", "-i", "--age", &age_recipient()])
        .arg(&plain);
    ok_stdout(&run(cmd));
    assert_eq!(mode_of(&plain), 0o640);
    assert!(std::fs::read_to_string(&plain).unwrap().contains("sops:"));
    // Encrypting twice is refused with sops' code 203, and the file is untouched.
    let before = std::fs::read(&plain).unwrap();
    let mut cmd = hush(&sb);
    cmd.args(["encrypt", "-i", "--age", &age_recipient()])
        .arg(&plain);
    assert_eq!(code(&run(cmd)), 203);
    assert_eq!(std::fs::read(&plain).unwrap(), before);
    // No temp files are left next to it.
    let leftovers: Vec<_> = std::fs::read_dir(sb.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".hush-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn decrypt_to_output_file_is_private() {
    let sb = Sandbox::new();
    let plain = sb.write("s.yaml", PLAIN_YAML);
    let enc = sb.write("s.enc.yaml", encrypt_age(&sb, &plain, &[]));
    let out_path = sb.path("plain-out.yaml");
    let mut cmd = hush(&sb);
    cmd.args(["decrypt", "--output"]).arg(&out_path).arg(&enc);
    ok_stdout(&run(cmd));
    assert_eq!(mode_of(&out_path), 0o600);
    assert_eq!(std::fs::read_to_string(&out_path).unwrap(), PLAIN_YAML);
}

#[test]
fn stdin_with_filename_override() {
    let sb = Sandbox::new();
    let mut cmd = hush(&sb);
    cmd.args([
        "encrypt",
        "--age",
        &age_recipient(),
        "--filename-override",
        "x.json",
        "-",
    ]);
    let enc = ok_stdout(&run_with_stdin(cmd, b"{\"k\": \"v\"}"));
    assert!(enc.starts_with("{\n\t\"k\": \"ENC[AES256_GCM,"), "{enc}");
    let mut cmd = hush(&sb);
    cmd.args(["decrypt", "--input-type", "json", "-"]);
    assert_eq!(
        ok_stdout(&run_with_stdin(cmd, enc.as_bytes())),
        "{\n\t\"k\": \"v\"\n}\n"
    );
}
