"""Classify the findings of two revisions as new, fixed or unchanged by fingerprint.

Fingerprints leave the line out (see ``auditor.fingerprint``), so editing lines above a finding
does not make it new. A finding found at both, line and text the same, pairs with itself; the
others with one fingerprint pair up in line order; what is left over at head is new, at the base
fixed. A finding the base reported and head suppresses (inline,
configuration, baseline) is neither fixed nor new: it is listed as suppressed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from auditor.baseline import Baseline
from auditor.config import Config, Waiver
from auditor.fingerprint import fingerprint
from auditor.gitops import git
from auditor.gitops.cache import Cache
from auditor.gitops.incremental import ScanOptions, State, obtain
from auditor.gitops.result import DiffResult
from auditor.model import Finding
from auditor.suppress import apply_baseline, apply_config


@dataclass(frozen=True, slots=True)
class DiffRequest:
    repo: Path
    base: str | None  # None: merge-base with the default branch
    head: str | None  # None: the working tree
    options: ScanOptions
    rules: tuple[str, ...] = ()
    skip_rules: tuple[str, ...] = ()
    config: Config | None = None
    baseline: Baseline | None = None


def classify(
    base: Sequence[Finding], head_active: Sequence[Finding], head_suppressed: Sequence[Finding]
) -> tuple[list[Finding], list[Finding], list[Finding]]:
    """(new, fixed, unchanged)."""
    # Most of head is the base's findings as they were (same line and text): those pair with
    # themselves, which also keeps a copy added above one from taking its place.
    same = Counter(base)
    unchanged, moved = [], []
    for finding in head_active:
        if same[finding] > 0:
            same[finding] -= 1
            unchanged.append(finding)
        else:
            moved.append(finding)
    by_print: dict[str, list[Finding]] = {}
    for finding in sorted(same.elements(), key=Finding.sort_key):
        by_print.setdefault(fingerprint(finding), []).append(finding)
    new = []
    for finding in sorted(moved, key=Finding.sort_key):
        matches = by_print.get(fingerprint(finding))
        if matches:
            matches.pop(0)
            unchanged.append(finding)
        else:
            new.append(finding)
    unchanged.sort(key=Finding.sort_key)
    for finding in sorted(head_suppressed, key=Finding.sort_key):
        matches = by_print.get(fingerprint(finding))
        if matches:
            matches.pop(0)
    fixed = sorted((f for group in by_print.values() for f in group), key=Finding.sort_key)
    return new, fixed, unchanged


def run(request: DiffRequest, cache: Cache) -> tuple[DiffResult, list[Waiver]]:
    started = time.perf_counter()
    repo = request.repo
    base, head = _revisions(request)
    listed = time.perf_counter()
    base_state = obtain(base, request.options, cache)
    head_state = obtain(head, request.options, cache, start=base_state)
    today = request.options.now.date()
    base_findings, _ = _settle(base_state, request, repo, today)
    head_findings, expired = _settle(head_state, request, repo, today)
    head_active = [f for f in head_findings if f.suppression is None]
    head_suppressed = [f for f in head_findings if f.suppression is not None]
    new, fixed, unchanged = classify([f for f in base_findings if f.suppression is None], head_active, head_suppressed)
    problems = {(e.rule_id, e.loc.file) for e in head_findings if e.rule_id == "parse-error"}
    errors = tuple(f for f in new + unchanged if (f.rule_id, f.loc.file) in problems)
    changed = sorted(p for p in base.listing.keys() | head.listing.keys() if base.listing.get(p) != head.listing.get(p))
    result = DiffResult(
        repo,
        base.label,
        head.label,
        tuple(new),
        tuple(fixed),
        tuple(unchanged),
        tuple(head_suppressed),
        errors,
        tuple(head_state.internal_errors),
        len(head_state.files),
        tuple(changed),
        head_state.rescanned,
        {"list": listed - started, "total": time.perf_counter() - started},
    )
    return result, expired


def _revisions(request: DiffRequest) -> tuple[git.Revision, git.Revision]:
    """(base, head). The working tree is listed in a thread while the base is looked up: both are
    a few git commands, mostly waiting."""
    repo = request.repo
    with ThreadPoolExecutor(max_workers=1) as pool:
        if request.head is None:
            worktree = pool.submit(git.worktree_revision, repo)
            head_ref = "HEAD"
        else:
            head = git.commit_revision(repo, request.head, request.head)
            head_ref = head.commit or "HEAD"
        if request.base in (None, "HEAD") and request.head is None and not git.has_commits(repo):
            base = git.empty_revision(repo)  # the first commit (pre-commit's hook): everything is new
        elif request.base is None:
            branch = git.default_branch(repo)
            base = git.commit_revision(repo, git.merge_base(repo, branch, head_ref))
            base.label = f"{base.label} (merge-base with {branch})"
        else:
            base = git.commit_revision(repo, request.base, request.base)
        if request.head is None:
            head = worktree.result()
    return base, head


def _settle(state: State, request: DiffRequest, root: Path, today: dt.date) -> tuple[list[Finding], list[Waiver]]:
    findings: Iterable[Finding] = state.findings
    if request.rules:
        findings = [f for f in findings if f.rule_id in request.rules]
    findings = [f for f in findings if f.rule_id not in request.skip_rules]
    expired: list[Waiver] = []
    if request.config is not None:
        findings, expired = apply_config(findings, request.config, root, today, request.rules)
    if request.baseline is not None:
        findings = apply_baseline(findings, request.baseline, root)
    return list(findings), expired
