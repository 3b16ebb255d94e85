#!/usr/bin/env bash
# Benchmark hush-controller: N SecretSyncs against one OpenBao store (real OpenBao dev
# server) on the Kubernetes API stand-in. Prints a markdown table (see controller/RESULTS.md).
#   BENCH_SYNCS=500 BENCH_DISTINCT=500 BENCH_INTERVAL_SECS=20 BENCH_INTERVALS=3 scripts/bench_sync.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p hush-controller --bin hush-controller --example bench_sync
HUSH_CONTROLLER_BIN="$PWD/target/release/hush-controller" ./target/release/examples/bench_sync
