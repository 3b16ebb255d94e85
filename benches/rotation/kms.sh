#!/usr/bin/env bash
# Benchmark: `hush rotate --all` over N files encrypted to one AWS KMS key (moto_server
# behind benches/kms/counting_proxy.py), against one `hush rotate -i` process per file,
# side by side in one hyperfine run. Also counts the KMS calls `rotate --all` makes.
#
#   HUSH_VENV=/path/to/venv benches/rotation/kms.sh [path/to/hush] [N]
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
hush="${1:-$here/target/debug/hush}"
hush="$(cd "$(dirname "$hush")" && pwd)/$(basename "$hush")"
n="${2:-1000}"
venv="${HUSH_VENV:-$here/.venv}"
py="$venv/bin/python"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# shellcheck source=../lib/moto.sh
. "$here/benches/lib/moto.sh"

# N distinct files, each with its own data key (so no file's key is served from a cache).
mkdir -p "$work/pristine"
for i in $(seq 1 "$n"); do
  printf 'password: secret-%d\napi:\n    token: tok-%d\n    retries: 3\n' "$i" "$i" > "$work/plain.yaml"
  "$hush" encrypt --kms "$arn" "$work/plain.yaml" > "$work/pristine/f$i.yaml"
done
echo "generated $n files encrypted to $arn"

counts() { curl -sf "$AWS_ENDPOINT_URL/__counts"; }
calls() { "$py" -c "import json,sys; c=json.loads(sys.argv[1]); print(c.get('TrentService.$2', 0))" "$1" "$2"; }

# One counted run of each variant.
for variant in all each; do
  rm -rf "$work/tree" && cp -r "$work/pristine" "$work/tree"
  curl -sf -X POST "$AWS_ENDPOINT_URL/__reset" >/dev/null
  start=$(date +%s.%N)
  if [ "$variant" = all ]; then
    "$hush" rotate --all "$work/tree" >/dev/null
  else
    for f in "$work"/tree/*.yaml; do "$hush" rotate -i "$f"; done
  fi
  end=$(date +%s.%N)
  c="$(counts)"
  dec="$(calls "$c" Decrypt)"; enc="$(calls "$c" Encrypt)"
  echo "variant=$variant files=$n wall_s=$("$py" -c "print(f'{$end-$start:.2f}')") kms_decrypt=$dec kms_encrypt=$enc per_file=$("$py" -c "print(f'{($dec+$enc)/$n:.2f}')") all_calls=$c"
  # every file still decrypts to its own values
  grep -q 'ENC\[AES256_GCM' "$work/tree/f1.yaml"
  "$hush" decrypt "$work/tree/f$n.yaml" | grep -q "secret-$n"
done

reset='rm -rf '"$work"'/tree && cp -r '"$work"'/pristine '"$work"'/tree'
hyperfine --warmup 1 --runs "${RUNS:-3}" --export-json "$work/hyperfine.json" \
    --prepare "$reset" \
    -n "rotate --all (AWS KMS)" "'$hush' rotate --all '$work/tree'" \
    -n "rotate -i per file (AWS KMS)" "for f in '$work'/tree/*.yaml; do '$hush' rotate -i \"\$f\"; done"
cp "$work/hyperfine.json" "${OUT:-$here/benches/rotation/last-hyperfine-kms.json}"
