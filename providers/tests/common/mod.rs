//! Shared helpers for the key-source integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// `HUSH_VECTORS_DIR`, else `<workspace>/../shared/vectors`, else `/work/shared/vectors`.
pub fn vectors_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HUSH_VECTORS_DIR") {
        return PathBuf::from(dir);
    }
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors");
    if beside.is_dir() {
        return beside;
    }
    PathBuf::from("/work/shared/vectors")
}

pub fn sops_vector(relative: &str) -> PathBuf {
    vectors_dir().join("sops").join(relative)
}

pub fn read_vector(relative: &str) -> Vec<u8> {
    let path = sops_vector(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub fn read_vector_text(relative: &str) -> String {
    String::from_utf8(read_vector(relative)).unwrap()
}

/// Whether a binary runs (`--version`); interop tests need it installed.
pub fn have_binary(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The `(fp, enc)` pairs of the `pgp` list in a sops YAML file (block scalar `enc: |`).
pub fn pgp_entries_yaml(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut entries = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start().starts_with("enc: |") {
            let first = lines[i + 1];
            let indent = first.len() - first.trim_start().len();
            let mut enc = String::new();
            i += 1;
            loop {
                let line = lines[i];
                enc.push_str(line.get(indent..).unwrap_or(""));
                enc.push('\n');
                i += 1;
                if line.trim() == "-----END PGP MESSAGE-----" {
                    break;
                }
            }
            let fp = lines[i..]
                .iter()
                .find_map(|l| l.trim().strip_prefix("fp: "))
                .expect("fp after enc")
                .to_string();
            entries.push((fp, enc));
        } else {
            i += 1;
        }
    }
    entries
}

/// The `(fp, enc)` pairs of `sops.pgp` in a sops JSON file.
pub fn pgp_entries_json(text: &str) -> Vec<(String, String)> {
    let doc: serde_json::Value = serde_json::from_str(text).unwrap();
    doc["sops"]["pgp"]
        .as_array()
        .expect("sops.pgp list")
        .iter()
        .map(|e| {
            (
                e["fp"].as_str().unwrap().to_string(),
                e["enc"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}
