"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` per rule and line
(naming every resource it affects), which the runner turns into inline annotations on the pull
request.

Escaping follows the runner's rules (actions/toolkit ``command.ts``): in the message ``%``, CR and
LF are percent-encoded; in properties ``:`` and ``,`` are too. Findings come most severe first,
because the runner shows a limited number of annotations per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from auditor.model import Finding, Severity
from auditor.policies import REGISTRY
from auditor.report import by_place, others

if TYPE_CHECKING:
    from auditor.api import AuditResult
    from auditor.gitops.result import DiffResult

_COMMAND = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(finding: Finding, also: str = "") -> str:
    """One annotation; ``also`` names the other resources the same line affects."""
    rule = REGISTRY.rules.get(finding.rule_id)
    title = f"{finding.rule_id}: {rule.title}" if rule is not None else finding.rule_id
    props = []
    # A live endpoint (probe://host:port) is no file of the repository: annotate the run instead.
    if "://" not in finding.loc.file:
        props.append(f"file={escape_property(finding.loc.file)}")
    if finding.loc.line is not None:
        props.append(f"line={finding.loc.line}")
    props.append(f"title={escape_property(f'[{finding.severity.value}] {title}')}")
    message = f"{finding.message} ({finding.resource})" + (f"\n{also[0].upper()}{also[1:]}" if also else "")
    message += f"\nFix: {finding.fix}"
    return f"::{_COMMAND[finding.severity]} {','.join(props)}::{escape_data(message)}"


def _render(findings: Sequence[Finding]) -> str:
    # One annotation per rule and line: the runner shows only the first few of each kind per step.
    ordered = by_place(sorted(findings, key=lambda f: (-f.severity.rank, f.sort_key())))
    return "".join(command(group[0], others(group)) + "\n" for group in ordered)


def render(result: AuditResult) -> str:
    return _render(result.active)


def render_diff(diff: DiffResult) -> str:
    """Annotations for what the change introduces only."""
    return _render(diff.new)
