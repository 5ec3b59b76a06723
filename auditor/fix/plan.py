"""From findings to fixes: which findings have a mechanical fix, and the edits that make it.

A fixer is looked up by rule id and returns a ``Fix`` (edits that remove the finding and change
nothing else) or a ``Skip`` saying why it made none. Each fixer writes the *whole* good value
of the setting it edits (``ssl_protocols TLSv1.2 TLSv1.3`` for both tls-legacy-protocol and
tls13-disabled), so two findings about one line give the same edit, applied once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from auditor.fix.edits import Edit, apply, overlaps, read_text
from auditor.model import Container, Finding, Listener, Location, Model, Route, Upstream, Workload


@dataclass(frozen=True, slots=True)
class Fix:
    finding: Finding
    description: str  # what the edit does, imperative ("drop TLSv1 TLSv1.1 from ssl_protocols")
    edits: tuple[Edit, ...]
    # Other findings the same edits remove (the tls13-disabled finding on the line a
    # tls-legacy-protocol fix rewrites): filled in by ``plan``.
    also: tuple[Finding, ...] = ()

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(edit.file for edit in self.edits))


@dataclass(frozen=True, slots=True)
class Skip:
    """No automatic edit: ``reason`` says why; ``decision`` marks a fix a person has to choose
    (the rule's own fix text applies), as opposed to a mechanical fix that could not be placed."""

    reason: str
    decision: bool = True


@dataclass(frozen=True, slots=True)
class Unfixed:
    finding: Finding
    reason: str
    decision: bool


@dataclass(slots=True)
class Plan:
    root: Path
    fixes: list[Fix] = field(default_factory=list)
    unfixed: list[Unfixed] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # the files the fixes edit, as read

    def edits_by_file(self, fixes: Iterable[Fix] | None = None) -> dict[str, list[Edit]]:
        out: dict[str, list[Edit]] = {}
        for fix in self.fixes if fixes is None else fixes:
            for edit in fix.edits:
                out.setdefault(edit.file, []).append(edit)
        return out

    def results(self, fixes: Iterable[Fix] | None = None) -> dict[str, str]:
        """file -> its text with the fixes applied."""
        return {file: apply(self.texts[file], edits) for file, edits in self.edits_by_file(fixes).items()}


class FixContext:
    """What a fixer reads: the model (to find the object a finding is about) and file texts."""

    def __init__(self, root: Path, model: Model, findings: Iterable[Finding] = ()) -> None:
        self.root = root
        self.model = model
        self.texts: dict[str, str] = {}
        # The findings being fixed, by (rule, file, line): a fixer that edits a setting two rules
        # judge changes only what the rules being fixed ask for (a suppressed tls13-disabled
        # keeps TLS 1.3 off while tls-legacy-protocol drops TLS 1.0).
        self.wanted = {(f.rule_id, f.loc.file, f.loc.line) for f in findings}

    def wants(self, rule_id: str, loc: Location) -> bool:
        return (rule_id, loc.file, loc.line) in self.wanted

    def text(self, file: str) -> str | None:
        if file not in self.texts:
            path = self.root / file
            try:
                self.texts[file] = read_text(path)
            except (OSError, UnicodeDecodeError):
                return None
        return self.texts[file]

    def listeners(self, finding: Finding) -> list[Listener]:
        return [
            item
            for item in self.model.listeners
            if item.resource == finding.resource
            or (item.tls is not None and item.tls.loc == finding.loc and item.resource.startswith(finding.resource))
        ]

    def route(self, finding: Finding) -> Route | None:
        for listener in self.model.listeners:
            for route in listener.routes:
                if route.resource == finding.resource and finding.loc in (route.loc, route.rewrite_loc):
                    return route
        for listener in self.model.listeners:
            for route in listener.routes:
                if route.resource == finding.resource:
                    return route
        return None

    def upstream(self, name: str | None, file_hint: str) -> Upstream | None:
        found = [u for u in self.model.upstreams if u.name == name]
        same = [u for u in found if u.loc.file == file_hint]
        candidates = same or found
        return candidates[0] if candidates else None

    def workload(self, finding: Finding) -> Workload | None:
        for workload in self.model.workloads:
            if workload.resource == finding.resource or finding.resource.startswith(workload.resource + " container "):
                return workload
        return None

    def container(self, finding: Finding) -> tuple[Workload, Container] | None:
        for workload in self.model.workloads:
            for container in workload.containers:
                if container.resource == finding.resource:
                    return workload, container
        return None


Fixer = Callable[[Finding, FixContext], "Fix | Skip | None"]

# rule id -> modules with ``fix_<rule id with underscores>(finding, ctx)``, tried in order: a
# module returns None for findings that are not its format's.
FAMILIES = (
    "auditor.fix.helm",  # first: a finding in rendered chart output is never edited as plain YAML
    "auditor.fix.nginx",
    "auditor.fix.envoy",
    "auditor.fix.kubernetes",
    "auditor.fix.terraform",
)


def fixers(rule_id: str) -> Iterator[Fixer]:
    name = "fix_" + rule_id.replace("-", "_")
    for module_name in FAMILIES:
        module = importlib.import_module(module_name)
        func = getattr(module, name, None)
        if func is not None:
            yield func
        generic = getattr(module, "fix_any", None)
        if generic is not None:
            yield generic


def plan(root: Path, model: Model, findings: Iterable[Finding]) -> Plan:
    """Fixes for ``findings``; fixes that would overlap an earlier one are left out (the first
    wins: findings come sorted by file and line) and listed with the reason."""
    findings = list(findings)
    ctx = FixContext(root, model, findings)
    result = Plan(root)
    chosen: list[Fix] = []
    by_edits: dict[tuple[Edit, ...], int] = {}
    for finding in findings:
        outcome = _one(finding, ctx)
        if isinstance(outcome, Skip):
            result.unfixed.append(Unfixed(finding, outcome.reason, outcome.decision))
            continue
        key = tuple(sorted(outcome.edits))
        if key in by_edits:  # the same edit, found for another finding: one fix removing both
            index = by_edits[key]
            chosen[index] = _with_also(chosen[index], finding)
            continue
        clash = next((fix for fix in chosen if _conflicts(fix, outcome)), None)
        if clash is not None:
            reason = f"its edit overlaps the fix for {clash.finding.rule_id} at {clash.finding.loc}; run fix again"
            result.unfixed.append(Unfixed(finding, reason, False))
            continue
        by_edits[key] = len(chosen)
        chosen.append(outcome)
    result.fixes = chosen
    for fix in chosen:
        for file in fix.files:
            text = ctx.text(file)
            assert text is not None  # a fixer only edits files it read
            result.texts[file] = text
    return result


def _with_also(fix: Fix, finding: Finding) -> Fix:
    return Fix(fix.finding, fix.description, fix.edits, (*fix.also, finding))


def _conflicts(a: Fix, b: Fix) -> bool:
    return any(overlaps(x, y) for x in a.edits for y in b.edits)


def _one(finding: Finding, ctx: FixContext) -> Fix | Skip:
    for fixer in fixers(finding.rule_id):
        outcome = fixer(finding, ctx)
        if outcome is not None:
            return outcome
    return Skip("")
