"""Pseudo-rules for input that could not be read: their findings come from the parsers."""

from __future__ import annotations

from auditor.model import Severity
from auditor.policies.registry import pseudo_rule

pseudo_rule(
    id="parse-error",
    severity=Severity.HIGH,
    title="File could not be parsed",
    rationale="A file that does not parse is not checked at all, and the server it configures will "
    "usually refuse it too. Syntax errors, binary or non-UTF-8 data, include cycles, unreadable "
    "certificates and oversized files are reported here; the rest of the tree is still scanned.",
    fix="Fix the syntax at the reported line, or exclude the file with --exclude or .confauditignore.",
    family="sources",
)

pseudo_rule(
    id="suppression-invalid",
    severity=Severity.LOW,
    title="Suppression comment is malformed",
    rationale="A `# confaudit: ignore` comment must name the rule ids it silences and give a reason "
    "after `--`, so reviewers can tell why a finding is accepted. A malformed one silences nothing.",
    fix="Write it as `# confaudit: ignore <rule-id>[,<rule-id>] -- <reason>`.",
    family="sources",
)
