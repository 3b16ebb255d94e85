#!/usr/bin/env python3
"""Precision and recall per category from a tool's JSON report and labels.json.

A finding counts for a labelled line when file and start line agree (any
rule of the tool). Findings on unlabelled lines count as false positives in
the "unlabelled" row and overall. Usage: evaluate.py CORPUS TOOL REPORT
where TOOL is hush, gitleaks or kingfisher.
"""
import collections
import json
import os
import sys

corpus, tool, report = sys.argv[1:4]
labels = json.load(open(os.path.join(corpus, "labels.json")))
data = json.load(open(report))
files_root = os.path.realpath(os.path.join(corpus, "files"))


def norm(p):
    p = os.path.realpath(p) if os.path.isabs(p) else p
    return os.path.relpath(p, files_root) if os.path.isabs(p) else p.split("files/", 1)[-1]


if tool == "hush":
    found = {(norm(f["path"]), f["line"]) for f in data["findings"]}
elif tool == "kingfisher":
    found = {(norm(f["finding"]["path"]), f["finding"]["line"]) for f in data["findings"]}
else:
    found = {(norm(f["File"]), f["StartLine"]) for f in (data or [])}

by_key = {(l["file"], l["line"]): l for l in labels}
stats = collections.defaultdict(lambda: [0, 0, 0])  # tp, fp, fn
for l in labels:
    hit = (l["file"], l["line"]) in found
    s = stats[l["category"]]
    if l["positive"]:
        s[0 if hit else 2] += 1
    elif hit:
        s[1] += 1
for key in found:
    if key not in by_key:
        stats["unlabelled"][1] += 1


def pr(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else float("nan")
    r = tp / (tp + fn) if tp + fn else float("nan")
    return p, r


rows = []
tot = [0, 0, 0]
for cat in sorted(stats):
    tp, fp, fn = stats[cat]
    tot = [a + b for a, b in zip(tot, (tp, fp, fn))]
    p, r = pr(tp, fp, fn)
    rows.append((cat, tp, fp, fn, p, r))
p, r = pr(*tot)
rows.append(("OVERALL", *tot, p, r))
print(json.dumps([dict(zip(["category", "tp", "fp", "fn", "precision", "recall"], row)) for row in rows]))
