"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` per finding, which
the runner turns into inline annotations on the pull request.

Escaping follows the runner's rules (actions/toolkit ``command.ts``): in the message ``%``, CR and
LF are percent-encoded; in properties ``:`` and ``,`` are too. Findings come most severe first,
because the runner shows a limited number of annotations per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from auditor.model import Finding, Severity
from auditor.policies import REGISTRY

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


def command(finding: Finding) -> str:
    rule = REGISTRY.rules.get(finding.rule_id)
    title = f"{finding.rule_id}: {rule.title}" if rule is not None else finding.rule_id
    props = []
    # A live endpoint (probe://host:port) is no file of the repository: annotate the run instead.
    if "://" not in finding.loc.file:
        props.append(f"file={escape_property(finding.loc.file)}")
    if finding.loc.line is not None:
        props.append(f"line={finding.loc.line}")
    props.append(f"title={escape_property(f'[{finding.severity.value}] {title}')}")
    message = f"{finding.message} ({finding.resource})\nFix: {finding.fix}"
    return f"::{_COMMAND[finding.severity]} {','.join(props)}::{escape_data(message)}"


def _render(findings: Sequence[Finding]) -> str:
    ordered = sorted(findings, key=lambda f: (-f.severity.rank, f.sort_key()))
    return "".join(command(f) + "\n" for f in ordered)


def render(result: AuditResult) -> str:
    return _render(result.active)


def render_diff(diff: DiffResult) -> str:
    """Annotations for what the change introduces only."""
    return _render(diff.new)
