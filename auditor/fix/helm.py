"""Helm fixes: a finding in rendered chart output is never edited as plain YAML.

The file such a finding points at is a template, not the rendered manifest, and its line is
approximate: an edit made as if it were the manifest would break the template.
"""

from __future__ import annotations

from auditor.fix.plan import FixContext, Skip
from auditor.model import Finding
from auditor.parsers.gitops.helm import APPROXIMATE_NOTE


def fix_any(finding: Finding, ctx: FixContext) -> Skip | None:
    if APPROXIMATE_NOTE not in finding.resource:
        return None
    return Skip(
        "the finding is in rendered chart output: the setting comes from a template or values file",
        decision=False,
    )
