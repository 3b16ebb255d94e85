#!/usr/bin/env bash
# Installs what hush's tests talk to: Debian's age, gnupg, git-daemon, ripgrep and an
# OpenSSH server (Git over ssh:// in a test),
# and a Python venv with the local stand-in servers (moto, OpenBao, kmock) and
# the interop peers. Idempotent; safe to re-run.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${HUSH_VENV:-$here/.venv}"

need_apt=()
for tool in age gpg git rg ssh-keygen /usr/sbin/sshd; do
  command -v "$tool" >/dev/null 2>&1 || need_apt+=("$tool")
done
if [ ${#need_apt[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
  pkgs=()
  for t in "${need_apt[@]}"; do
    case "$t" in
      age) pkgs+=(age) ;;
      gpg) pkgs+=(gnupg) ;;
      git) pkgs+=(git) ;;
      rg) pkgs+=(ripgrep) ;;
      ssh-keygen) pkgs+=(openssh-client) ;;
      /usr/sbin/sshd) pkgs+=(openssh-server) ;;
    esac
  done
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

if [ ! -x "$venv/bin/python3" ]; then
  python3 -m venv "$venv"
fi
if [ ! -f "$venv/.hush-deps-ok" ] || [ "$here/scripts/requirements-test.txt" -nt "$venv/.hush-deps-ok" ]; then
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/scripts/requirements-test.txt"
  # A second independent Sealed Secrets implementation; its metadata pins an old
  # cryptography, but it works with the one above, so it is installed without deps.
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps aes-gcm-rsa-oaep==0.1.0
  touch "$venv/.hush-deps-ok"
fi
# An independent JavaScript Sealed Secrets implementation, for interop tests.
node_dir="${HUSH_NODE_INTEROP:-$here/.node-interop}"
if command -v npm >/dev/null 2>&1 && [ ! -d "$node_dir/node_modules/@linode/kubeseal-encrypt" ]; then
  mkdir -p "$node_dir"
  [ -f "$node_dir/package.json" ] || printf %s "{\"name\":\"hush-node-interop\",\"private\":true}" > "$node_dir/package.json"
  (cd "$node_dir" && npm install --silent --no-audit --no-fund @linode/kubeseal-encrypt@1.0.1 >/dev/null)
fi
echo "test dependencies ready (venv: $venv, node: $node_dir)"
