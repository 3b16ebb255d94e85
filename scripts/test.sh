#!/usr/bin/env bash
# The whole test suite: installs test dependencies, then runs every test of the workspace.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
"$here/scripts/setup-test-deps.sh"
export HUSH_VENV="${HUSH_VENV:-$here/.venv}"
export PATH="$HUSH_VENV/bin:$PATH"
cargo test --workspace --all-features "$@"
