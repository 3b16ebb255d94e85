#!/usr/bin/env bash
# Decrypts N sops files (default 500) that share one AWS KMS key, one `hush decrypt`
# process per file, against moto_server behind a counting proxy; then the same
# files encrypted to an age key. Prints KMS calls counted on the server and both
# wall times.
#
#   HUSH_VENV=/path/to/venv benches/kms/bench.sh [N] [path/to/hush]
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
n="${1:-500}"
hush="${2:-$here/target/debug/hush}"
venv="${HUSH_VENV:-$here/.venv}"
py="$venv/bin/python"
vectors="${HUSH_VECTORS_DIR:-$here/../shared/vectors}/sops"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# shellcheck source=../lib/moto.sh
. "$here/benches/lib/moto.sh"
age_recipient="$(cat "$vectors/age/recipient.txt")"

mkdir -p "$work/kms" "$work/age"
"$py" "$here/benches/gen_yaml.py" 20 > "$work/plain.yaml"
for i in $(seq -w 1 "$n"); do
  "$hush" encrypt --kms "$arn" "$work/plain.yaml" > "$work/kms/f$i.yaml"
  "$hush" encrypt --age "$age_recipient" "$work/plain.yaml" > "$work/age/f$i.yaml"
done
curl -sf -X POST "$AWS_ENDPOINT_URL/__reset" >/dev/null

run_all() { # dir, extra env
  local start end
  start=$(date +%s.%N)
  for f in "$1"/*.yaml; do "$hush" decrypt "$f" >/dev/null; done
  end=$(date +%s.%N)
  "$py" -c "print(f'{$end-$start:.2f}')"
}
kms_time="$(run_all "$work/kms")"
counts="$(curl -sf "$AWS_ENDPOINT_URL/__counts")"
age_time="$(SOPS_AGE_KEY_FILE="$vectors/age/identity.txt" run_all "$work/age")"
decrypts="$("$py" -c "import json; print(json.loads('$counts').get('TrentService.Decrypt', 0))")"
echo "files=$n distinct_data_keys=$n kms_decrypt_calls=$decrypts all_calls=$counts"
echo "kms_wall_s=$kms_time age_wall_s=$age_time ratio=$("$py" -c "print(f'{$kms_time/$age_time:.2f}')")"
