#!/usr/bin/env bash
# hush's main job on a local age key, no cloud or cluster: build hush, make a
# throwaway age identity, encrypt a Kubernetes Secret the way sops would, show
# the committed form, decrypt it again, then let `hush agent` pull it from a local
# Git repository into 0600 files, as it would on a host without a cluster.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
# age and Git only: no cloud SDKs or Kubernetes client needed for this (the default build has both).
cargo build --release -q -p hush-cli --no-default-features --features gitops
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

echo "== GitOps pull without a cluster: commit it to a local repository, hush agent applies it once:"
git init -q -b main "$work/repo"
cp "$work/database.enc.yaml" "$work/repo/database.yaml"
git -C "$work/repo" add database.yaml
git -C "$work/repo" -c user.name=quickstart -c user.email=quickstart@localhost commit -q -m "encrypted database Secret"
SOPS_AGE_KEY_FILE="$work/key.txt" "$hush" agent --once --repo "$work/repo" --path . --target "dir:$work/out" --cache-dir "$work/cache"
(cd "$work/out" && find . -type f ! -name '.hush-agent-state.json' -printf '%m %p\n' | sort)
