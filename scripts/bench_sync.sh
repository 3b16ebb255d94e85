#!/usr/bin/env bash
# Benchmark hush-controller: N SecretSyncs against one OpenBao store (real OpenBao dev
# server) on the Kubernetes API stand-in. Prints a markdown table (see controller/RESULTS.md).
#   BENCH_PROFILE=--profile=dev BENCH_SYNCS=500 BENCH_DISTINCT=500 BENCH_INTERVAL_SECS=60 BENCH_INTERVALS=2 scripts/bench_sync.sh
# Also prints controller vs stand-in CPU and the API requests served (the stand-in counts them).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build ${BENCH_PROFILE:---release} -p hush-controller ${BENCH_FEATURES:-} --bin hush-controller --example bench_sync
DIR=target/release; [ "${BENCH_PROFILE:-}" = "--profile=dev" ] && DIR=target/debug
HUSH_CONTROLLER_BIN="$PWD/$DIR/hush-controller" "./$DIR/examples/bench_sync"
