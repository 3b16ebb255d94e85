//! Benchmark: N SecretSyncs against one OpenBao store, with the controller binary
//! running against the Kubernetes API stand-in. Run through `scripts/bench_sync.sh`.
//!
//! Reports: time to first full sync, provider calls per refresh interval in steady
//! state (vs. the number of distinct remote secrets), and the controller's peak RSS.
//! Settings (env): BENCH_SYNCS (500), BENCH_DISTINCT (500), BENCH_INTERVAL_SECS (20),
//! BENCH_INTERVALS (3), HUSH_CONTROLLER_BIN (path of the release binary).

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use hush_tests::standins::{free_port, KubeStandin, OpenBao};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    api::{ListParams, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
    Api, Client, Config,
};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Minimal HTTP/1.0 request to 127.0.0.1:port; returns the body.
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

fn provider_calls(metrics_port: u16) -> u64 {
    let text = http(metrics_port, "GET", "/metrics", &[], "");
    text.lines()
        .filter(|l| l.starts_with("hush_provider_calls_total{") && l.contains("provider=\"vault\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at ") ".
    let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of /proc/PID/stat (11 and 12 after the name).
    (ticks(11) + ticks(12)) / 100.0
}

/// The pid of the process listening as the Kubernetes API stand-in on `port`.
fn standin_pid(port: u16) -> Option<u32> {
    let needle = port.to_string();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
        let is_shim = args.iter().any(|a| a.ends_with(b"kmock_server.py"));
        let on_port = args.contains(&needle.as_bytes());
        (is_shim && on_port).then_some(pid)
    })
}

/// Requests the stand-in served so far, by action and resource.
fn standin_requests(port: u16) -> std::collections::BTreeMap<String, u64> {
    serde_json::from_str(&http(port, "GET", "/_standin/stats", &[], "")).unwrap_or_default()
}

fn request_delta(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
) -> String {
    after
        .iter()
        .filter_map(|(k, v)| {
            let d = v - before.get(k).copied().unwrap_or(0);
            (d > 0).then(|| format!("{k}: {d}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn peak_rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[tokio::main]
async fn main() {
    let syncs = env_num("BENCH_SYNCS", 500);
    let distinct = env_num("BENCH_DISTINCT", 500).clamp(1, syncs);
    let interval = env_num("BENCH_INTERVAL_SECS", 20);
    let intervals = env_num("BENCH_INTERVALS", 3);
    let bin = std::env::var("HUSH_CONTROLLER_BIN")
        .unwrap_or_else(|_| "target/release/hush-controller".into());

    let _ = rustls::crypto::ring::default_provider().install_default();
    let bao = OpenBao::start().expect("start OpenBao");
    let kube = KubeStandin::start().expect("start Kubernetes API stand-in");
    let kc = Kubeconfig::read_from(&kube.kubeconfig).unwrap();
    let client = Client::try_from(
        Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .unwrap(),
    )
    .unwrap();

    for i in 0..distinct {
        http(
            bao.process.port,
            "POST",
            &format!("/v1/secret/data/bench/s{i}"),
            &[
                ("X-Vault-Token", "root"),
                ("Content-Type", "application/json"),
            ],
            &format!(r#"{{"data":{{"v":"value-{i}"}}}}"#),
        );
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let token: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "bao-token", "namespace": "default" },
        "stringData": {}, "data": { "token": "cm9vdA==" }
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &token)
        .await
        .unwrap();
    let stores: Api<hush_controller::crd::SecretStore> = Api::namespaced(client.clone(), "default");
    let store = serde_json::from_value(serde_json::json!({
        "apiVersion": "hush.dev/v1alpha1", "kind": "SecretStore",
        "metadata": { "name": "bao", "namespace": "default" },
        "spec": { "provider": { "vault": { "server": bao.address, "path": "secret", "version": "v2",
            "auth": { "tokenSecretRef": { "name": "bao-token", "key": "token" } } } } }
    }))
    .unwrap();
    stores.create(&PostParams::default(), &store).await.unwrap();
    let sync_api: Api<hush_controller::crd::SecretSync> =
        Api::namespaced(client.clone(), "default");
    for i in 0..syncs {
        let obj = serde_json::from_value(serde_json::json!({
            "apiVersion": "hush.dev/v1alpha1", "kind": "SecretSync",
            "metadata": { "name": format!("sync-{i}"), "namespace": "default" },
            "spec": { "storeRef": { "name": "bao" }, "refreshInterval": format!("{interval}s"),
                      "data": [ { "secretKey": "v", "remoteRef": { "key": format!("bench/s{}", i % distinct), "property": "v" } } ] }
        }))
        .unwrap();
        sync_api.create(&PostParams::default(), &obj).await.unwrap();
    }

    let kube_port = kube.process.port;
    let kube_pid = standin_pid(kube_port).expect("find the stand-in's pid");
    let setup_requests = standin_requests(kube_port);
    let kube_cpu0 = cpu_secs(kube_pid);
    let metrics_port = free_port();
    let started = Instant::now();
    let mut controller = Command::new(&bin)
        .args([
            "--metrics-addr",
            &format!("127.0.0.1:{metrics_port}"),
            "--log-format",
            "json",
        ])
        .env("KUBECONFIG", &kube.kubeconfig)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {bin}: {e}"));
    let pid = controller.id();

    let count_synced = || async {
        secrets
            .list(&ListParams::default())
            .await
            .map(|l| {
                l.items
                    .iter()
                    .filter(|s| {
                        s.metadata
                            .annotations
                            .as_ref()
                            .is_some_and(|a| a.contains_key("hush.dev/secret-sync"))
                    })
                    .count() as u64
            })
            .unwrap_or(0)
    };
    // Listing 500 Secrets costs the Python stand-in about a CPU-second, so progress is
    // read from its request counter (one server-side apply per new Secret; unchanged
    // Secrets are never rewritten) and confirmed by a single list at the end.
    let writes =
        |r: &std::collections::BTreeMap<String, u64>| r.get("update secrets").copied().unwrap_or(0);
    let first_full = loop {
        if writes(&standin_requests(kube_port)) >= syncs {
            let at = started.elapsed();
            if count_synced().await >= syncs {
                break at;
            }
        }
        if started.elapsed() > Duration::from_secs(1200) {
            panic!("first full sync did not finish in 20 minutes");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let calls_first = provider_calls(metrics_port);
    let first_requests = standin_requests(kube_port);
    let (kube_cpu1, ctl_cpu1) = (cpu_secs(kube_pid), cpu_secs(pid));

    // Measure whole slots, starting mid-slot so the aligned refresh bursts fall inside.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let into_slot = now % interval as f64;
    let to_mid = (interval as f64 * 1.5 - into_slot) % interval as f64;
    tokio::time::sleep(Duration::from_secs_f64(to_mid + interval as f64)).await;
    let c0 = provider_calls(metrics_port);
    let steady_requests0 = standin_requests(kube_port);
    let (kube_cpu2, ctl_cpu2) = (cpu_secs(kube_pid), cpu_secs(pid));
    tokio::time::sleep(Duration::from_secs(interval * intervals)).await;
    let c1 = provider_calls(metrics_port);
    let steady_requests1 = standin_requests(kube_port);
    let (kube_cpu3, ctl_cpu3) = (cpu_secs(kube_pid), cpu_secs(pid));
    let (hwm, rss) = peak_rss_kib(pid);
    let _ = controller.kill();
    let _ = controller.wait();

    let per_interval = (c1 - c0) as f64 / intervals as f64;
    println!("| metric | value |");
    println!("|---|---|");
    println!("| SecretSyncs / distinct remote secrets | {syncs} / {distinct} |");
    println!("| refresh interval | {interval}s |");
    println!(
        "| time to first full sync | {:.2} s |",
        first_full.as_secs_f64()
    );
    println!("| provider calls during first sync | {calls_first} |");
    println!(
        "| steady-state provider calls per interval (mean of {intervals}) | {per_interval:.1} |"
    );
    println!(
        "| controller peak RSS (VmHWM) | {:.1} MiB |",
        hwm as f64 / 1024.0
    );
    println!("| controller RSS at end | {:.1} MiB |", rss as f64 / 1024.0);
    println!(
        "| CPU during first sync: controller / API stand-in | {:.1} s / {:.1} s |",
        ctl_cpu1,
        kube_cpu1 - kube_cpu0
    );
    println!(
        "| CPU in steady state ({intervals} intervals): controller / API stand-in | {:.1} s / {:.1} s |",
        ctl_cpu3 - ctl_cpu2,
        kube_cpu3 - kube_cpu2
    );
    println!(
        "| API requests during first sync (incl. the benchmark's one confirming list) | {} |",
        request_delta(&setup_requests, &first_requests)
    );
    println!(
        "| API requests in steady state ({intervals} intervals) | {} |",
        request_delta(&steady_requests0, &steady_requests1)
    );
}
