//! Issue 8: after a Vault transit key moves to a new version, `hush rotate` wraps the
//! new data key with the newest version (`vault:v2:`), on a real OpenBao dev server.

mod common;

use common::*;
use hush_tests::standins::OpenBao;

const PLAIN: &str = "user: admin\npassword: hunter2\n";

fn transit_ciphertexts(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("enc: "))
        .filter(|c| c.starts_with("vault:"))
        .collect()
}

#[test]
fn rotate_rewraps_the_data_key_with_the_newest_transit_key_version() {
    let bao = OpenBao::start().expect("start OpenBao (scripts/setup-test-deps.sh)");
    bao.cli(&["secrets", "enable", "-path=sops/transit", "transit"]);
    bao.cli(&["write", "-f", "sops/transit/keys/files"]);
    let uri = format!("{}/v1/sops/transit/keys/files", bao.url());
    let sb = Sandbox::new();
    let hush = || {
        let mut cmd = hush_bare(&sb);
        cmd.env("VAULT_TOKEN", bao.token())
            .env("HUSH_KMS_TIMEOUT", "20");
        cmd
    };

    let plain = sb.write("plain.yaml", PLAIN);
    let mut cmd = hush();
    cmd.args(["encrypt", "--hc-vault-transit", &uri])
        .arg(&plain);
    let path = sb.write("s.yaml", ok_stdout(&run(cmd)));
    let before = std::fs::read_to_string(&path).unwrap();
    let v1 = transit_ciphertexts(&before);
    assert!(v1.len() == 1 && v1[0].starts_with("vault:v1:"), "{before}");

    bao.cli(&["write", "-f", "sops/transit/keys/files/rotate"]);
    let mut cmd = hush();
    cmd.args(["rotate", "-i"]).arg(&path);
    ok_stdout(&run(cmd));

    let after = std::fs::read_to_string(&path).unwrap();
    let v2 = transit_ciphertexts(&after);
    assert!(v2.len() == 1 && v2[0].starts_with("vault:v2:"), "{after}");
    let mut cmd = hush();
    cmd.arg("decrypt").arg(&path);
    assert_eq!(ok_stdout(&run(cmd)), PLAIN);

    // With version 1 retired, the rotated file still decrypts: it no longer needs v1.
    bao.cli(&[
        "write",
        "sops/transit/keys/files/config",
        "min_decryption_version=2",
    ]);
    let mut cmd = hush();
    cmd.args(["decrypt", "--extract", "[\"password\"]"])
        .arg(&path);
    assert_eq!(ok_stdout(&run(cmd)).trim_end(), "hunter2");
    // ...while the same file before rotation (wrapped with v1) no longer does.
    let old = sb.write("old.yaml", before.as_str());
    let mut cmd = hush();
    cmd.arg("decrypt").arg(&old);
    assert_eq!(code(&run(cmd)), 128);
}
