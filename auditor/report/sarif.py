"""SARIF 2.1.0, with rule metadata from the registry and suppressions as SARIF suppressions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor import __version__
from auditor.fingerprint import fingerprint
from auditor.model import Finding, Severity
from auditor.policies import REGISTRY, Rule
from auditor.report import dumps

if TYPE_CHECKING:
    from auditor.api import AuditResult
    from auditor.engine import InternalError
    from auditor.gitops.result import DiffResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# Indented down to the run's members; each result (and the tool's rule table) is one line.
FLAT_FROM = 4
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads `security-severity` (0.0-10.0) to rank results.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {
            "text": f"{rule.rationale}\n\nFix: {rule.fix}",
            "markdown": f"{rule.rationale}\n\n**Fix:** {rule.fix}",
        },
        "helpUri": rule.help_uri,
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "tags": [rule.family],
            "security-severity": _SECURITY_SEVERITY[rule.severity],
            "severity": rule.severity.value,
        },
    }


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    artifact: dict[str, Any] = {"uri": finding.loc.file}
    if "://" not in finding.loc.file:  # a live endpoint (probe://host:port) is an absolute URI, not a file
        artifact["uriBaseId"] = "SRCROOT"
    location: dict[str, Any] = {"artifactLocation": artifact}
    if finding.loc.line is not None:
        location["region"] = {"startLine": finding.loc.line}
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": _LEVEL[finding.severity],
        "message": {"text": f"{finding.message}. Fix: {finding.fix}"},
        "locations": [{"physicalLocation": location, "logicalLocations": [{"fullyQualifiedName": finding.resource}]}],
        "partialFingerprints": {"confaudit/v1": fingerprint(finding)},
        "properties": {"severity": finding.severity.value, "resource": finding.resource},
    }
    if finding.rule_id in index:
        result["ruleIndex"] = index[finding.rule_id]
    if finding.suppression is not None:
        result["suppressions"] = [
            {
                "kind": "inSource" if finding.suppression.kind in ("inline", "annotation") else "external",
                "justification": finding.suppression.reason,
            }
        ]
    return result


def document(result: AuditResult) -> dict[str, Any]:
    return _document(result.root, [(f, None) for f in result.findings], result.internal_errors)


def _document(
    root: Path, findings: Sequence[tuple[Finding, str | None]], internal_errors: Sequence[InternalError]
) -> dict[str, Any]:
    rules = list(REGISTRY)
    index = {rule.id: i for i, rule in enumerate(rules)}
    results = []
    for finding, state in findings:
        item = _result(finding, index)
        if state is not None:
            item["baselineState"] = state
        results.append(item)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "confaudit",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": "https://github.com/confaudit/confaudit",
                        "rules": [rule_descriptor(rule) for rule in rules],
                    }
                },
                "originalUriBaseIds": {"SRCROOT": {"uri": root.as_uri() + "/"}},
                "results": results,
                "invocations": [
                    {
                        "executionSuccessful": not internal_errors,
                        "toolExecutionNotifications": [
                            {"level": "error", "message": {"text": f"internal error in rule {e.rule_id}: {e.message}"}}
                            for e in internal_errors
                        ],
                    }
                ],
            }
        ],
    }


def render(result: AuditResult) -> str:
    return dumps(document(result), flat_from=FLAT_FROM) + "\n"


def render_diff(diff: DiffResult) -> str:
    """The findings at head, each with its SARIF ``baselineState`` (``new`` or ``unchanged``);
    suppressed ones keep their suppression. Fixed findings are not results: code scanning closes
    their alerts when they no longer appear."""
    findings = [(f, "new") for f in diff.new] + [(f, "unchanged") for f in diff.unchanged]
    findings += [(f, "unchanged") for f in diff.suppressed]
    return dumps(_document(diff.root, findings, diff.internal_errors), flat_from=FLAT_FROM) + "\n"
