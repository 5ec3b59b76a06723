"""Human-readable report: one table per file, most severe first within the file's order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import groupby
from typing import TYPE_CHECKING

from auditor.model import Finding, Severity

if TYPE_CHECKING:
    from auditor.api import AuditResult
    from auditor.gitops.result import DiffResult


def render(result: AuditResult) -> str:
    active = result.active
    lines = findings_tables(active)
    counts = Counter(f.severity for f in active)
    by_severity = ", ".join(f"{counts[s]} {s.value}" for s in reversed(Severity) if counts.get(s))
    summary = f"{len(active)} finding{'s' if len(active) != 1 else ''} in {result.files} files"
    if by_severity:
        summary += f" ({by_severity})"
    baselined = sum(1 for f in result.suppressed if f.suppression is not None and f.suppression.kind == "baseline")
    lines.append(summary + _set_aside(len(result.suppressed), baselined, len(result.internal_errors)))
    return "\n".join(lines) + "\n"


def render_diff(diff: DiffResult) -> str:
    from tabulate import tabulate

    lines = [f"confaudit diff {diff.base} -> {diff.head}: {len(diff.changed)} changed files", ""]
    for title, findings in (("NEW", diff.new), ("FIXED", diff.fixed)):
        if findings:
            rows = [
                [title, f.severity.value.upper(), f.rule_id, str(f.loc), f"{f.message}\n  fix: {f.fix}"]
                for f in findings
            ]
            lines.append(
                tabulate(
                    rows,
                    headers=["", "severity", "rule", "where", "finding"],
                    tablefmt="simple_grid",
                    maxcolwidths=[None, None, None, 40, 70],
                )
            )
            lines.append("")
    summary = f"{len(diff.new)} new, {len(diff.fixed)} fixed, {len(diff.unchanged)} unchanged"
    lines.append(summary + _set_aside(len(diff.suppressed), len(diff.baselined), len(diff.internal_errors)))
    return "\n".join(lines) + "\n"


def _set_aside(suppressed: int, baselined: int, internal_errors: int) -> str:
    """The summary's tail: findings not counted (suppressed, in the baseline) and rule failures."""
    tail = ""
    if suppressed > baselined:
        tail += f"; {suppressed - baselined} suppressed"
    if baselined:
        tail += f"; {baselined} in the baseline"
    if internal_errors:
        tail += f"; {internal_errors} internal errors (see log)"
    return tail


def findings_tables(findings: Sequence[Finding]) -> list[str]:
    """One table per file (findings arrive sorted by file): line, severity, rule, message and fix."""
    from tabulate import tabulate

    lines: list[str] = []
    for file, group in groupby(findings, key=lambda f: f.loc.file):
        rows = [
            [
                f.loc.line if f.loc.line is not None else "-",
                f.severity.value.upper(),
                f.rule_id,
                f"{f.message}\n  resource: {f.resource}\n  fix: {f.fix}",
            ]
            for f in group
        ]
        lines.append(file)
        lines.append(
            tabulate(
                rows,
                headers=["line", "severity", "rule", "finding"],
                tablefmt="simple_grid",
                maxcolwidths=[None, None, None, 80],
            )
        )
        lines.append("")
    return lines
