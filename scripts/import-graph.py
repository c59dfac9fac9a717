#!/usr/bin/env python3
"""The module import graph of src/: fails on a cycle of more than two modules, and on a domain module
(world/, scenario/, clock, ids, jwt, error, request, endpoints) that imports the HTTP layer (routes/,
server, warp). Reads `crate::` and `super::` paths outside unit-test modules, doc links included.

Usage: python3 scripts/import-graph.py [SRC]   (exit 0 clean, 1 otherwise; run by .ci/run)"""
import os
import re
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "src"
DOMAIN = ("world", "scenario", "clock", "ids", "jwt", "error", "request", "endpoints")
TESTS = re.compile(r"#\[cfg\(test\)\]\s*mod tests\s*\{.*", re.S)


def module_of(path):
    parts = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return "::".join(parts) or "crate"


files = {module_of(os.path.join(d, f)): os.path.join(d, f)
         for d, _, fs in os.walk(SRC) for f in fs if f.endswith(".rs")}
texts = {m: TESTS.sub("", open(p, encoding="utf-8").read()) for m, p in files.items()}
edges = {}
for m, text in texts.items():
    parent = m.rsplit("::", 1)[0] if "::" in m else ""
    deps = set()
    for path in re.findall(r"\b(?:crate|super)::([a-z_][a-z0-9_:]*)", text):
        segs = path.split("::")
        for k in range(len(segs), 0, -1):
            cand = "::".join(segs[:k])
            hit = next((c for c in (cand, f"{parent}::{cand}") if c in files and c != m), None)
            if hit:
                deps.add(hit)
                break
    edges[m] = deps

# Tarjan's strongly connected components.
index, low, stack, on, comps = {}, {}, [], set(), []
sys.setrecursionlimit(10000)


def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        comps.append(sorted(comp))


for v in edges:
    if v not in index:
        visit(v)
bad = False
for comp in comps:
    if len(comp) > 2:
        bad = True
        print(f"cycle of {len(comp)} modules: {', '.join(comp)}")
for m, text in sorted(texts.items()):
    if m.split("::")[0] in DOMAIN and re.search(r"\bwarp::|crate::routes\b|crate::server\b", text):
        bad = True
        print(f"domain module imports the HTTP layer: {m}")
print(f"{len(files)} modules: {'problems above' if bad else 'no cycle, no domain -> HTTP import'}")
sys.exit(1 if bad else 0)
