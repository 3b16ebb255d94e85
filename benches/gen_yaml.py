#!/usr/bin/env python3
"""Writes a YAML file with N string leaf values: N/100 maps of 100 keys each."""
import sys

n = int(sys.argv[1])
groups = max(1, n // 100)
per = n // groups
out = []
for g in range(groups):
    out.append(f"service{g:05d}:")
    for k in range(per):
        out.append(f"    key{k:03d}: value-{g:05d}-{k:03d}-abcdefghijklmnop")
sys.stdout.write("\n".join(out) + "\n")
