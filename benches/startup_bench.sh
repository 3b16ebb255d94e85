#!/usr/bin/env bash
# Where the time of a small file goes (issue 2, the 1k row): one process start of
# `hush`, side by side with rops, the no-crypto floor and /bin/true, and the 1k
# encrypt + decrypt pair with hush linked three ways: the default (dynamic, PIE),
# static-pie, and static non-PIE (no run-time relocations at all). Only the first is
# what hush ships; the other two show how much of the time is the dynamic loader.
# Needs: hyperfine, perf (for page-fault counts), rops. Builds into target/startup-bench.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
triple="$(rustc -vV | sed -n 's/^host: //p')"
out="$here/target/startup-bench"
mkdir -p "$out"

build() { # name rustflags
  local dir="$here/target/startup-bench/$1"
  RUSTFLAGS="$2" CARGO_TARGET_DIR="$dir" cargo build --release -q -p hush-cli \
    --no-default-features --target "$triple"
  cp "$dir/$triple/release/hush" "$out/hush-$1"
}
cargo build --release -q -p hush-cli --no-default-features
cargo build --release -q -p hush-crypto --example yaml_floor
cp "$here/target/release/hush" "$out/hush-pie"
if [ -z "${SKIP_LINK_VARIANTS:-}" ]; then
  build static-pie "-C target-feature=+crt-static"
  build static "-C target-feature=+crt-static -C relocation-model=static"
fi
floor="$here/target/release/examples/yaml_floor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
hush="$out/hush-pie"
. "$here/benches/lib/age_peer.sh"
python3 "$here/benches/gen_yaml.py" 1000 > "$work/in.yaml"
"$hush" encrypt --age "$recipient" "$work/in.yaml" > "$work/enc.yaml"
# One value: what a pair costs before there is any work.
echo 'key: value' > "$work/one.yaml"
runs="${RUNS:-40}"

echo "## One process (no work): start-up and exit"
echo
echo '| command | mean (ms) | page faults |'
echo '|---|---|---|'
faults() {
  command -v perf > /dev/null || { echo n/a; return; }
  perf stat -x, -e page-faults -r 20 "$@" 2>&1 >/dev/null | awk -F, '/page-faults/ {print $1}'
}
one() { # command...
  hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/one.json" "$*" > /dev/null 2>&1
  local mean
  mean="$(python3 -c "import json, sys; r = json.load(open(sys.argv[1]))['results'][0]; print('%.2f' % (r['mean'] * 1000))" "$work/one.json")"
  echo "| \`${*//$here\//}\` | $mean | $(faults "$@") |"
}
one /bin/true
one "$floor" /dev/null
one "$rops" --help
for v in pie static-pie static; do
  [ -x "$out/hush-$v" ] && one "$out/hush-$v" --version
done

echo
echo "## 1,000 values: encrypt + decrypt (as benches/sops_bench.sh runs them)"
echo
pair() { # hush name [input]
  echo "sh -c '$1 encrypt --age $recipient ${3:-$work/in.yaml} > $work/o-$2.yaml && $1 decrypt $work/o-$2.yaml > /dev/null'"
}
args=(-n "hush (shipped: dynamic, PIE)" "$(pair "$out/hush-pie" pie)")
for v in static-pie static; do
  [ -x "$out/hush-$v" ] && args+=(-n "hush $v" "$(pair "$out/hush-$v" "$v")")
done
args+=(-n rops "sh -c '$rops encrypt --age $recipient -f yaml < $work/in.yaml > $work/r.yaml && $rops decrypt -f yaml < $work/r.yaml > /dev/null'")
args+=(-n floor "sh -c '$floor $work/in.yaml > /dev/null && $floor $work/enc.yaml > /dev/null'")
args+=(-n "hush (shipped), 1 value" "$(pair "$out/hush-pie" one "$work/one.yaml")")
args+=(-n "rops, 1 value" "sh -c '$rops encrypt --age $recipient -f yaml < $work/one.yaml > $work/r1.yaml && $rops decrypt -f yaml < $work/r1.yaml > /dev/null'")
args+=(-n "sh -c true" "sh -c true")
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/pair.json" "${args[@]}" > /dev/null 2>&1
python3 - "$work/pair.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
rops = next(r["mean"] for r in results if r["command"] == "rops")
print("| command | mean (ms) | rops / this |")
print("|---|---|---|")
for r in results:
    print(f"| {r['command']} | {r['mean']*1000:.2f} | {rops/r['mean']:.2f}× |")
print()
print(f"3× faster than rops (1,000 values) means at most {rops/3*1000:.2f} ms for the pair.")
PY
