"""Markdown for pull-request comments: counts, a table of findings with file:line links, details.

GitHub refuses comments over 65,536 characters; the report stays under ``LIMIT`` by cutting table
rows and details, and says how many it left out. Text from configs is HTML-escaped (GitHub renders
HTML in comments) and table cells escape ``|``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from auditor import __version__
from auditor.model import Finding, Severity
from auditor.policies import REGISTRY
from auditor.report import by_place, others

if TYPE_CHECKING:
    from auditor.api import AuditResult
    from auditor.gitops.result import DiffResult

LIMIT = 65_536
BUDGET = LIMIT - 4_096  # room for the closing note and multi-byte slack
MARKER = "<!-- confaudit-report -->"  # lets a workflow find and update its previous comment


def render(result: AuditResult, link_base: str | None = None) -> str:
    active = result.active
    title = f"## confaudit: {_count(len(active), 'finding')}"
    counts = _severity_counts(active)
    head = [MARKER, title, "", f"Scanned {_count(result.files, 'file')}. {counts}".rstrip(), ""]
    if result.suppressed:
        head += [_suppressed_line(result.suppressed), ""]
    return _assemble(head, [("Findings", active)], [], link_base)


def render_diff(diff: DiffResult, link_base: str | None = None) -> str:
    title = f"## confaudit: {_count(len(diff.new), 'new finding')}, {len(diff.fixed)} fixed"
    head = [
        MARKER,
        title,
        "",
        f"Compared `{_cell(diff.base)}` with `{_cell(diff.head)}`: {_count(len(diff.changed), 'changed file')}.",
        "",
        "| New | Fixed | Unchanged | Suppressed | Baselined |",
        "|---:|---:|---:|---:|---:|",
        f"| {len(diff.new)} | {len(diff.fixed)} | {len(diff.unchanged)} | "
        f"{len(diff.suppressed) - len(diff.baselined)} | {len(diff.baselined)} |",
        "",
    ]
    if diff.new:
        head += [_severity_counts(diff.new), ""]
    return _assemble(head, [("New findings", diff.new)], list(diff.fixed), link_base)


def _assemble(
    head: list[str], sections: Sequence[tuple[str, Sequence[Finding]]], fixed: list[Finding], link_base: str | None
) -> str:
    out = _Writer(BUDGET)
    for line in head:
        out.add(line)
    shown: list[Finding] = []
    for name, findings in sections:
        if not findings:
            continue
        out.add(f"### {name}")
        out.add("")
        out.add("| Severity | Rule | Location | Finding |")
        out.add("|---|---|---|---|")
        rows = by_place(sorted(findings, key=lambda f: (-f.severity.rank, f.sort_key())))
        for index, group in enumerate(rows):
            if not out.add(_row(group, link_base), reserve=600):
                out.omitted.append(f"{sum(len(g) for g in rows[index:])} more {name.lower()}")
                break
            shown.extend(group)
        out.add("")
    if fixed:
        out.add("### Fixed findings")
        out.add("")
        for index, finding in enumerate(fixed):
            line = f"- ~~`{finding.rule_id}`~~ {_cell(_where(finding))}: {_cell(finding.message)}"
            if not out.add(line, reserve=400):
                out.omitted.append(f"{len(fixed) - index} more fixed findings")
                break
        out.add("")
    for block in _details(shown):
        if not out.add(block, reserve=300):
            out.omitted.append("some rule details")
            break
    if out.omitted:
        out.add(
            f"> [!NOTE]\n> Cut to stay under GitHub's {LIMIT:,}-character comment limit: "
            f"{'; '.join(out.omitted)} not shown. The JSON or SARIF report has everything.",
            force=True,
        )
        out.add("", force=True)
    out.add(f"<sub>confaudit {__version__}</sub>", force=True)
    return out.text()


class _Writer:
    def __init__(self, budget: int) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.budget = budget
        self.omitted: list[str] = []

    def add(self, line: str, reserve: int = 0, force: bool = False) -> bool:
        if not force and self.size + len(line) + 1 + reserve > self.budget:
            return False
        self.parts.append(line)
        self.size += len(line) + 1
        return True

    def text(self) -> str:
        return "\n".join(self.parts) + "\n"


def _row(group: list[Finding], link_base: str | None) -> str:
    """One table row for the findings of one rule at one line (see ``by_place``)."""
    finding = group[0]
    where = _cell(_where(finding))
    if link_base:
        anchor = f"#L{finding.loc.line}" if finding.loc.line else ""
        where = f"[{where}]({link_base.rstrip('/')}/{_url_path(finding.loc.file)}{anchor})"
    message = _cell(finding.message)
    if finding.resource and finding.resource not in finding.message:
        message += f" <br><sub>{_cell(finding.resource)}</sub>"
    more = others(group)
    if more:
        message += f" <br><sub>{_cell(more)}</sub>"
    return f"| **{finding.severity.value}** | `{finding.rule_id}` | {where} | {message} |"


def _details(findings: Iterable[Finding]) -> list[str]:
    blocks = []
    seen: dict[str, list[Finding]] = {}
    for finding in findings:
        seen.setdefault(finding.rule_id, []).append(finding)
    for rule_id, group in seen.items():
        rule = REGISTRY.rules.get(rule_id)
        if rule is None:
            continue
        # One setting shared by many servers yields one finding each, all at the same place.
        unique = list(dict.fromkeys(_cell(_where(f)) for f in group))
        places = ", ".join(unique[:10]) + (f" and {len(unique) - 10} more" if len(unique) > 10 else "")
        blocks.append(
            "\n".join(
                [
                    f"<details><summary><code>{rule_id}</code>: {html.escape(rule.title)}</summary>",
                    "",
                    f"**Why it matters:** {html.escape(rule.rationale)}",
                    "",
                    f"**How to fix:** {html.escape(group[0].fix or rule.fix)}",
                    "",
                    f"Found at: {places}. [Rule documentation]({rule.help_uri})",
                    "",
                    "</details>",
                    "",
                ]
            )
        )
    return blocks


def _where(finding: Finding) -> str:
    return str(finding.loc)


def _cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _url_path(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _severity_counts(findings: Sequence[Finding]) -> str:
    counts = {s: 0 for s in Severity}
    for finding in findings:
        counts[finding.severity] += 1
    parts = [f"{counts[s]} {s.value}" for s in reversed(Severity) if counts[s]]
    return f"By severity: {', '.join(parts)}." if parts else ""


def _suppressed_line(suppressed: Sequence[Finding]) -> str:
    kinds: dict[str, int] = {}
    for finding in suppressed:
        kind = finding.suppression.kind if finding.suppression is not None else "inline"
        kinds[kind] = kinds.get(kind, 0) + 1
    return "Suppressed: " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) + "."
