//! `hush`: SOPS-compatible encryption of configuration files, and the rest of
//! hush's GitOps secrets toolkit. This binary is glue over `hush-crypto` and
//! `hush-providers`; flags, environment variables and exit codes follow sops.

#[cfg(feature = "gitops")]
mod agent;
mod args;
mod cloud;
mod commands;
mod config;
mod exit;
mod fileio;
mod keys;
mod ops;
mod scan_cmd;
mod seal;
mod seal_cmd;
#[cfg(feature = "k8s")]
mod sync_cmd;
mod tree_walk;

use std::process::ExitCode;

/// Loading and writing a large file allocates one string per key and value, from
/// several threads: mimalloc spends about a third less CPU on it than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

#[cfg(feature = "gitops")]
use commands::{agent as agent_cmd, kustomize_fn, render};
use commands::{
    decrypt, edit, encrypt, exec, filestatus, groups, keygen, reseal, rotate, rotation_status, set,
    updatekeys,
};

#[derive(Parser, Debug)]
#[command(
    name = "hush",
    version,
    about = "Secrets for GitOps: SOPS-compatible file encryption (age, PGP, cloud KMS)",
    long_about = "hush encrypts the values of YAML, JSON, dotenv, INI and binary files in the SOPS v3 format, \
readable and writable by sops itself.\n\n\
Keys come from flags (--age, --pgp, --kms, ...), their SOPS_* environment variables, or the creation rules \
of the nearest .sops.yaml. Identities for decryption are read as sops reads them: SOPS_AGE_KEY, \
SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, ~/.config/sops/age/keys.txt, SSH keys, and gpg.\n\n\
Exit codes follow sops: 2 unreadable input, 3 unwritable output, 51 MAC mismatch, 52 MAC missing, \
91 bad tree path, 111 no keys, 128 no key could decrypt, 200 unchanged, 203 already encrypted."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Encrypt a file's values (to stdout, or in place with -i)
    Encrypt(encrypt::EncryptArgs),
    /// Decrypt a file (to stdout, or in place with -i); --extract for one value
    Decrypt(decrypt::DecryptArgs),
    /// Edit an encrypted file in $SOPS_EDITOR/$EDITOR (creates it if missing)
    Edit(edit::EditArgs),
    /// Set one value: hush set FILE '["key"]' '"json value"'
    Set(set::SetArgs),
    /// Remove one value: hush unset FILE '["key"]'
    Unset(set::UnsetArgs),
    /// Generate a new data key and re-encrypt every value; add or remove master keys
    Rotate(rotate::RotateArgs),
    /// Make a file's master keys match .sops.yaml (values untouched)
    Updatekeys(updatekeys::UpdatekeysArgs),
    /// Add a key group to a file or delete one (Shamir; values untouched)
    Groups(groups::GroupsArgs),
    /// Re-encrypt every SealedSecret under a tree to the newest sealing key
    Reseal(reseal::ResealArgs),
    /// Rotation reports: `hush rotation status [PATH] --max-age 90d`
    Rotation(rotation_status::RotationArgs),
    /// Print {"encrypted":true|false} for a file
    Filestatus(filestatus::FilestatusArgs),
    /// Run a command with the decrypted values as environment variables
    ExecEnv(exec::ExecEnvArgs),
    /// Run a command with the decrypted file at {} (a FIFO or a private temp file)
    ExecFile(exec::ExecFileArgs),
    /// Generate an age identity (file written 0600)
    Keygen(keygen::KeygenArgs),
    /// Seal a Kubernetes Secret into a SealedSecret (kubeseal-compatible)
    Seal(seal_cmd::SealArgs),
    /// Scan files, staged changes or Git history for plaintext secrets
    Scan(scan_cmd::ScanArgs),
    /// Work with hush-controller's SecretSyncs (refresh one now)
    #[cfg(feature = "k8s")]
    Sync(sync_cmd::SyncArgs),
    /// Pull a Git repository and keep decrypted Secrets in a directory or env file
    #[cfg(feature = "gitops")]
    Agent(agent_cmd::AgentArgs),
    /// Print a directory's manifests with SOPS Secrets decrypted (Argo CD plugin)
    #[cfg(feature = "gitops")]
    Render(render::RenderArgs),
    /// Kustomize exec KRM function: decrypt SOPS files and items (ResourceList on stdin)
    #[cfg(feature = "gitops")]
    KustomizeFn(kustomize_fn::KustomizeFnArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result =
        match cli.command {
            // The scanner has its own exit codes: 0 clean, 1 findings, 2 error or incomplete.
            Cmd::Scan(a) => {
                return scan_cmd::run(a).unwrap_or_else(|e| {
                    eprintln!("hush: scan: {e:#}");
                    ExitCode::from(2)
                })
            }
            Cmd::Encrypt(a) => encrypt::run(a),
            Cmd::Decrypt(a) => decrypt::run(a),
            Cmd::Edit(a) => edit::run(a),
            Cmd::Set(a) => set::run_set(a),
            Cmd::Unset(a) => set::run_unset(a),
            Cmd::Rotate(a) => rotate::run(a),
            Cmd::Updatekeys(a) => updatekeys::run(a),
            Cmd::Groups(a) => groups::run(a),
            Cmd::Reseal(a) => reseal::run(a),
            Cmd::Rotation(a) => rotation_status::run(a),
            Cmd::Filestatus(a) => filestatus::run(a),
            Cmd::ExecEnv(a) => exec::run_env(a),
            Cmd::ExecFile(a) => exec::run_file(a),
            Cmd::Keygen(a) => keygen::run(a),
            #[cfg(feature = "gitops")]
            Cmd::Agent(a) => agent_cmd::run(a),
            #[cfg(feature = "gitops")]
            Cmd::Render(a) => render::run(a),
            #[cfg(feature = "gitops")]
            Cmd::KustomizeFn(a) => kustomize_fn::run(a),
            #[cfg(feature = "k8s")]
            Cmd::Sync(a) => sync_cmd::run(a)
                .map_err(|e| exit::CliError::new(exit::Code::Generic, format!("{e:#}"))),
            Cmd::Seal(a) => seal_cmd::run(a)
                .map_err(|e| exit::CliError::new(exit::Code::Generic, format!("{e:#}"))),
        };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: messages name the file and key path, never a value.
            eprintln!("hush: {}", e.message);
            ExitCode::from(e.code as u8)
        }
    }
}
