#!/usr/bin/env bash
# hush's main job on a local age key, no cloud or cluster: build hush, make a
# throwaway age identity, encrypt a Kubernetes Secret the way sops would, show
# the committed form, and decrypt it again.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
# age only: no cloud SDKs or Kubernetes client needed for this (the default build has both).
cargo build --release -q -p hush-cli --no-default-features
hush="$here/target/release/hush"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$hush" keygen -o "$work/key.txt" 2> "$work/pub"
recipient="$(sed -n 's/^Public key: //p' "$work/pub")"
echo "== age identity in $work/key.txt (mode $(stat -c %a "$work/key.txt")), recipient $recipient"

echo "== encrypting examples/secrets/database.yaml (what you would commit):"
"$hush" encrypt --age "$recipient" examples/secrets/database.yaml > "$work/database.enc.yaml"
cat "$work/database.enc.yaml"

echo "== decrypting it again with SOPS_AGE_KEY_FILE:"
SOPS_AGE_KEY_FILE="$work/key.txt" "$hush" decrypt "$work/database.enc.yaml"

echo "== one value, as scripts read it:"
SOPS_AGE_KEY_FILE="$work/key.txt" "$hush" decrypt --extract '["stringData"]["username"]' "$work/database.enc.yaml"
echo
