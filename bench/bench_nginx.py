#!/usr/bin/env python3
"""Benchmark confaudit's nginx + certificate scan against gixy and crossplane, side by side.

    python bench/bench_nginx.py [--sites 1000] [--runs 3]

Generates the synthetic tree with ../shared/bench/gen_corpus.py (--nginx N --k8s 0) under
bench/out/, installs gixy into its own virtualenv (bench/out/gixy-venv) on first use, then times
in one run, each the best of --runs wall-clock runs of the real command line:

- `confaudit --version` and `confaudit scan` of one small nginx file (start-up cost),
- `crossplane parse nginx.conf` (the bare parse, the floor for any crossplane-based tool),
- `gixy nginx.conf`,
- `confaudit scan <tree>`.

Targets (issue #2): --version < 0.3 s, one small file < 0.5 s, the tree at least 5x faster than
gixy and within 3x of crossplane's bare parse.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
GEN = REPO.parent / "shared" / "bench" / "gen_corpus.py"
BIN = Path(sys.executable).parent


# Measure what users run: installed packages have their bytecode compiled. A shell that sets
# PYTHONDONTWRITEBYTECODE (as some CI images do) would make every run recompile confaudit's
# editable sources while crossplane and gixy load their compiled site-packages.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str], runs: int, ok_codes: tuple[int, ...] = (0, 1)) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False, env=ENV)
        elapsed = time.perf_counter() - start
        if done.returncode not in ok_codes:
            raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
        best = min(best, elapsed)
    return best


def ensure_tree(sites: int) -> Path:
    tree = OUT / f"nginx-{sites}"
    if not (tree / "MANIFEST.json").exists():
        if not GEN.exists():
            raise SystemExit(f"generator not found: {GEN}")
        subprocess.run(
            [sys.executable, str(GEN), str(tree), "--nginx", str(sites), "--k8s", "0", "--seed", "1"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return tree


def ensure_gixy() -> Path | None:
    venv = OUT / "gixy-venv"
    gixy = venv / "bin" / "gixy"
    if not gixy.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "gixy"], check=False)
        if done.returncode != 0:
            return None
    return gixy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    confaudit = shutil.which("confaudit", path=str(BIN)) or "confaudit"
    crossplane = shutil.which("crossplane", path=str(BIN)) or "crossplane"
    tree = ensure_tree(args.sites)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "auditor")], check=True, env=ENV)
    small = REPO / "tests" / "rules" / "tls-legacy-protocol" / "bad_tls10.conf"
    conf = tree / "nginx" / "nginx.conf"

    rows: list[tuple[str, float]] = []
    rows.append(("confaudit --version", timed([confaudit, "--version"], args.runs)))
    rows.append(("confaudit scan <one small nginx file>", timed([confaudit, "scan", str(small)], args.runs)))
    parse = timed([crossplane, "parse", "-o", os.devnull, str(conf)], args.runs)
    rows.append((f"crossplane parse ({args.sites} sites)", parse))
    gixy = ensure_gixy()
    gixy_time = None
    if gixy is not None:
        gixy_time = timed([str(gixy), str(conf)], args.runs, ok_codes=(0, 1, 2, 3))
        rows.append((f"gixy ({args.sites} sites)", gixy_time))
    scan = timed([confaudit, "scan", str(tree), "--format", "json", "--output", os.devnull], args.runs)
    rows.append((f"confaudit scan ({args.sites} sites + certs)", scan))

    print(f"machine: {os.cpu_count()} cores; best of {args.runs} wall-clock runs")
    for name, seconds in rows:
        print(f"  {name:<45} {seconds:7.3f} s")
    print(f"  confaudit / crossplane parse: {scan / parse:.2f}x (target <= 3x)")
    if gixy_time is not None:
        print(f"  gixy / confaudit:             {gixy_time / scan:.2f}x faster (target >= 5x)")
    else:
        print("  gixy could not be installed: no comparison")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
