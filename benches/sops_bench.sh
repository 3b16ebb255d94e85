#!/usr/bin/env bash
# Issue 2 benchmark: encrypt + decrypt of generated YAML with 1k, 10k and 100k
# leaf values, side by side in one run with the Rust `rops` CLI and with a floor
# (the same files parsed and emitted by hush's YAML store, no cryptography).
# Needs: hyperfine, rops (cargo install rops-cli). Prints a Markdown table.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
# The age-only build: the benchmark needs neither cloud SDKs nor the Kubernetes client.
cargo build --release -q -p hush-cli --no-default-features
cargo build --release -q -p hush-crypto --example yaml_floor
hush="$here/target/release/hush"
floor="$here/target/release/examples/yaml_floor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
. "$here/benches/lib/age_peer.sh"

runs="${RUNS:-5}"
printf '| leaf values | hush enc+dec (s) | rops enc+dec (s) | floor parse+emit ×2 (s) | hush vs rops | hush vs floor | CPU hush / rops / floor (s) |\n'
printf '|---|---|---|---|---|---|---|\n'
for n in 1000 10000 100000; do
  python3 "$here/benches/gen_yaml.py" "$n" > "$work/in-$n.yaml"
  "$hush" encrypt --age "$recipient" "$work/in-$n.yaml" > "$work/enc-$n.yaml"
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/h-$n.json" \
    -n hush "sh -c '$hush encrypt --age $recipient $work/in-$n.yaml > $work/o1-$n.yaml && $hush decrypt $work/o1-$n.yaml > /dev/null'" \
    -n rops "sh -c '$rops encrypt --age $recipient -f yaml < $work/in-$n.yaml > $work/r-$n.yaml && $rops decrypt -f yaml < $work/r-$n.yaml > /dev/null'" \
    -n floor "sh -c '$floor $work/in-$n.yaml > /dev/null && $floor $work/enc-$n.yaml > /dev/null'" \
    > /dev/null 2>&1 || { echo "hyperfine failed for n=$n"; cat "$work/h-$n.json" 2>/dev/null; exit 1; }
  python3 - "$work/h-$n.json" "$n" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
r = {x["command"]: x["mean"] for x in results}
# User + system time: what the work costs, whatever else the machine is running.
cpu = {x["command"]: x["user"] + x["system"] for x in results}
h, ro, f = r["hush"], r["rops"], r["floor"]
print(f"| {int(sys.argv[2]):,} | {h:.3f} | {ro:.3f} | {f:.3f} | {ro/h:.1f}× faster | {h/f:.2f}× "
      f"| {cpu['hush']:.3f} / {cpu['rops']:.3f} / {cpu['floor']:.3f} |")
PY
done
