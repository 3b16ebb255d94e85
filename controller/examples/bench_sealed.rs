//! Benchmark: N SealedSecrets (RSA-4096, 3 values each) unsealed from a cold start.
//! Run through `scripts/bench_sealed.sh`.
//!
//! 1. Pipeline, in process: the controller's unseal pipeline
//!    (`sealed::pipeline::unseal_to_secret` on its `UnsealPool`: decrypt, render,
//!    build the Secret) against the floor, the same 3·N bare RSA-OAEP-SHA256
//!    decryptions (AWS-LC) timed alone on as many threads.
//! 2. End to end: the `hush-controller` binary started cold against the Kubernetes
//!    API stand-in pre-loaded with the key Secret and N SealedSecrets, until all N
//!    Secrets are written; its peak RSS (VmHWM); then the API writes it makes in a
//!    quiet window after convergence (from the stand-in's request log).
//!
//! Env: BENCH_SEALED (2000), BENCH_E2E_SEALED (end-to-end count, default
//! BENCH_SEALED: the Python stand-in's create cost grows with its object count),
//! BENCH_VALUES (3), BENCH_KEY_BITS (4096), BENCH_QUIET_SECS (20),
//! BENCH_SKIP_PIPELINE, BENCH_SKIP_E2E (unset), HUSH_CONTROLLER_BIN.

use std::{
    collections::BTreeMap,
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use aws_lc_rs::rsa::{OaepPrivateDecryptingKey, PrivateDecryptingKey, OAEP_SHA256_MGF1SHA256};
use base64::{engine::general_purpose::STANDARD, Engine};
use hush_controller::sealed::{
    keys::{KeyInfo, KeySet, KEY_LABEL},
    pipeline::{unseal_to_secret, UnsealPool},
};
use hush_crypto::sealing::{generate_sealing_key, scope_label, seal, Scope, SealingKeyMaterial};
use hush_tests::standins::{free_port, KubeStandin};
use k8s_openapi::{api::core::v1::Secret, ByteString};
use kube::{
    api::{ListParams, ObjectMeta, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
    Api, Client, Config,
};

const NAMESPACE: &str = "bench";

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// N SealedSecrets as the API would hold them (JSON), each with `values` values.
fn sealed_objects(
    material: &SealingKeyMaterial,
    count: usize,
    values: usize,
) -> Vec<serde_json::Value> {
    let public = material.private_key.public_key();
    (0..count)
        .map(|i| {
            let name = format!("app-{i:05}");
            let label = scope_label(Scope::Strict, NAMESPACE, &name);
            let encrypted: serde_json::Map<String, serde_json::Value> = (0..values)
                .map(|v| {
                    let plain = format!("value-{i}-{v}-0123456789abcdef0123456789abcdef");
                    let ct = seal(public, &label, plain.as_bytes()).expect("seal");
                    (format!("key{v}"), STANDARD.encode(ct).into())
                })
                .collect();
            serde_json::json!({
                "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
                "metadata": { "name": name, "namespace": NAMESPACE, "uid": format!("uid-{i}") },
                "spec": { "encryptedData": encrypted, "template": { "metadata": { "labels": { "app": name } } } }
            })
        })
        .collect()
}

fn key_set(material: &SealingKeyMaterial) -> KeySet {
    KeySet {
        private: vec![material.private_key.clone()],
        info: vec![KeyInfo {
            secret_name: "sealed-secrets-keybench".into(),
            fingerprint: material.private_key.fingerprint(),
            created: UNIX_EPOCH + Duration::from_secs(material.certificate.not_before),
            certificate_pem: material.tls_crt(),
        }],
    }
}

/// The RSA part and OAEP label of every value.
fn rsa_parts(objects: &[serde_json::Value]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut parts = Vec::new();
    for object in objects {
        let name = object["metadata"]["name"].as_str().unwrap();
        let label = scope_label(Scope::Strict, NAMESPACE, name);
        for encoded in object["spec"]["encryptedData"]
            .as_object()
            .unwrap()
            .values()
        {
            let ct = STANDARD.decode(encoded.as_str().unwrap()).unwrap();
            let len = usize::from(u16::from_be_bytes([ct[0], ct[1]]));
            parts.push((ct[2..2 + len].to_vec(), label.clone()));
        }
    }
    parts
}

/// CPU seconds (user + system) this process has used: on a shared machine the
/// wall clock also measures the neighbours, CPU time does not.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of the whole line (clock ticks, 100 Hz).
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    ticks / 100.0
}

/// (wall, CPU) seconds of `job`.
fn timed(job: impl FnOnce()) -> (f64, f64) {
    let (wall, cpu) = (Instant::now(), cpu_secs());
    job();
    (wall.elapsed().as_secs_f64(), cpu_secs() - cpu)
}

/// All bare RSA-OAEP decryptions, spread over `threads` threads.
fn floor_run(material: &SealingKeyMaterial, parts: &[(Vec<u8>, Vec<u8>)], threads: usize) {
    let der = material.private_key.to_pkcs8_der().unwrap();
    std::thread::scope(|scope| {
        for chunk in parts.chunks(parts.len().div_ceil(threads)) {
            let der = &der;
            scope.spawn(move || {
                // Its own copy of the key per thread: nothing shared between threads.
                let key = PrivateDecryptingKey::from_pkcs8(der).unwrap();
                let oaep = OaepPrivateDecryptingKey::new(key).unwrap();
                let mut out = vec![0u8; oaep.min_output_size()];
                for (ct, label) in chunk {
                    let plain = oaep
                        .decrypt(&OAEP_SHA256_MGF1SHA256, ct, &mut out, Some(label))
                        .expect("decrypt");
                    assert_eq!(plain.len(), 32);
                }
            });
        }
    });
}

/// The controller's pipeline over every object, on its own pool.
fn pipeline_run(keys: Arc<KeySet>, objects: &[serde_json::Value], values: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = UnsealPool::default();
        let tasks: Vec<_> = objects
            .iter()
            .cloned()
            .map(|object| {
                let pool = pool.clone();
                let keys = keys.clone();
                tokio::spawn(async move {
                    pool.run(move || unseal_to_secret(object, &keys, "uid"))
                        .await
                })
            })
            .collect();
        for task in tasks {
            let unsealed = task.await.unwrap().unwrap().expect("unseal");
            assert_eq!(unsealed.secret.data.as_ref().unwrap().len(), values);
        }
    });
}

async fn client_for(kube: &KubeStandin) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = Kubeconfig::read_from(&kube.kubeconfig).unwrap();
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

async fn preload(client: &Client, material: &SealingKeyMaterial, objects: &[serde_json::Value]) {
    let key = material.tls_key().unwrap();
    let key_secret = Secret {
        metadata: ObjectMeta {
            name: Some("sealed-secrets-keybench".into()),
            namespace: Some("kube-system".into()),
            labels: Some(BTreeMap::from([(
                KEY_LABEL.to_string(),
                "active".to_string(),
            )])),
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(BTreeMap::from([
            (
                "tls.crt".to_string(),
                ByteString(material.tls_crt().into_bytes()),
            ),
            ("tls.key".to_string(), ByteString(key.as_bytes().to_vec())),
        ])),
        ..Default::default()
    };
    Api::<Secret>::namespaced(client.clone(), "kube-system")
        .create(&PostParams::default(), &key_secret)
        .await
        .unwrap();
    let api: Api<hush_controller::crd::SealedSecret> = Api::namespaced(client.clone(), NAMESPACE);
    let batches: Vec<Vec<serde_json::Value>> = objects
        .chunks(objects.len().div_ceil(8))
        .map(<[_]>::to_vec)
        .collect();
    let tasks: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let api = api.clone();
            tokio::spawn(async move {
                for mut object in batch {
                    object["metadata"].as_object_mut().unwrap().remove("uid");
                    let ss = serde_json::from_value(object).unwrap();
                    api.create(&PostParams::default(), &ss).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

fn secret_writes(metrics_port: u16) -> Option<u64> {
    hush_tests::standins::http_status(metrics_port, "/healthz")?;
    let (_, text) = hush_tests::standins::http(metrics_port, "GET", "/metrics", None, &[]);
    text.lines()
        .find(|l| l.starts_with("hush_sealed_secret_writes_total "))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn end_to_end(material: &SealingKeyMaterial, objects: &[serde_json::Value], quiet: u64) {
    let kube = KubeStandin::start().expect("start Kubernetes API stand-in");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = runtime.block_on(client_for(&kube));
    let loading = Instant::now();
    runtime.block_on(preload(&client, material, objects));
    println!(
        "stand-in pre-loaded with {} SealedSecrets in {:.1} s",
        objects.len(),
        loading.elapsed().as_secs_f64()
    );

    let bin = std::env::var("HUSH_CONTROLLER_BIN").expect("HUSH_CONTROLLER_BIN");
    let metrics_port = free_port();
    let start = Instant::now();
    let mut controller = Command::new(bin)
        .args(["--metrics-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--listen-addr", &format!("127.0.0.1:{}", free_port())])
        .args([
            "--listen-metrics-addr",
            &format!("127.0.0.1:{metrics_port}"),
        ])
        .args(["--key-namespace", "kube-system", "--key-renew-period", "0"])
        .env("KUBECONFIG", &kube.kubeconfig)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start hush-controller");
    let pid = controller.id();
    let deadline = start + Duration::from_secs(3600);
    let converged = loop {
        if secret_writes(metrics_port).unwrap_or(0) >= objects.len() as u64 {
            break start.elapsed().as_secs_f64();
        }
        assert!(Instant::now() < deadline, "not converged within an hour");
        assert!(
            controller.try_wait().unwrap().is_none(),
            "controller exited"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let secrets = runtime
        .block_on(Api::<Secret>::namespaced(client.clone(), NAMESPACE).list(&ListParams::default()))
        .unwrap();
    assert_eq!(secrets.items.len(), objects.len(), "every Secret exists");
    // Settle (status patches and events of the last objects), then a quiet window.
    std::thread::sleep(Duration::from_secs(5));
    kube.clear_log();
    std::thread::sleep(Duration::from_secs(quiet));
    let log = kube.request_log();
    let writes = log.iter().filter(|r| r.is_write()).count();
    let peak = peak_rss_mib(pid);
    let _ = controller.kill();
    let _ = controller.wait();
    println!(
        "| end to end: controller cold start until all {} Secrets exist | {converged:.1} s |",
        objects.len()
    );
    println!("| controller peak RSS (VmHWM) | {peak:.1} MiB |");
    println!(
        "| API writes in a {quiet} s window after convergence ({} requests) | {writes} |",
        log.len()
    );
}

fn main() {
    let count = env_num("BENCH_SEALED", 2000);
    let values = env_num("BENCH_VALUES", 3);
    let bits = env_num("BENCH_KEY_BITS", 4096);
    let quiet = env_num("BENCH_QUIET_SECS", 20) as u64;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let material = generate_sealing_key(
        bits,
        "bench",
        SystemTime::now(),
        Duration::from_secs(3600 * 24 * 365),
    )
    .expect("generate key");
    let objects = sealed_objects(&material, count, values);
    let parts = rsa_parts(&objects);
    let keys = Arc::new(key_set(&material));
    println!("{count} SealedSecrets x {values} values, RSA-{bits}, {threads} cores");
    println!("| measurement | value |\n|---|---|");
    if std::env::var_os("BENCH_SKIP_PIPELINE").is_none() {
        // Alternate floor and pipeline twice, keep the best of each (least disturbed).
        let mut floor = Vec::new();
        let mut pipeline = Vec::new();
        for _ in 0..2 {
            floor.push(timed(|| floor_run(&material, &parts, threads)));
            pipeline.push(timed(|| pipeline_run(keys.clone(), &objects, values)));
        }
        let best = |runs: &[(f64, f64)]| {
            let wall = runs.iter().map(|r| r.0).fold(f64::MAX, f64::min);
            let cpu = runs.iter().map(|r| r.1).fold(f64::MAX, f64::min);
            (wall, cpu)
        };
        let (floor_wall, floor_cpu) = best(&floor);
        let (pipe_wall, pipe_cpu) = best(&pipeline);
        println!("| floor: {} bare RSA-OAEP-4096 decryptions, {threads} threads (wall / CPU, best of 2) | {floor_wall:.2} s / {floor_cpu:.2} s |", parts.len());
        println!("| controller pipeline (decrypt, render, build Secret; UnsealPool) (wall / CPU) | {pipe_wall:.2} s / {pipe_cpu:.2} s |");
        println!(
            "| pipeline / floor (wall; CPU) | {:.2}x; {:.2}x |",
            pipe_wall / floor_wall,
            pipe_cpu / floor_cpu
        );
        println!("| runs (wall s, CPU s): floor {floor:?}, pipeline {pipeline:?} | |");
    }
    if std::env::var_os("BENCH_SKIP_E2E").is_none() {
        let e2e = env_num("BENCH_E2E_SEALED", count).min(count);
        end_to_end(&material, &objects[..e2e], quiet);
    }
}
