"""Scan a revision by re-scanning only what changed since a revision already scanned.

A revision's findings are the union, over its roots, of what scanning each root's closure gives
(see ``deps``). So from a known *state* (findings + dependency record of revision S) the findings
of revision T are:

- everything S found that some root untouched by the change also produces, plus
- a fresh scan, at T, of the roots a changed path can affect (reverse dependencies up to the
  roots, plus the changed files) together with their closure.

Findings of S in a file only touched roots reach are dropped; in a file both touched and untouched
roots reach (a Secret or certificate many configs share) an untouched root is scanned on its own
at S to see whether it produces them. Every scan runs on the revision's files written to a
temporary folder, never on the checkout, and its result is cached by the content of those files.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.engine import InternalError
from auditor.gitops.cache import Cache
from auditor.gitops.deps import Graph, SortedPaths
from auditor.gitops.git import Revision, written
from auditor.model import Finding, Location, Severity, Suppression

log = logging.getLogger("confaudit")
FULL_SCAN_SHARE = 0.3  # more changed files than this share of the tree (and than FULL_SCAN_MIN):
FULL_SCAN_MIN = 50  # scan the tree whole instead of deriving it
SHARED_TRIES = 3  # untouched roots scanned one by one before scanning the rest together
IGNORE_FILE = ".confauditignore"
NOW_SYMBOL = "@now"  # read by every file whose findings depend on the date


@dataclass(frozen=True, slots=True)
class ScanOptions:
    scope: tuple[str, ...]  # repository-relative paths to scan ("." = everything)
    now: dt.datetime
    cert_expiry_days: int = 30
    excludes: tuple[str, ...] = ()

    def key(self) -> str:
        """What results depend on besides the files and the date: states of other days share it."""
        from auditor import __version__

        return _digest(json.dumps([__version__, list(self.scope), self.cert_expiry_days, list(self.excludes)]))

    def dated_key(self) -> str:
        return _digest(self.key() + self.now.isoformat())


@dataclass(slots=True)
class State:
    listing: dict[str, str]  # path -> blob id (and mode)
    findings: list[Finding]
    reads: dict[str, set[str]]
    provides: dict[str, set[str]]
    files: set[str]
    internal_errors: list[InternalError] = field(default_factory=list)
    committed: bool = False
    rescanned: int = 0  # files parsed to produce this state
    revision: Revision | None = None  # the revision this state was obtained for (not stored)
    now: str = ""  # the date its findings were computed for (ISO 8601)

    def to_json(self, options: str) -> dict[str, Any]:
        return {
            "options": options,
            "committed": self.committed,
            "listing": self.listing,
            "findings": [_finding_json(f) for f in self.findings],
            "reads": {k: sorted(v) for k, v in self.reads.items()},
            "provides": {k: sorted(v) for k, v in self.provides.items()},
            "files": sorted(self.files),
            "internal_errors": [[e.rule_id, e.message] for e in self.internal_errors],
            "now": self.now,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        return cls(
            data["listing"],
            [_finding_from(f) for f in data["findings"]],
            {k: set(v) for k, v in data["reads"].items()},
            {k: set(v) for k, v in data["provides"].items()},
            set(data["files"]),
            [InternalError(*e) for e in data["internal_errors"]],
            data["committed"],
            now=data.get("now", ""),
        )


def listing_of(revision: Revision) -> dict[str, str]:
    return {path: f"{entry.mode}:{entry.blob}" for path, entry in revision.listing.items()}


def state_key(listing: dict[str, str], options: str) -> str:
    return _digest(options + json.dumps(sorted(listing.items())))


def obtain(revision: Revision, options: ScanOptions, cache: Cache, start: State | None = None) -> State:
    """The state of ``revision``: cached, derived from ``start`` or a recent cached state, or a full scan."""
    okey = options.key()
    listing = listing_of(revision)
    key = state_key(listing, options.dated_key())
    cached = cache.get("states", key)
    if cached is not None:
        state = State.from_json(cached)
        state.rescanned = 0
        state.revision = revision
        return state
    limit = max(FULL_SCAN_SHARE * len(listing), FULL_SCAN_MIN)
    best = start
    if best is None or len(changed_paths(best.listing, listing)) > limit:
        # Decoding a stored state costs as much as deriving from one: only when ``start`` is far.
        candidates = [start] if start is not None else []
        candidates += [State.from_json(d) for d in cache.recent_states(okey)]
        best = min(candidates, key=lambda s: len(changed_paths(s.listing, listing)), default=None)
    if best is not None and len(changed_paths(best.listing, listing)) <= limit:
        state = derive(best, revision, options, cache)
    else:
        state = full_scan(revision, options)
    state.committed = revision.committed
    state.revision = revision
    state.now = options.now.isoformat()
    if revision.committed:
        # A working tree's state is not stored: the next run's tree differs, and deriving it again
        # (its re-scanned files come from the group cache) costs less than writing it each time.
        cache.put_state(key, okey, revision.committed, state.to_json(okey))
    return state


def changed_paths(old: dict[str, str], new: dict[str, str]) -> set[str]:
    return {p for p in old.keys() | new.keys() if old.get(p) != new.get(p)}


def full_scan(revision: Revision, options: ScanOptions) -> State:
    started = time.perf_counter()
    with written(revision, revision.listing) as folder:
        result = scan_folder(folder, options)
    log.info(
        "full scan of %s: %d files in %.2f s", revision.label, len(result.model.files), time.perf_counter() - started
    )
    return State(
        listing_of(revision),
        list(result.findings),
        result.model.reads,
        result.model.provides,
        set(result.model.files),
        list(result.internal_errors),
        rescanned=len(result.model.files),
        now=options.now.isoformat(),
    )


def scan_folder(folder: Path, options: ScanOptions) -> Any:
    """``audit`` of a materialized revision, with paths relative to the repository.

    A file holding a certificate yields findings that depend on the date (expired, expiring):
    it is recorded as reading ``@now``, so that a state of another day re-scans just those."""
    from auditor.api import AuditOptions, audit_discovery
    from auditor.discover import discover

    paths = [folder / p for p in options.scope if (folder / p).exists()]
    found = discover(paths, options.excludes, root=folder, contained=True)
    audit_options = AuditOptions(now=options.now, cert_expiry_days=options.cert_expiry_days, contained=True)
    result = audit_discovery(found, audit_options)
    for cert, _, _ in result.model.all_certificates():
        result.model.depends(cert.loc.file, NOW_SYMBOL)
    return result


@dataclass(slots=True)
class _Group:
    findings: list[Finding]
    reads: dict[str, set[str]]
    provides: dict[str, set[str]]
    files: set[str]
    internal_errors: list[InternalError]
    materialized: set[str]
    seeds: set[str] = field(default_factory=set)  # the roots scanned (those a change affects)


def derive(start: State, target: Revision, options: ScanOptions, cache: Cache) -> State:
    listing = listing_of(target)
    changed = changed_paths(start.listing, listing)
    old = Graph(start.reads, start.provides)
    if start.now != options.now.isoformat():  # a state of another day: certificates age
        changed |= {f for f in old.symbol_readers([NOW_SYMBOL]) if f in listing}
    if not changed:
        return dataclasses.replace(start, listing=listing, rescanned=0)
    if any(Path(p).name == IGNORE_FILE for p in changed):
        return full_scan(target, options)  # discovery itself changed
    touched = set(changed) | old.symbol_readers(s for c in changed for s in start.provides.get(c, ()))
    affected = old.roots_of(touched) | {c for c in changed if c in listing}
    graph = old.copy()
    graph.update({}, {}, replace=changed)
    paths = SortedPaths(listing)
    group = _scan_group(target, affected, graph, paths, changed, options, cache)
    kept = _kept(start, old, group.seeds, options, cache, target)
    findings = sorted(set(kept) | set(group.findings), key=Finding.sort_key)
    files = {f for f in start.files if f in listing and f not in changed} | group.files
    reads = {k: set(v) for k, v in graph.reads.items()}
    provides = {k: set(v) for k, v in graph.provides.items()}
    return State(listing, findings, reads, provides, files, group.internal_errors, rescanned=len(group.files))


def _scan_group(
    revision: Revision,
    seeds: set[str],
    graph: Graph,
    paths: SortedPaths,
    changed: set[str],
    options: ScanOptions,
    cache: Cache,
) -> _Group:
    """Scan ``seeds`` with their closure at ``revision`` until the dependency record it yields
    needs no file that was not there (a changed file may now read, or define, something new)."""
    ignore_files = [p for p in paths.items if p.rpartition("/")[2] == IGNORE_FILE]
    listing = revision.listing
    while True:
        wanted = {p for p in graph.closure(seeds, paths) if p in listing} | set(ignore_files)
        group = _group_result(revision, wanted, options, cache)
        graph.update(group.reads, group.provides, replace=changed & group.files)
        new_symbols = {s for f in changed for s in group.provides.get(f, ())}
        more = graph.roots_of(graph.symbol_readers(new_symbols)) - seeds
        needed = {p for p in graph.closure(seeds | more, paths) if p in listing}
        if not more and needed <= group.materialized:
            group.seeds = seeds
            return group
        seeds = seeds | more


def _group_result(revision: Revision, wanted: set[str], options: ScanOptions, cache: Cache) -> _Group:
    key = _digest(options.dated_key() + json.dumps(sorted((p, revision.listing[p].blob) for p in wanted)))
    cached = cache.get("groups", key)
    if cached is not None:
        return _Group(
            [_finding_from(f) for f in cached["findings"]],
            {k: set(v) for k, v in cached["reads"].items()},
            {k: set(v) for k, v in cached["provides"].items()},
            set(cached["files"]),
            [InternalError(*e) for e in cached["internal_errors"]],
            wanted,
        )
    with written(revision, wanted) as folder:
        result = scan_folder(folder, options)
    group = _Group(
        list(result.findings),
        result.model.reads,
        result.model.provides,
        set(result.model.files),
        list(result.internal_errors),
        wanted,
    )
    cache.put_group(
        key,
        {
            "findings": [_finding_json(f) for f in group.findings],
            "reads": {k: sorted(v) for k, v in group.reads.items()},
            "provides": {k: sorted(v) for k, v in group.provides.items()},
            "files": sorted(group.files),
            "internal_errors": [[e.rule_id, e.message] for e in group.internal_errors],
        },
    )
    return group


def _kept(
    start: State, old: Graph, affected: set[str], options: ScanOptions, cache: Cache, target: Revision
) -> list[Finding]:
    """The findings of ``start`` that a root the change does not touch still produces."""
    kept: list[Finding] = []
    shared: dict[str, list[Finding]] = {}
    roots_by_file: dict[str, set[str]] = {}
    for finding in start.findings:
        file = finding.loc.file
        if file not in roots_by_file:
            roots_by_file[file] = old.roots_of([file])
        candidates = roots_by_file[file]
        if not candidates & affected:
            kept.append(finding)
        elif not candidates <= affected:
            shared.setdefault(file, []).append(finding)
    if shared:
        # The start state's files: its listing names blobs in the object database (committed states only).
        source = start.revision
        if source is None or listing_of(source) != start.listing:
            source = Revision(target.repo, "state", "start", {p: _entry(v) for p, v in start.listing.items()})
        paths = SortedPaths(start.listing)
        for file, findings in shared.items():
            kept.extend(
                _resolve_shared(findings, sorted(roots_by_file[file] - affected), old, paths, source, options, cache)
            )
    return kept


def _resolve_shared(
    findings: list[Finding],
    untouched: Sequence[str],
    old: Graph,
    paths: SortedPaths,
    source: Revision,
    options: ScanOptions,
    cache: Cache,
) -> list[Finding]:
    pending = set(findings)
    kept: list[Finding] = []
    batches: list[Iterable[str]] = [[r] for r in untouched[:SHARED_TRIES]]
    if len(untouched) > SHARED_TRIES:
        batches.append(untouched[SHARED_TRIES:])
    for batch in batches:
        if not pending:
            break
        wanted = {p for p in old.closure(batch, paths) if p in source.listing}
        produced = set(_group_result(source, wanted, options, cache).findings)
        kept += [f for f in pending if f in produced]
        pending -= produced
    return kept


def _entry(value: str) -> Any:
    from auditor.gitops.git import Entry

    mode, _, blob = value.partition(":")
    return Entry(mode, blob)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _finding_json(finding: Finding) -> list[Any]:
    s = finding.suppression
    suppression = [s.loc.file, s.loc.line, list(s.rule_ids), s.reason, s.kind] if s is not None else None
    return [
        finding.rule_id,
        finding.severity.value,
        finding.message,
        finding.loc.file,
        finding.loc.line,
        finding.resource,
        finding.fix,
        suppression,
    ]


def _finding_from(data: list[Any]) -> Finding:
    rule_id, severity, message, file, line, resource, fix, s = data
    suppression = Suppression(Location(s[0], s[1]), tuple(s[2]), s[3], s[4]) if s else None
    return Finding(rule_id, _SEVERITY[severity], message, Location(file, line), resource, fix, suppression)


_SEVERITY = {s.value: s for s in Severity}
