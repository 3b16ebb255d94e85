#!/usr/bin/env bash
# The whole test suite: installs test dependencies, then runs every test of the workspace.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
"$here/scripts/setup-test-deps.sh"
export HUSH_VENV="${HUSH_VENV:-$here/.venv}"
export PATH="$HUSH_VENV/bin:$PATH"
# Where tests find the interop peers and stand-ins installed above.
export HUSH_PYTHON="$HUSH_VENV/bin/python3"
export HUSH_TEST_PYTHON="$HUSH_VENV/bin/python3"
export HUSH_TEST_PRECOMMIT="$HUSH_VENV/bin/pre-commit"
export HUSH_NODE_INTEROP="${HUSH_NODE_INTEROP:-$here/.node-interop}"
cargo test --workspace --all-features "$@"
