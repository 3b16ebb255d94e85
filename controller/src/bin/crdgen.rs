//! Writes the CRDs generated from the Rust types into a directory (default `deploy/crds`).

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "deploy/crds".into()),
    );
    std::fs::create_dir_all(&dir)?;
    for (file, crd) in hush_controller::crd::all_crds() {
        let path = dir.join(file);
        std::fs::write(&path, hush_controller::crd::crd_yaml(&crd))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
