#!/usr/bin/env bash
# Precision/recall per category for hush, gitleaks and kingfisher on a generated labelled corpus.
# Usage: benches/scan/accuracy.sh [CORPUS_DIR] [SEED]   (VENV as in run.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
corpus=${1:-/tmp/scanbench/corpus}
seed=${2:-2026}
venv=${VENV:-/work/venv}
rm -rf "$corpus"
python3 "$here/make_corpus.py" "$corpus" "$seed"
(cd "$repo" && cargo build --release -q -p hush-scan --bin hush-scan-dev)
"$repo/target/release/hush-scan-dev" "$corpus/files" -o json --report-path "$corpus/hush.json" || true
"$venv/bin/gitleaks" dir "$corpus/files" --no-banner --exit-code 0 -f json -r "$corpus/gitleaks.json" --log-level error
"$venv/bin/kingfisher" scan "$corpus/files" --no-validate --no-update-check --no-dedup -f json -o "$corpus/kingfisher.json" > /dev/null 2>&1 || true
python3 - "$here/evaluate.py" "$corpus" <<'PY'
import json, subprocess, sys
ev, corpus = sys.argv[1:3]
tools = ("hush", "gitleaks", "kingfisher")
res = {t: {r["category"]: r for r in json.loads(subprocess.check_output(["python3", ev, corpus, t, f"{corpus}/{t}.json"]))} for t in tools}
cats = sorted(set().union(*res.values()), key=lambda c: (c == "OVERALL", c == "unlabelled", c))
f = lambda x: "–" if x != x else f"{x:.3f}"
empty = {"tp": 0, "fp": 0, "fn": 0, "precision": float("nan"), "recall": float("nan")}
print("| category | " + " | ".join(f"{t} P | {t} R" for t in tools) + " | " + " | ".join(f"{t} TP/FP/FN" for t in tools) + " |")
print("|---" * (1 + 3 * len(tools)) + "|")
for c in cats:
    rows = [res[t].get(c, empty) for t in tools]
    print(f"| {c} | " + " | ".join(f"{f(r['precision'])} | {f(r['recall'])}" for r in rows) + " | " + " | ".join(f"{r['tp']}/{r['fp']}/{r['fn']}" for r in rows) + " |")
PY
