"""The JSON report: a stable contract (see README "JSON output")."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from auditor import __version__
from auditor.model import Finding, Severity
from auditor.report import dumps

if TYPE_CHECKING:
    from auditor.api import AuditResult
    from auditor.gitops.result import DiffResult


def finding_dict(finding: Finding) -> dict[str, Any]:
    data: dict[str, Any] = {
        "rule_id": finding.rule_id,
        "severity": finding.severity.value,
        "file": finding.loc.file,
        "line": finding.loc.line,
        "resource": finding.resource,
        "message": finding.message,
        "fix": finding.fix,
    }
    if finding.suppression is not None:
        data["suppression"] = {
            "kind": finding.suppression.kind,
            "reason": finding.suppression.reason,
            "file": finding.suppression.loc.file,
            "line": finding.suppression.loc.line,
        }
    return data


def is_baselined(finding: Finding) -> bool:
    return finding.suppression is not None and finding.suppression.kind == "baseline"


def document(result: AuditResult) -> dict[str, Any]:
    active = result.active
    counts = Counter(f.severity for f in active)
    return {
        "version": __version__,
        "summary": {
            "files": result.files,
            "findings": len(active),
            "suppressed": sum(1 for f in result.suppressed if not is_baselined(f)),
            "baselined": sum(1 for f in result.suppressed if is_baselined(f)),
            "by_severity": {s.value: counts.get(s, 0) for s in Severity},
        },
        "findings": [finding_dict(f) for f in active],
        "suppressed": [finding_dict(f) for f in result.suppressed],
        "errors": [finding_dict(f) for f in result.errors],
        "internal_errors": [{"rule_id": e.rule_id, "message": e.message} for e in result.internal_errors],
    }


def render(result: AuditResult) -> str:
    return dumps(document(result)) + "\n"


def diff_document(diff: DiffResult) -> dict[str, Any]:
    counts = Counter(f.severity for f in diff.new)
    baselined = diff.baselined
    return {
        "version": __version__,
        "base": diff.base,
        "head": diff.head,
        "summary": {
            "new": len(diff.new),
            "fixed": len(diff.fixed),
            "unchanged": len(diff.unchanged),
            "suppressed": len(diff.suppressed) - len(baselined),
            "baselined": len(baselined),
            "new_by_severity": {s.value: counts.get(s, 0) for s in Severity},
            "files": diff.files,
            "changed_files": len(diff.changed),
            "rescanned_files": diff.rescanned,
        },
        "new": [finding_dict(f) for f in diff.new],
        "fixed": [finding_dict(f) for f in diff.fixed],
        "unchanged": [finding_dict(f) for f in diff.unchanged],
        "suppressed": [finding_dict(f) for f in diff.suppressed],
        "errors": [finding_dict(f) for f in diff.errors],
        "internal_errors": [{"rule_id": e.rule_id, "message": e.message} for e in diff.internal_errors],
    }


def render_diff(diff: DiffResult) -> str:
    return dumps(diff_document(diff)) + "\n"
