#!/usr/bin/env bash
# Benchmark the Sealed Secrets controller: N SealedSecrets (RSA-4096, 3 values each)
# unsealed from a cold start. Prints a markdown table (see BENCHMARKS.md, Sealed Secrets):
#   - the controller's unseal pipeline vs the floor (the same bare RSA-OAEP
#     decryptions timed alone, same run, same number of threads);
#   - end to end: hush-controller started cold against the Kubernetes API stand-in
#     pre-loaded with N SealedSecrets, until all N Secrets exist; peak RSS; API writes
#     in a quiet window after convergence.
#   BENCH_SEALED=2000 BENCH_QUIET_SECS=20 BENCH_PROFILE=--profile=dev scripts/bench_sealed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${HUSH_VENV:-}" ] && [ -d .venv ]; then export HUSH_VENV="$PWD/.venv"; fi
cargo build ${BENCH_PROFILE:---release} -p hush-controller ${BENCH_FEATURES:-} --bin hush-controller --example bench_sealed
DIR=target/release; [ "${BENCH_PROFILE:-}" = "--profile=dev" ] && DIR=target/debug
HUSH_CONTROLLER_BIN="$PWD/$DIR/hush-controller" "./$DIR/examples/bench_sealed"
