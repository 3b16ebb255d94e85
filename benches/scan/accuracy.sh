#!/usr/bin/env bash
# Precision/recall per category for hush and gitleaks on a generated labelled corpus.
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
python3 - "$here/evaluate.py" "$corpus" <<'PY'
import json, subprocess, sys
ev, corpus = sys.argv[1:3]
res = {t: {r["category"]: r for r in json.loads(subprocess.check_output(["python3", ev, corpus, t, f"{corpus}/{t}.json"]))} for t in ("hush", "gitleaks")}
cats = sorted(set(res["hush"]) | set(res["gitleaks"]), key=lambda c: (c == "OVERALL", c == "unlabelled", c))
f = lambda x: "–" if x != x else f"{x:.3f}"
print("| category | hush P | hush R | gitleaks P | gitleaks R | hush TP/FP/FN | gitleaks TP/FP/FN |")
print("|---|---|---|---|---|---|---|")
for c in cats:
    h = res["hush"].get(c, {"tp": 0, "fp": 0, "fn": 0, "precision": float("nan"), "recall": float("nan")})
    g = res["gitleaks"].get(c, {"tp": 0, "fp": 0, "fn": 0, "precision": float("nan"), "recall": float("nan")})
    print(f"| {c} | {f(h['precision'])} | {f(h['recall'])} | {f(g['precision'])} | {f(g['recall'])} | {h['tp']}/{h['fp']}/{h['fn']} | {g['tp']}/{g['fp']}/{g['fn']} |")
PY
