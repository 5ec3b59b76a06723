"""Human-readable report: one table per file, most severe first within the file's order."""

from __future__ import annotations

from collections import Counter
from itertools import groupby
from typing import TYPE_CHECKING

from auditor.model import Severity

if TYPE_CHECKING:
    from auditor.api import AuditResult


def render(result: AuditResult) -> str:
    from tabulate import tabulate

    active = result.active
    lines: list[str] = []
    for file, group in groupby(active, key=lambda f: f.loc.file):
        rows = [[f.loc.line if f.loc.line is not None else "-", f.severity.value.upper(), f.rule_id,
                 f"{f.message}\n  resource: {f.resource}\n  fix: {f.fix}"] for f in group]
        lines.append(file)
        lines.append(tabulate(rows, headers=["line", "severity", "rule", "finding"], tablefmt="simple_grid",
                              maxcolwidths=[None, None, None, 80]))
        lines.append("")
    counts = Counter(f.severity for f in active)
    by_severity = ", ".join(f"{counts[s]} {s.value}" for s in reversed(Severity) if counts.get(s))
    summary = f"{len(active)} finding{'s' if len(active) != 1 else ''} in {result.files} files"
    if by_severity:
        summary += f" ({by_severity})"
    if result.suppressed:
        summary += f"; {len(result.suppressed)} suppressed"
    if result.internal_errors:
        summary += f"; {len(result.internal_errors)} internal errors (see log)"
    lines.append(summary)
    return "\n".join(lines) + "\n"
