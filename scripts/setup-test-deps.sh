#!/usr/bin/env bash
# Installs what hush's tests talk to: Debian's age, gnupg, git-daemon and ripgrep,
# and a Python venv with the local stand-in servers (moto, OpenBao, kmock) and
# the interop peers. Idempotent; safe to re-run.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${HUSH_VENV:-$here/.venv}"

need_apt=()
for tool in age gpg git rg; do
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
  touch "$venv/.hush-deps-ok"
fi
echo "test dependencies ready (venv: $venv)"
