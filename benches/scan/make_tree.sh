#!/usr/bin/env bash
# Build the mixed source tree used by run.sh from what is on the machine
# offline: Python's standard library (without __pycache__) plus crate
# sources from the local Cargo registry, about 130 MB in total.
set -euo pipefail
dest=${1:-/tmp/scanbench/tree}
limit_kb=${LIMIT_KB:-110000}
rm -rf "$dest" && mkdir -p "$dest"
py=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
cp -r "$py" "$dest/python-stdlib"
find "$dest" -name __pycache__ -prune -exec rm -rf {} +
reg=$(ls -d "$HOME"/.cargo/registry/src/*/ | head -1)
total=0
for c in $(cd "$reg" && du -s -- * | sort -n | awk '$1<15000 {print $2}' | tail -80); do
  s=$(du -s "$reg/$c" | cut -f1)
  total=$((total + s))
  [ "$total" -gt "$limit_kb" ] && break
  cp -r "$reg/$c" "$dest/"
done
echo "$dest: $(du -sb "$dest" | cut -f1) bytes, $(find "$dest" -type f | wc -l) files"
