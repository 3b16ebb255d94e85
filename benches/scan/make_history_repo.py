#!/usr/bin/env python3
"""Generate a Git repository with N commits (default 10,000) via git fast-import.

Each commit edits 1-3 of ~300 source-like files (appending and rewriting
lines), so the history has ~N*2 distinct blobs; a few commits add secrets.
Usage: make_history_repo.py DEST [N]
"""
import os
import random
import subprocess
import sys

dest = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
rng = random.Random(42)
os.makedirs(dest, exist_ok=True)
subprocess.run(["git", "init", "-q", "-b", "main", dest], check=True)

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
WORDS = "config value session handler request response parse build render client server cache index".split()


def rand(k, alphabet=ALNUM):
    return "".join(rng.choice(alphabet) for _ in range(k))


def code_line():
    a, b, c = rng.sample(WORDS, 3)
    return rng.choice([
        f"    let {a}_{b} = {c}::new({rng.randint(0, 999)});",
        f"def {a}_{b}(self, {c}): return self.{c}.get('{a}')",
        f"// {a} {b} {c}: see issue #{rng.randint(1, 9999)}",
        f"    {a}: {rng.randint(0, 10**6)}  # {b} {c}",
        f"const {a.upper()}_{b.upper()} = \"{c}-{rng.randint(0, 99)}\";",
    ])


def secret_line():
    return rng.choice([
        f"GITHUB_TOKEN=ghp_{rand(36)}",
        f"stripe_key = \"sk_live_{rand(24)}\"",
        f"aws_access_key_id = AKIA{rand(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}",
        f"DATABASE_URL=postgres://app:{rand(14)}@db.internal:5432/app",
    ])


files = {f"src/mod{i:03d}/{rng.choice(WORDS)}_{i}.{rng.choice(['rs', 'py', 'ts', 'yaml'])}": [code_line() for _ in range(rng.randint(20, 120))] for i in range(300)}
names = list(files)
secrets = 0
proc = subprocess.Popen(["git", "-C", dest, "fast-import", "--quiet"], stdin=subprocess.PIPE)
out = proc.stdin
for c in range(1, n + 1):
    touched = rng.sample(names, rng.randint(1, 3))
    ops = []
    for name in touched:
        lines = files[name]
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.3 and lines:
                lines[rng.randrange(len(lines))] = code_line()
            else:
                lines.insert(rng.randint(0, len(lines)), code_line())
        if rng.random() < 0.002:
            lines.insert(rng.randint(0, len(lines)), secret_line())
            secrets += 1
        data = ("\n".join(lines) + "\n").encode()
        ops.append(b"M 100644 inline " + name.encode() + b"\ndata " + str(len(data)).encode() + b"\n" + data + b"\n")
    msg = f"commit {c}\n".encode()
    out.write(b"commit refs/heads/main\n")
    out.write(f"committer Bench <bench@example.invalid> {1_600_000_000 + c * 60} +0000\n".encode())
    out.write(b"data " + str(len(msg)).encode() + b"\n" + msg)
    for op in ops:
        out.write(op)
    out.write(b"\n")
out.close()
if proc.wait() != 0:
    sys.exit("git fast-import failed")
subprocess.run(["git", "-C", dest, "checkout", "-q", "main"], check=True)
print(f"{dest}: {n} commits, {secrets} secret insertions")
