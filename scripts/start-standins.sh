#!/usr/bin/env bash
# Start the stand-ins on fixed local ports for manual runs (tests start their own):
#   Kubernetes API stand-in (kmock + shim) :18001, OpenBao dev :18200 (token "root"),
#   moto (AWS) :18500. Writes a kubeconfig and PID files under $STANDIN_DIR.
# Stop with: kill $(cat "$STANDIN_DIR"/*.pid)
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${HUSH_VENV:-/work/venv}"
MOTO_VENV="${HUSH_MOTO_VENV:-/work/venv-moto}"
STANDIN_DIR="${STANDIN_DIR:-/tmp/hush-standins}"
mkdir -p "$STANDIN_DIR"

"$VENV/bin/python3" "$HERE/tests/support/kmock_server.py" 18001 >"$STANDIN_DIR/kmock.log" 2>&1 &
echo $! >"$STANDIN_DIR/kmock.pid"
HOME="$STANDIN_DIR" "$VENV/bin/bao" server -dev -dev-root-token-id=root \
  -dev-listen-address=127.0.0.1:18200 >"$STANDIN_DIR/openbao.log" 2>&1 &
echo $! >"$STANDIN_DIR/openbao.pid"
"$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p 18500 >"$STANDIN_DIR/moto.log" 2>&1 &
echo $! >"$STANDIN_DIR/moto.pid"

cat >"$STANDIN_DIR/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: standin, cluster: {server: "http://127.0.0.1:18001"}}]
users: [{name: standin, user: {}}]
contexts: [{name: standin, context: {cluster: standin, user: standin, namespace: default}}]
current-context: standin
KC

for url in http://127.0.0.1:18001/api/v1/namespaces/default/secrets http://127.0.0.1:18200/v1/sys/health http://127.0.0.1:18500/moto-api/; do
  for _ in $(seq 1 100); do curl -fs "$url" >/dev/null 2>&1 && break; sleep 0.2; done
done
echo "stand-ins up; KUBECONFIG=$STANDIN_DIR/kubeconfig BAO_ADDR=http://127.0.0.1:18200 BAO_TOKEN=root AWS endpoint http://127.0.0.1:18500"
