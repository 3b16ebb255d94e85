//! The benchmark floor for `hush encrypt`/`decrypt`: the same YAML parsed and
//! emitted again, with no cryptography. Usage: `yaml_floor FILE > out`.

/// The allocator of the `hush` binary, so the comparison is like for like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use hush_crypto::stores::yaml;

fn main() {
    let path = std::env::args().nth(1).expect("usage: yaml_floor FILE");
    let text = std::fs::read_to_string(&path).expect("read input");
    let docs = yaml::parse_documents(&text).expect("parse YAML");
    let out = yaml::emit_documents(&docs, &yaml::YamlOptions::default());
    use std::io::Write;
    std::io::stdout().write_all(out.as_bytes()).expect("write");
}
