#!/usr/bin/env bash
# GitOps pull in the cluster (issue 6): a SecretRepository with N SOPS-encrypted Secret
# manifests, applied by hush-controller's SecretRepository controller (in-process, on
# the Kubernetes API stand-in), side by side with `hush decrypt` on the same N files.
#
#   benches/gitops/controller.sh            # N=1000 (BENCH_FILES), release build
#   BENCH_PROFILE=dev benches/gitops/controller.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${BENCH_FILES:-1000}"
PROFILE="${BENCH_PROFILE:-release}"
export HUSH_VENV="${HUSH_VENV:-$PWD/.venv}" PATH="${HUSH_VENV}/bin:$PATH"
flag=(--release); dir=release
if [ "$PROFILE" = dev ]; then flag=(); dir=debug; fi

cargo build -q "${flag[@]}" -p hush-cli --bin hush
cargo build -q "${flag[@]}" -p hush-controller --example bench_gitrepo
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
echo "== controller ($PROFILE build, $N files, Kubernetes API stand-in)"
BENCH_DIR="$work" BENCH_FILES="$N" "target/$dir/examples/bench_gitrepo"

echo "== hush decrypt alone on the same $N files (age identity from SOPS_AGE_KEY_FILE)"
export SOPS_AGE_KEY_FILE="$work/key.txt"
start=$(date +%s%N)
for f in "$work"/repo/secrets/*.yaml; do
  "target/$dir/hush" decrypt "$f" > /dev/null
done
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))
printf 'hush decrypt, %s files one process each: %d.%02d s\n' "$N" $((ms / 1000)) $((ms % 1000 / 10))
