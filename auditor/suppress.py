"""Suppressions: inline config comments (and, later, annotations and baselines).

Inline form, in any format with ``#`` comments, on the finding's line or the line above::

    # confaudit: ignore cert-expiring,tls-legacy-protocol -- renewed by the vendor on 2027-01-10

The reason after ``--`` is required; a directive without one is itself reported and ignores nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from auditor.model import Finding, Location, Problem, Suppression

_DIRECTIVE = re.compile(r"confaudit\s*:\s*ignore\b(?P<rest>.*)$", re.IGNORECASE)
_RULE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def parse_comment(text: str, loc: Location, resource: str) -> Suppression | Problem | None:
    """Read one comment's text (without the ``#``). None when it is not a confaudit directive."""
    match = _DIRECTIVE.search(text)
    if match is None:
        return None
    rest = match.group("rest")
    ids_part, sep, reason = rest.partition("--")
    rule_ids = tuple(r for r in re.split(r"[,\s]+", ids_part.strip()) if r)
    if not rule_ids or not all(_RULE_ID.match(r) for r in rule_ids):
        return Problem("suppression-invalid", loc, resource,
                       "confaudit ignore directive must name rule ids, e.g. "
                       "'# confaudit: ignore cert-expiring -- reason'")
    if not sep or not reason.strip():
        return Problem("suppression-invalid", loc, resource,
                       f"confaudit ignore directive for {', '.join(rule_ids)} has no reason after '--'")
    return Suppression(loc, rule_ids, reason.strip())


def scan_text(text: str, file: str) -> list[Suppression | Problem]:
    """Find inline directives in a file's ``#`` comments (for formats whose parser drops comments)."""
    found: list[Suppression | Problem] = []
    if "confaudit" not in text:
        return found
    for number, line in enumerate(text.splitlines(), start=1):
        if "confaudit" not in line:
            continue
        hash_at = line.find("#")
        if hash_at < 0:
            continue
        item = parse_comment(line[hash_at + 1:], Location(file, number), file)
        if item is not None:
            found.append(item)
    return found


def apply_inline(findings: Iterable[Finding], suppressions: Iterable[Suppression]) -> list[Finding]:
    """Attach the matching suppression to each finding (same file, same line or the line above)."""
    by_place: dict[tuple[str, int], list[Suppression]] = {}
    for suppression in suppressions:
        if suppression.loc.line is None:
            continue
        for line in (suppression.loc.line, suppression.loc.line + 1):
            by_place.setdefault((suppression.loc.file, line), []).append(suppression)
    result = []
    for finding in findings:
        match = None
        if finding.loc.line is not None:
            for candidate in by_place.get((finding.loc.file, finding.loc.line), ()):
                if finding.rule_id in candidate.rule_ids:
                    match = candidate
                    break
        result.append(finding if match is None else _suppressed(finding, match))
    return result


def _suppressed(finding: Finding, suppression: Suppression) -> Finding:
    return Finding(finding.rule_id, finding.severity, finding.message, finding.loc, finding.resource,
                   finding.fix, suppression)
