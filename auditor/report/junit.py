"""JUnit XML for GitLab (``artifacts:reports:junit``) and Jenkins: a finding is a failed test case.

A clean run still has one passing test case, so the CI page shows that confaudit ran. Suppressed
findings (and, for ``diff``, findings the change did not introduce) are skipped test cases that
carry the reason. Built with xml.etree, so any text from a config is escaped correctly.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING

from auditor.model import Finding
from auditor.policies import REGISTRY

if TYPE_CHECKING:
    from auditor.api import AuditResult
    from auditor.gitops.result import DiffResult

_INVALID_XML = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32)])


def _text(value: str) -> str:
    return value.translate(_INVALID_XML)  # XML 1.0 cannot carry control characters


def _case(suite: ET.Element, finding: Finding) -> ET.Element:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=_text(finding.loc.file),
        name=_text(f"{finding.rule_id} {finding.loc} {finding.resource}"),
        file=_text(finding.loc.file),
    )
    if finding.loc.line is not None:
        case.set("line", str(finding.loc.line))
    return case


def _failure(case: ET.Element, finding: Finding) -> None:
    rule = REGISTRY.rules.get(finding.rule_id)
    node = ET.SubElement(case, "failure", message=_text(finding.message), type=finding.rule_id)
    lines = [
        f"{finding.severity.value.upper()} {finding.rule_id} at {finding.loc}",
        f"resource: {finding.resource}",
        finding.message,
        f"fix: {finding.fix}",
    ]
    if rule is not None:
        lines.append(f"why: {rule.rationale}")
    node.text = _text("\n".join(lines))


def _document(
    name: str, failures: Sequence[Finding], skipped: Sequence[tuple[Finding, str]], passed: Sequence[str]
) -> str:
    root = ET.Element("testsuites", name="confaudit")
    suite = ET.SubElement(root, "testsuite", name=name)
    for finding in failures:
        _failure(_case(suite, finding), finding)
    for finding, reason in skipped:
        ET.SubElement(_case(suite, finding), "skipped", message=_text(reason))
    for label in passed:
        ET.SubElement(suite, "testcase", classname="confaudit", name=_text(label))
    total = len(failures) + len(skipped) + len(passed)
    for element in (root, suite):
        element.set("tests", str(total))
        element.set("failures", str(len(failures)))
        element.set("errors", "0")
        element.set("skipped", str(len(skipped)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _reason(finding: Finding) -> str:
    suppression = finding.suppression
    return f"suppressed ({suppression.kind}): {suppression.reason}" if suppression is not None else "suppressed"


def render(result: AuditResult) -> str:
    active = result.active
    passed = [] if active else [f"no findings in {result.files} files"]
    return _document("confaudit scan", active, [(f, _reason(f)) for f in result.suppressed], passed)


def render_diff(diff: DiffResult) -> str:
    skipped = [(f, "existing finding, not introduced by this change") for f in diff.unchanged]
    skipped += [(f, _reason(f)) for f in diff.suppressed]
    passed = [f"fixed: {f.rule_id} {f.loc} {f.resource}" for f in diff.fixed]
    if not diff.new and not passed:
        passed = [f"no new findings ({len(diff.changed)} changed files)"]
    return _document("confaudit diff", diff.new, skipped, passed)
