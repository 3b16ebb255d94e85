#!/bin/sh
# Benchmark: `hush rotate --all` over N age-encrypted files against rotating the
# same files one at a time with separate `hush rotate -i` processes.
# Usage: benches/rotation/run.sh [path/to/hush] [N]
set -eu
HUSH="${1:-target/release/hush}"
N="${2:-1000}"
HUSH="$(cd "$(dirname "$HUSH")" && pwd)/$(basename "$HUSH")"
VECTORS="${VECTORS:-/work/shared/vectors/sops}"
export SOPS_AGE_KEY_FILE="$VECTORS/age/identity.txt"
RECIPIENT="$(cat "$VECTORS/age/recipient.txt")"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$WORK/pristine"
i=0
while [ "$i" -lt "$N" ]; do
    printf 'password: secret-%d\napi:\n    token: tok-%d\n    retries: 3\n' "$i" "$i" > "$WORK/plain.yaml"
    "$HUSH" encrypt --age "$RECIPIENT" "$WORK/plain.yaml" > "$WORK/pristine/f$i.yaml"
    i=$((i + 1))
done
echo "generated $N files in $WORK/pristine"

reset='rm -rf '"$WORK"'/tree && cp -r '"$WORK"'/pristine '"$WORK"'/tree'
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "$WORK/hyperfine.json" \
    --prepare "$reset" \
    -n "rotate --all" "'$HUSH' rotate --all '$WORK/tree'" \
    -n "rotate -i per file" "for f in '$WORK'/tree/*.yaml; do '$HUSH' rotate -i \"\$f\"; done"
cp "$WORK/hyperfine.json" "${OUT:-benches/rotation/last-hyperfine.json}"
