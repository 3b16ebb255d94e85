#!/usr/bin/env bash
# GitOps pull benchmark (issue 6): a Git repository with N SOPS-encrypted Secret
# manifests (age). Measures the time from a new commit to every changed Secret
# applied by `hush agent --once --target dir:` (CHANGED files changed per commit, and
# all N), against decrypting the same N files with `hush decrypt` (one process per
# file, and as fast as possible with xargs -P), and checks from the JSON report that
# a cycle with no new commit does one ref lookup and no decryption.
#
# Usage: benches/gitops/run.sh [path/to/hush]   (N=1000 CHANGED=100 RUNS=5 by default)
# Needs: git, hyperfine, the sops vectors (VECTORS, default /work/shared/vectors/sops).
set -euo pipefail
HUSH="${1:-target/release/hush}"
HUSH="$(cd "$(dirname "$HUSH")" && pwd)/$(basename "$HUSH")"
N="${N:-1000}"
CHANGED="${CHANGED:-100}"
RUNS="${RUNS:-5}"
VECTORS="${VECTORS:-/work/shared/vectors/sops}"
export SOPS_AGE_KEY_FILE="$VECTORS/age/identity.txt"
RECIPIENT="$(cat "$VECTORS/age/recipient.txt")"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
g() { git -C "$WORK/repo" -c user.name=bench -c user.email=bench@example.invalid "$@"; }

# Two encrypted versions of every Secret; commits alternate between them.
for v in 1 2; do
    mkdir -p "$WORK/v$v"
    for i in $(seq 0 $((N - 1))); do
        printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s%d\n  namespace: bench\nstringData:\n  user: user-%d\n  password: pw-%d-v%d\n' \
            "$i" "$i" "$i" "$v" > "$WORK/plain.yaml"
        "$HUSH" encrypt --age "$RECIPIENT" "$WORK/plain.yaml" > "$WORK/v$v/s$i.yaml" 2>/dev/null
    done
done
mkdir -p "$WORK/repo/secrets"
git init -q -b main "$WORK/repo"
cp "$WORK"/v1/*.yaml "$WORK/repo/secrets/"
g add -A && g commit -q -m v1

agent() { "$HUSH" agent --once --output json --repo "$WORK/repo" --path secrets --target "dir:$WORK/out" --cache-dir "$WORK/cache"; }
agent > "$WORK/first.json"
echo "initial apply: $(cat "$WORK/first.json")"

# new_commit K: a commit changing files 0..K-1 to the other version.
cat > "$WORK/new_commit.sh" <<SH
#!/usr/bin/env bash
set -e
k=\$1; cur=\$(cat "$WORK/cur" 2>/dev/null || echo 1); next=\$((3 - cur)); echo \$next > "$WORK/cur"
for i in \$(seq 0 \$((k - 1))); do cp "$WORK/v\$next/s\$i.yaml" "$WORK/repo/secrets/s\$i.yaml"; done
git -C "$WORK/repo" -c user.name=b -c user.email=b@example.invalid commit -qam "flip \$k"
SH
chmod +x "$WORK/new_commit.sh"
echo 1 > "$WORK/cur"

hyperfine --runs "$RUNS" --export-json "$WORK/hyperfine.json" \
    -n "agent: commit changing $CHANGED of $N -> applied" --prepare "$WORK/new_commit.sh $CHANGED" \
    "$HUSH agent --once --output json --repo $WORK/repo --path secrets --target dir:$WORK/out --cache-dir $WORK/cache" \
    -n "agent: commit changing all $N -> applied" --prepare "$WORK/new_commit.sh $N" \
    "$HUSH agent --once --output json --repo $WORK/repo --path secrets --target dir:$WORK/out --cache-dir $WORK/cache" \
    -n "agent: no new commit (idle cycle)" --prepare true \
    "$HUSH agent --once --output json --repo $WORK/repo --path secrets --target dir:$WORK/out --cache-dir $WORK/cache" \
    -n "hush decrypt, one process per file ($N)" --prepare true \
    "for f in $WORK/v1/*.yaml; do $HUSH decrypt \$f > /dev/null; done" \
    -n "hush decrypt, xargs -P $(nproc) ($N)" --prepare true \
    "ls $WORK/v1/*.yaml | xargs -P $(nproc) -n 1 $HUSH decrypt > /dev/null"

"$WORK/new_commit.sh" "$CHANGED"
echo "changed cycle: $(agent)"
echo "idle cycle:    $(agent)"
echo "files in target: $(find "$WORK/out" -type f ! -name '.hush-agent-state.json' | wc -l)"
cp "$WORK/hyperfine.json" "${OUT:-benches/gitops/last-hyperfine.json}"
