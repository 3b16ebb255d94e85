//! `hush seal`: kubeseal-compatible, offline sealing of Kubernetes Secrets into
//! SealedSecrets, plus `--raw`, `--merge-into` and `--recovery-unseal`.
//!
//! The certificate comes from `--cert FILE|file://…|http(s)://…` (or
//! `$SEALED_SECRETS_CERT`), else from the controller through the Kubernetes API
//! service proxy (`--controller-namespace`/`--controller-name`, kubeconfig from
//! `--kubeconfig`/`$KUBECONFIG`/`~/.kube/config`, `--context`), as kubeseal does.
//! `--re-encrypt` (`/v1/rotate`) and `--validate` (`/v1/verify`) go the same way
//! ([`crate::seal`]). `hush seal keys list|prune` reports and retires sealing keys.
//! All formats and crypto live in `hush_crypto::sealing`.

use crate::seal::{call_controller, ClusterArgs, ControllerRequest};
use anyhow::{bail, Context, Result};
use hush_crypto::sealing::{
    merge_into, parse_certificate_pem, parse_recovery_keys, seal_raw, seal_secret,
    unseal_sealed_secret, DocumentFormat, Scope, SealOptions, SealedSecretManifest,
    SealingPublicKey, SecretManifest,
};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long a certificate download may take.
const CERT_FETCH_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(clap::Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SealArgs {
    #[command(subcommand)]
    pub command: Option<SealCommand>,

    /// Secret manifest(s) to seal, YAML or JSON [default: stdin]
    #[arg(short = 'f', long = "secret-file", value_name = "FILE")]
    pub secret_file: Option<PathBuf>,

    /// Write the result here instead of stdout; a .yaml/.yml name forces YAML
    #[arg(short = 'w', long = "sealed-secret-file", value_name = "FILE")]
    pub sealed_secret_file: Option<PathBuf>,

    /// Output format
    #[arg(short = 'o', long = "format", default_value = "json", value_parser = ["json", "yaml"])]
    pub format: String,

    /// Certificate to seal to: a file, file:// or http(s):// URL
    #[arg(long, env = "SEALED_SECRETS_CERT", value_name = "FILE|URL")]
    pub cert: Option<String>,

    /// Print the certificate and exit
    #[arg(long = "fetch-cert")]
    pub fetch_cert: bool,

    /// Scope: strict, namespace-wide or cluster-wide [default: from the Secret's annotations, else strict]
    #[arg(long, value_parser = parse_scope)]
    pub scope: Option<Scope>,

    /// Seal one value (stdin or --from-file) and print it as bare base64
    #[arg(long)]
    pub raw: bool,

    /// Secret name, for --raw with strict scope
    #[arg(long)]
    pub name: Option<String>,

    /// Namespace for Secrets without one and for --raw [default: default]
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    /// With --raw: read the value from this file ([key=]path)
    #[arg(long = "from-file", value_name = "[KEY=]PATH")]
    pub from_file: Vec<String>,

    /// Seal the input's items for this SealedSecret and merge them into it in place
    #[arg(long = "merge-into", value_name = "FILE")]
    pub merge_into: Option<PathBuf>,

    /// Seal Secrets that have no data
    #[arg(long = "allow-empty-data")]
    pub allow_empty_data: bool,

    /// Re-encrypt SealedSecrets with the controller's newest key (/v1/rotate); with
    /// only -f, the file is rewritten in place
    #[arg(long = "re-encrypt", alias = "rotate")]
    pub re_encrypt: bool,

    /// Ask the controller whether the input SealedSecret can be unsealed (/v1/verify)
    #[arg(long)]
    pub validate: bool,

    /// Decrypt SealedSecrets offline with backed-up private keys
    #[arg(long = "recovery-unseal")]
    pub recovery_unseal: bool,

    /// Private keys for --recovery-unseal: PEM files or key Secret backups (comma separated)
    #[arg(
        long = "recovery-private-key",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    pub recovery_private_key: Vec<PathBuf>,

    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Subcommands of `hush seal`.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum SealCommand {
    /// Sealing keys in the cluster: list them with usage, prune unused ones
    #[cfg(feature = "k8s")]
    Keys(crate::seal::keys_cmd::KeysArgs),
}

fn parse_scope(text: &str) -> Result<Scope, String> {
    text.parse::<Scope>().map_err(|error| error.to_string())
}

/// Runs `hush seal` on the process's stdin and stdout.
pub fn run(args: SealArgs) -> Result<()> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    run_with_io(args, &mut stdin.lock(), &mut stdout.lock())
}

/// `run` with explicit streams, for tests.
pub fn run_with_io(args: SealArgs, stdin: &mut dyn Read, stdout: &mut dyn Write) -> Result<()> {
    match &args.command {
        #[cfg(feature = "k8s")]
        Some(SealCommand::Keys(keys)) => {
            return crate::seal::keys_cmd::run(keys, &args.cluster, stdout)
        }
        // Without `k8s` the subcommand enum is empty; the arm is still needed.
        #[cfg(not(feature = "k8s"))]
        Some(_) => {}
        None => {}
    }
    if args.validate {
        return validate(&args, stdin);
    }
    if args.re_encrypt {
        return re_encrypt(&args, stdin, stdout);
    }
    if args.recovery_unseal {
        return recovery_unseal(&args, stdin, stdout);
    }

    let certificate_pem = load_certificate(&args)?;
    if args.fetch_cert {
        stdout.write_all(certificate_pem.as_bytes())?;
        return Ok(());
    }
    let certificate = parse_certificate_pem(&certificate_pem).context("reading the certificate")?;
    certificate
        .check_not_expired(SystemTime::now())
        .context("the sealing certificate cannot be used")?;
    let public_key = &certificate.public_key;

    if args.raw {
        return seal_raw_value(&args, public_key, stdin, stdout);
    }
    let input = read_input(&args, stdin)?;
    let secrets = SecretManifest::parse_all(&input).context("reading the input Secret")?;
    if let Some(target) = &args.merge_into {
        return merge_into_file(target, &secrets, public_key);
    }
    if secrets.is_empty() {
        bail!("no Secret in the input");
    }

    let options = SealOptions {
        scope: args.scope,
        default_namespace: Some(args.namespace.clone().unwrap_or_else(|| "default".into())),
        allow_empty_data: args.allow_empty_data,
    };
    let format = output_format(&args);
    let mut output = String::new();
    for secret in &secrets {
        if let (Some(flag), Some(own)) = (&args.namespace, &secret.metadata.namespace) {
            if flag != own {
                bail!("the Secret's namespace {own:?} differs from --namespace {flag:?}");
            }
        }
        let sealed = seal_secret(secret, public_key, &options)?;
        output.push_str(&sealed.to_document(format));
    }
    write_output(&args, stdout, output.as_bytes(), Visibility::Shareable)
}

fn seal_raw_value(
    args: &SealArgs,
    public_key: &SealingPublicKey,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
) -> Result<()> {
    let value = match args.from_file.as_slice() {
        [] => {
            let mut value = Vec::new();
            stdin
                .read_to_end(&mut value)
                .context("reading the value from stdin")?;
            value
        }
        [one] => {
            let path = one.split_once('=').map_or(one.as_str(), |(_, path)| path);
            std::fs::read(path).with_context(|| format!("reading {path}"))?
        }
        _ => bail!("--raw takes at most one --from-file"),
    };
    let scope = args.scope.unwrap_or_default();
    let encoded = seal_raw(
        public_key,
        scope,
        args.namespace.as_deref().unwrap_or(""),
        args.name.as_deref().unwrap_or(""),
        &value,
    )?;
    // kubeseal prints raw values without a trailing newline.
    write_output(args, stdout, encoded.as_bytes(), Visibility::Shareable)
}

fn merge_into_file(
    target: &Path,
    secrets: &[SecretManifest],
    public_key: &SealingPublicKey,
) -> Result<()> {
    let [secret] = secrets else {
        bail!("--merge-into needs exactly one Secret in the input");
    };
    let text =
        std::fs::read_to_string(target).with_context(|| format!("reading {}", target.display()))?;
    let mut documents = SealedSecretManifest::parse_all(&text)
        .with_context(|| format!("reading {}", target.display()))?;
    let [sealed] = documents.as_mut_slice() else {
        bail!("{} must hold exactly one SealedSecret", target.display());
    };
    merge_into(sealed, secret, public_key)?;
    let updated = sealed.to_document(DocumentFormat::detect(&text));
    write_atomically(target, updated.as_bytes(), Visibility::Shareable)
}

fn recovery_unseal(args: &SealArgs, stdin: &mut dyn Read, stdout: &mut dyn Write) -> Result<()> {
    if args.recovery_private_key.is_empty() {
        bail!("--recovery-unseal needs --recovery-private-key FILE[,FILE…]");
    }
    let mut keys = Vec::new();
    for path in &args.recovery_private_key {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        keys.extend(
            parse_recovery_keys(&text)
                .with_context(|| format!("reading keys from {}", path.display()))?,
        );
    }
    let input = read_input(args, stdin)?;
    let format = output_format(args);
    let mut output = String::new();
    for sealed in SealedSecretManifest::parse_all(&input).context("reading the SealedSecret")? {
        let mut sealed = sealed;
        if sealed.metadata.namespace.is_none() {
            sealed.metadata.namespace =
                Some(args.namespace.clone().unwrap_or_else(|| "default".into()));
        }
        let secret = unseal_sealed_secret(&keys, &sealed)?;
        output.push_str(&secret.to_document(format));
    }
    // The user asked for plaintext: it goes to stdout or the file they named.
    write_output(args, stdout, output.as_bytes(), Visibility::OwnerOnly)
}

/// `--validate`: the controller answers 200 when it can unseal the input, 409 when not.
fn validate(args: &SealArgs, stdin: &mut dyn Read) -> Result<()> {
    let input = read_input(args, stdin)?;
    let request = ControllerRequest {
        post: true,
        path: "/v1/verify".into(),
        body: input,
    };
    match one_answer(args, request)? {
        Ok(_) => Ok(()),
        Err(failure) if failure.code == 409 => bail!("unable to decrypt sealed secret"),
        Err(failure) => bail!(
            "cannot validate sealed secret: {} ({})",
            failure.message,
            failure.code
        ),
    }
}

/// `--re-encrypt`: every SealedSecret in the input through the controller's `/v1/rotate`.
fn re_encrypt(args: &SealArgs, stdin: &mut dyn Read, stdout: &mut dyn Write) -> Result<()> {
    let input = read_input(args, stdin)?;
    let sealed = SealedSecretManifest::parse_all(&input).context("reading the SealedSecret")?;
    if sealed.is_empty() {
        bail!("no SealedSecret in the input");
    }
    let requests = sealed
        .iter()
        .map(|s| ControllerRequest {
            post: true,
            path: "/v1/rotate".into(),
            body: s.to_document(DocumentFormat::Json),
        })
        .collect();
    let answers = call_controller(&args.cluster, requests)?;
    // kubeseal rewrites the input file in place when it has no output file.
    let in_place = args.secret_file.is_some() && args.sealed_secret_file.is_none();
    let format = if in_place {
        DocumentFormat::detect(&input)
    } else {
        output_format(args)
    };
    let mut output = String::new();
    for (original, answer) in sealed.iter().zip(answers) {
        let text = answer.map_err(|failure| match failure.code {
            409 => anyhow::anyhow!("unable to rotate secret {}", original.display_name()),
            _ => anyhow::anyhow!(
                "cannot re-encrypt secret {}: {} ({})",
                original.display_name(),
                failure.message,
                failure.code
            ),
        })?;
        let mut rotated =
            SealedSecretManifest::parse_all(&text).context("reading the controller's answer")?;
        if rotated.len() != 1 {
            bail!("the controller answered with {} documents", rotated.len());
        }
        let mut rotated = rotated.remove(0);
        rotated.status = None;
        output.push_str(&rotated.to_document(format));
    }
    match (&args.secret_file, in_place) {
        (Some(path), true) => write_atomically(path, output.as_bytes(), Visibility::Shareable),
        _ => write_output(args, stdout, output.as_bytes(), Visibility::Shareable),
    }
}

fn one_answer(
    args: &SealArgs,
    request: ControllerRequest,
) -> Result<Result<String, crate::seal::HttpFailure>> {
    call_controller(&args.cluster, vec![request])?
        .pop()
        .context("the controller gave no answer")
}

fn load_certificate(args: &SealArgs) -> Result<String> {
    let Some(source) = args.cert.as_deref() else {
        let request = ControllerRequest {
            post: false,
            path: "/v1/cert.pem".into(),
            body: String::new(),
        };
        return one_answer(args, request)
            .and_then(|answer| answer.map_err(|f| anyhow::anyhow!("{} ({})", f.message, f.code)))
            .with_context(|| {
                format!(
                    "fetching the certificate from the controller {} (or pass --cert FILE|URL)",
                    args.cluster.controller()
                )
            });
    };
    if source.starts_with("http://") || source.starts_with("https://") {
        return fetch_certificate(source);
    }
    let path = source.strip_prefix("file://").unwrap_or(source);
    std::fs::read_to_string(path).with_context(|| format!("reading certificate {path}"))
}

fn fetch_certificate(url: &str) -> Result<String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(CERT_FETCH_TIMEOUT))
        .build()
        .into();
    let mut response = agent
        .get(url)
        .call()
        .with_context(|| format!("fetching certificate from {url}"))?;
    response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("reading certificate from {url}"))
}

fn read_input(args: &SealArgs, stdin: &mut dyn Read) -> Result<String> {
    match &args.secret_file {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
        }
        None => {
            let mut text = String::new();
            stdin.read_to_string(&mut text).context("reading stdin")?;
            Ok(text)
        }
    }
}

/// `-o`, except that a `.yaml`/`.yml` output file forces YAML, as in kubeseal.
fn output_format(args: &SealArgs) -> DocumentFormat {
    let yaml_file = args.sealed_secret_file.as_deref().is_some_and(|path| {
        matches!(
            path.extension().and_then(|ext| ext.to_str()),
            Some("yaml" | "yml")
        )
    });
    if yaml_file || args.format == "yaml" {
        DocumentFormat::Yaml
    } else {
        DocumentFormat::Json
    }
}

/// Whether a written file may be readable by others.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Visibility {
    /// Sealed data: safe to share, default permissions.
    Shareable,
    /// Plaintext the user asked for: owner-only (0600) where the OS allows.
    OwnerOnly,
}

fn write_output(
    args: &SealArgs,
    stdout: &mut dyn Write,
    bytes: &[u8],
    visibility: Visibility,
) -> Result<()> {
    match &args.sealed_secret_file {
        Some(path) => write_atomically(path, bytes, visibility),
        None => {
            stdout.write_all(bytes)?;
            stdout.flush()?;
            Ok(())
        }
    }
}

/// Write to a temporary file beside `path`, then rename over it, so readers
/// never see a half-written manifest.
fn write_atomically(path: &Path, bytes: &[u8], visibility: Visibility) -> Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?
        .to_string_lossy();
    let temporary = directory.join(format!(".{file_name}.hush-{}", std::process::id()));
    let result = write_new_file(&temporary, bytes, visibility)
        .and_then(|()| std::fs::rename(&temporary, path))
        .with_context(|| format!("writing {}", path.display()));
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// Creates `path` (which must not exist) with owner-only permissions when asked.
fn write_new_file(path: &Path, bytes: &[u8], visibility: Visibility) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if visibility == Visibility::OwnerOnly {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = visibility;
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use hush_crypto::sealing::{
        generate_sealing_key, unseal_sealed_secret, SealingKeyMaterial, DEFAULT_KEY_TTL,
    };
    use std::io::Cursor;
    use std::net::TcpListener;
    use std::sync::OnceLock;

    #[derive(Parser)]
    struct TestCli {
        #[command(flatten)]
        seal: SealArgs,
    }

    struct Fixture {
        material: SealingKeyMaterial,
        dir: tempfile::TempDir,
    }

    fn fixture() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let material =
                generate_sealing_key(2048, "", SystemTime::now(), DEFAULT_KEY_TTL).unwrap();
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("cert.pem"), material.tls_crt()).unwrap();
            Fixture { material, dir }
        })
    }

    fn cert_path() -> String {
        fixture().dir.path().join("cert.pem").display().to_string()
    }

    const SECRET: &str =
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\nstringData:\n  password: s3cr3t\n";

    fn run_cli(args: &[&str], stdin: &str) -> Result<String> {
        let mut argv = vec!["hush-seal"];
        argv.extend_from_slice(args);
        let cli = TestCli::try_parse_from(argv)?;
        let mut output = Vec::new();
        run_with_io(cli.seal, &mut Cursor::new(stdin.as_bytes()), &mut output)?;
        Ok(String::from_utf8(output)?)
    }

    fn unsealed_password(document: &str) -> Vec<u8> {
        let sealed = &SealedSecretManifest::parse_all(document).unwrap()[0];
        let keys = [fixture().material.private_key.clone()];
        let secret = unseal_sealed_secret(&keys, sealed).unwrap();
        secret.data["password"].to_vec()
    }

    #[test]
    fn seals_stdin_to_json_by_default() {
        let output = run_cli(&["--cert", &cert_path()], SECRET).unwrap();
        assert!(output.starts_with("{\n  \"kind\": \"SealedSecret\""));
        assert_eq!(unsealed_password(&output), b"s3cr3t");
    }

    #[test]
    fn yaml_output_and_file_scheme() {
        let cert = format!("file://{}", cert_path());
        let output = run_cli(
            &["--cert", &cert, "-o", "yaml", "--scope", "cluster-wide"],
            SECRET,
        )
        .unwrap();
        assert!(output.starts_with("---\napiVersion: bitnami.com/v1alpha1\n"));
        assert!(
            output.contains("sealedsecrets.bitnami.com/cluster-wide: 'true'")
                || output.contains("sealedsecrets.bitnami.com/cluster-wide: \"true\"")
        );
        assert_eq!(unsealed_password(&output), b"s3cr3t");
    }

    #[test]
    fn fetches_the_certificate_over_http() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/cert.pem", listener.local_addr().unwrap());
        let pem = fixture().material.tls_crt();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).unwrap();
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-pem-file\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{pem}",
                pem.len()
            );
            stream.write_all(response.as_bytes()).unwrap();
        });
        let output = run_cli(&["--cert", &url], SECRET).unwrap();
        server.join().unwrap();
        assert_eq!(unsealed_password(&output), b"s3cr3t");
    }

    #[test]
    fn fetch_cert_prints_the_certificate() {
        let output = run_cli(&["--cert", &cert_path(), "--fetch-cert"], "").unwrap();
        assert_eq!(output, fixture().material.tls_crt());
    }

    #[test]
    fn raw_values_need_a_name_under_strict_scope() {
        let error = run_cli(&["--cert", &cert_path(), "--raw", "-n", "prod"], "v").unwrap_err();
        assert!(error.to_string().contains("--name"), "{error}");
        let value_file = fixture().dir.path().join("value.txt");
        std::fs::write(&value_file, "from-file").unwrap();
        let from_file = format!("password={}", value_file.display());
        let output = run_cli(
            &[
                "--cert",
                &cert_path(),
                "--raw",
                "-n",
                "prod",
                "--name",
                "db",
                "--from-file",
                &from_file,
            ],
            "",
        )
        .unwrap();
        assert!(!output.contains('\n'));
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(output)
            .unwrap();
        let plain = hush_crypto::sealing::unseal(&fixture().material.private_key, b"prod/db", &raw)
            .unwrap();
        assert_eq!(plain.as_slice(), b"from-file");
    }

    #[test]
    fn merge_into_rewrites_the_file_in_its_format() {
        let target = fixture().dir.path().join("merge-target.yaml");
        let sealed = run_cli(&["--cert", &cert_path(), "-o", "yaml"], SECRET).unwrap();
        std::fs::write(&target, sealed).unwrap();
        let update = "kind: Secret\nmetadata:\n  name: x\nstringData:\n  token: t0k\n";
        let output = run_cli(
            &[
                "--cert",
                &cert_path(),
                "--merge-into",
                target.to_str().unwrap(),
            ],
            update,
        )
        .unwrap();
        assert!(output.is_empty());
        let text = std::fs::read_to_string(&target).unwrap();
        assert!(text.starts_with("---\n"), "stays YAML");
        let sealed = &SealedSecretManifest::parse_all(&text).unwrap()[0];
        let keys = [fixture().material.private_key.clone()];
        let secret = unseal_sealed_secret(&keys, sealed).unwrap();
        assert_eq!(secret.data["token"].as_slice(), b"t0k");
        assert_eq!(secret.data["password"].as_slice(), b"s3cr3t");
    }

    #[test]
    fn recovery_unseal_uses_backed_up_keys() {
        let sealed = run_cli(&["--cert", &cert_path()], SECRET).unwrap();
        let key_file = fixture().dir.path().join("backup-key.pem");
        std::fs::write(&key_file, fixture().material.tls_key().unwrap().as_bytes()).unwrap();
        let output = run_cli(
            &[
                "--recovery-unseal",
                "--recovery-private-key",
                key_file.to_str().unwrap(),
                "-o",
                "yaml",
            ],
            &sealed,
        )
        .unwrap();
        let secret = &SecretManifest::parse_all(&output).unwrap()[0];
        assert_eq!(secret.data["password"].as_slice(), b"s3cr3t");

        // Plaintext written to a file is readable by its owner only.
        let out = fixture().dir.path().join("recovered.yaml");
        let args = [
            "--recovery-unseal",
            "--recovery-private-key",
            key_file.to_str().unwrap(),
            "-w",
            out.to_str().unwrap(),
        ];
        assert!(run_cli(&args, &sealed).unwrap().is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn yaml_output_file_forces_yaml_and_is_written() {
        let out = fixture().dir.path().join("sealed-out.yml");
        let output = run_cli(
            &["--cert", &cert_path(), "-w", out.to_str().unwrap()],
            SECRET,
        )
        .unwrap();
        assert!(output.is_empty());
        let text = std::fs::read_to_string(out).unwrap();
        assert!(text.starts_with("---\n"));
    }

    #[test]
    fn without_a_cluster_controller_calls_fail_clearly() {
        let missing = fixture().dir.path().join("no-such-kubeconfig");
        let kubeconfig = missing.to_str().unwrap();
        let error = run_cli(&["--kubeconfig", kubeconfig], SECRET).unwrap_err();
        let text = format!("{error:#}");
        assert!(text.contains("--cert"), "{text}");
        assert!(
            text.contains("kube-system/sealed-secrets-controller"),
            "{text}"
        );
        assert!(text.contains("no-such-kubeconfig"), "{text}");
        let error = run_cli(&["--kubeconfig", kubeconfig, "--validate"], SECRET).unwrap_err();
        assert!(format!("{error:#}").contains("kubeconfig"), "{error:#}");
    }

    #[test]
    fn namespace_flag_must_agree_with_the_secret() {
        let error = run_cli(&["--cert", &cert_path(), "-n", "dev"], SECRET).unwrap_err();
        assert!(error.to_string().contains("differs"));
        let no_namespace = "kind: Secret\nmetadata:\n  name: s\nstringData:\n  k: v\n";
        let output = run_cli(&["--cert", &cert_path(), "-o", "yaml"], no_namespace).unwrap();
        assert!(output.contains("namespace: default"));
    }

    #[test]
    fn expired_certificates_are_refused() {
        let key = hush_crypto::sealing::SealingPrivateKey::generate(2048).unwrap();
        let long_ago = SystemTime::now() - Duration::from_secs(7 * 24 * 3600);
        let der = hush_crypto::sealing::cert::self_signed_certificate_der(
            &key,
            "",
            long_ago,
            Duration::from_secs(60),
        )
        .unwrap();
        let pem = hush_crypto::sealing::CertificateInfo::from_der(&der)
            .unwrap()
            .to_pem();
        let path = fixture().dir.path().join("expired.pem");
        std::fs::write(&path, pem).unwrap();
        let error = run_cli(&["--cert", path.to_str().unwrap()], SECRET).unwrap_err();
        assert!(format!("{error:#}").contains("expired"), "{error:#}");
    }
}
