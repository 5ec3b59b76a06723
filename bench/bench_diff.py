#!/usr/bin/env python3
"""Benchmark ``confaudit diff`` on a large GitOps repository (issue #6).

    python bench/bench_diff.py [--k8s 10000] [--nginx 1000] [--runs 3]

Builds a git repository under bench/out/diff-repo from ../shared/bench/gen_corpus.py, commits it
on main, then times the real command line (best of --runs):

- ``scan`` of the whole repository (one full scan),
- ``scan`` of the one manifest the pull request changes (that file alone),
- cold ``diff`` (empty cache) of a working tree that changes that manifest,
- warm ``diff`` (the base is cached) of a working tree that changes it again,
- the same warm ``diff`` for a change to one nginx site file (the whole nginx tree depends on it).

Targets: warm one-manifest diff < 2 x scan(that file) + 1 s; cold diff < 2 x one full scan.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
OUT = HERE / "out"
# ../shared next to the checkout (CI), or two levels up from a worktree in wt/<name>.
GEN = next(
    (
        p
        for p in (
            REPO_ROOT.parent / "shared" / "bench" / "gen_corpus.py",
            REPO_ROOT.parent.parent / "shared" / "bench" / "gen_corpus.py",
        )
        if p.is_file()
    ),
    REPO_ROOT.parent / "shared" / "bench" / "gen_corpus.py",
)
NOW = "2026-12-01"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def build(k8s: int, nginx: int) -> Path:
    repo = OUT / f"diff-repo-{k8s}-{nginx}"
    if (repo / ".git").is_dir():
        git(repo, "checkout", "-q", "--", ".")
        git(repo, "clean", "-qfd")
        git(repo, "update-index", "-q", "--refresh")  # as a fresh CI checkout has it
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    subprocess.run(
        [sys.executable, str(GEN), str(repo), "--k8s", str(k8s), "--nginx", str(nginx)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", "corpus")
    return repo


def confaudit(repo: Path, cache: Path, *args: str) -> float:
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONPATH=str(REPO_ROOT))
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "auditor", *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"confaudit {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def pick_manifest(repo: Path) -> Path:
    candidates = sorted((repo / "k8s").glob("team-*/*.yaml"))
    if not candidates:
        raise SystemExit("no manifest in the corpus")
    return candidates[len(candidates) // 2]


def edit(path: Path, marker: str) -> None:
    """A realistic one-line edit: a changed label value near the top of the file."""
    text = path.read_text()
    path.write_text(
        text.replace("metadata:\n", f'metadata:\n  annotations: {{bench/edit: "{marker}"}}\n', 1)
        if "metadata:\n" in text
        else text + f"\n# {marker}\n"
    )


def best(runs: int, func: object) -> float:
    return min(func() for _ in range(runs))  # type: ignore[operator]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k8s", type=int, default=10000)
    parser.add_argument("--nginx", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    repo = build(args.k8s, args.nginx)
    manifest = pick_manifest(repo)
    rel = manifest.relative_to(repo).as_posix()
    site = sorted((repo / "nginx" / "sites").glob("*.conf"))[0]
    files = sum(1 for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts)
    print(f"repository: {repo} ({files} files); the pull request edits {rel}")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        full = best(
            args.runs,
            lambda: confaudit(repo, scratch / "none", "scan", ".", "--now", NOW, "-f", "json", "-o", os.devnull),
        )
        edit(manifest, "cold")
        colds = []
        for index in range(args.runs):
            colds.append(
                confaudit(repo, scratch / f"cold{index}", "diff", "--now", NOW, "-f", "json", "-o", os.devnull)
            )
        cold = min(colds)
        warm_cache = scratch / "cold0"
        # The one-file scan and the warm diff alternate, so that both see the same machine (a
        # shared 2-core machine runs ±30% from one minute to the next).
        ones, warms = [], []
        for index in range(args.runs):
            ones.append(confaudit(repo, scratch / "none", "scan", rel, "--now", NOW, "-f", "json", "-o", os.devnull))
            git(repo, "checkout", "-q", "--", ".")
            edit(manifest, f"warm-{index}")
            warms.append(confaudit(repo, warm_cache, "diff", "--now", NOW, "-f", "json", "-o", os.devnull))
        one, warm = min(ones), min(warms)
        git(repo, "checkout", "-q", "--", ".")
        site.write_text(site.read_text().replace("server {", "server {\n    # bench edit", 1))
        nginx_warm = confaudit(repo, warm_cache, "diff", "--now", NOW, "-f", "json", "-o", os.devnull)
        git(repo, "checkout", "-q", "--", ".")
        # A fast diff must still be a whole one: same files and findings as the full scan.
        scanned, diffed = scratch / "scan.json", scratch / "diff.json"
        confaudit(repo, scratch / "none", "scan", ".", "--now", NOW, "-f", "json", "-o", str(scanned))
        edit(manifest, "check")
        confaudit(repo, warm_cache, "diff", "--now", NOW, "-f", "json", "-o", str(diffed))
        git(repo, "checkout", "-q", "--", ".")
        whole = json.loads(scanned.read_text())["summary"]
        summary = json.loads(diffed.read_text())["summary"]
        if (summary["files"], summary["new"] + summary["unchanged"]) != (whole["files"], whole["findings"]):
            raise SystemExit(f"the diff does not cover the tree: scan {whole}, diff {summary}")
    print(f"full scan                         {full:7.2f} s")
    print(f"scan of {rel} alone  {one:7.2f} s")
    print(
        f"cold diff (one manifest changed)  {cold:7.2f} s   target < 2 x full = {2 * full:.2f} s  "
        f"{'OK' if cold < 2 * full else 'MISSED'}"
    )
    print(
        f"warm diff (one manifest changed)  {warm:7.2f} s   target < 2 x one + 1 s = {2 * one + 1:.2f} s  "
        f"{'OK' if warm < 2 * one + 1 else 'MISSED'}"
    )
    print(f"warm diff (one nginx site)        {nginx_warm:7.2f} s   (re-scans the nginx tree that includes it)")
    return 0 if cold < 2 * full and warm < 2 * one + 1 else 1


if __name__ == "__main__":
    sys.exit(main())
