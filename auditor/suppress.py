"""Suppressions: inline config comments, annotations, ``.confaudit.yaml`` and baselines.

Every suppressed finding is kept with a ``Suppression`` saying why (kind ``inline``, ``annotation``,
``config`` or ``baseline``): reports list them with the reason, never drop them silently.

Inline form, in any format with ``#`` comments, on the finding's line or the line above::

    # confaudit: ignore cert-expiring,tls-legacy-protocol -- renewed by the vendor on 2027-01-10

The reason after ``--`` is required; a directive without one is itself reported and ignores nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.model import Finding, Location, Problem, Suppression

if TYPE_CHECKING:
    from auditor.api import AuditResult
    from auditor.baseline import Baseline
    from auditor.config import Config, Waiver

_DIRECTIVE = re.compile(r"confaudit\s*:\s*ignore\b(?P<rest>.*)$", re.IGNORECASE)
_RULE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


ANNOTATION = "confaudit.io/ignore"  # the same directive on a Kubernetes object: `rule-id[,...] -- reason`


def parse_comment(text: str, loc: Location, resource: str) -> Suppression | Problem | None:
    """Read one comment's text (without the ``#``). None when it is not a confaudit directive."""
    match = _DIRECTIVE.search(text)
    if match is None:
        return None
    return _directive(
        match.group("rest"),
        loc,
        resource,
        "confaudit ignore directive",
        "'# confaudit: ignore cert-expiring -- reason'",
        "",
        "inline",
    )


def parse_annotation(value: str, loc: Location, resource: str) -> Suppression | Problem:
    """The ``confaudit.io/ignore`` annotation's value -> a suppression, or the problem with it."""
    return _directive(
        value,
        loc,
        resource,
        f"annotation {ANNOTATION}",
        "'shutdown-no-prestop -- reason'",
        ": nothing is ignored",
        "annotation",
    )


def _directive(
    text: str, loc: Location, resource: str, what: str, example: str, consequence: str, kind: str
) -> Suppression | Problem:
    """``rule-id[,rule-id] -- reason``: the reason is required."""
    ids_part, sep, reason = text.partition("--")
    rule_ids = tuple(r for r in re.split(r"[,\s]+", ids_part.strip()) if r)
    if not rule_ids or not all(_RULE_ID.match(r) for r in rule_ids):
        return Problem("suppression-invalid", loc, resource, f"{what} must name rule ids, e.g. {example}")
    if not sep or not reason.strip():
        return Problem(
            "suppression-invalid",
            loc,
            resource,
            f"{what} for {', '.join(rule_ids)} has no reason after '--'{consequence}",
        )
    return Suppression(loc, rule_ids, reason.strip(), kind=kind)


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
        item = parse_comment(line[hash_at + 1 :], Location(file, number), file)
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
    return Finding(
        finding.rule_id, finding.severity, finding.message, finding.loc, finding.resource, finding.fix, suppression
    )


def apply_config(
    findings: Iterable[Finding], config: Config, root: Path, today: dt.date, keep_rules: Iterable[str] = ()
) -> tuple[list[Finding], list[Waiver]]:
    """Apply ``.confaudit.yaml``: drop disabled rules (unless named in ``keep_rules``, i.e. --rules),
    override severities, suppress (kind ``config``) findings in ignored paths and findings an
    unexpired exception accepts. Returns the findings and the expired exceptions that would have
    matched one (their findings are reported again)."""
    disabled = config.disabled() - set(keep_rules)
    severities = config.severities()
    where = os.path.relpath(config.path, root).replace(os.sep, "/") if config.path else ".confaudit.yaml"
    result: list[Finding] = []
    expired: dict[int, Waiver] = {}
    for finding in findings:
        if finding.rule_id in disabled:
            continue
        if finding.rule_id in severities:
            finding = dataclasses.replace(finding, severity=severities[finding.rule_id])
        if finding.suppression is None:
            suppression = _config_suppression(finding, config, root, today, where, expired)
            if suppression is not None:
                finding = dataclasses.replace(finding, suppression=suppression)
        result.append(finding)
    return result, list(expired.values())


def _config_suppression(
    finding: Finding, config: Config, root: Path, today: dt.date, where: str, expired: dict[int, Waiver]
) -> Suppression | None:
    from auditor.config import matches, resource_matches

    rel = config.relative(finding, root)
    rule = config.rules.get(finding.rule_id)
    if rule is not None and rule.ignore_paths and matches(rule.ignore_paths, rel):
        return Suppression(
            Location(where, config.rule_lines.get(finding.rule_id)),
            (finding.rule_id,),
            f"path ignored for this rule in {where}",
            "config",
        )
    for waiver in config.exceptions:
        if (
            waiver.rule != finding.rule_id
            or (waiver.paths and not matches(waiver.paths, rel))
            or not resource_matches(waiver.resource, finding.resource)
        ):
            continue
        if waiver.until < today:
            expired[waiver.line] = waiver
            continue
        return Suppression(
            Location(where, waiver.line),
            (finding.rule_id,),
            f"{waiver.reason} (exception until {waiver.until.isoformat()})",
            "config",
        )
    return None


def apply_baseline(findings: Iterable[Finding], baseline: Baseline, root: Path) -> list[Finding]:
    """Suppress (kind ``baseline``) the findings the baseline records, each fingerprint at most as
    many times as it was recorded."""
    remaining = Counter(baseline.counts)
    name = baseline.path.name
    result = []
    for finding in findings:
        if finding.suppression is None:
            key = baseline.key(finding, root)
            if remaining[key] > 0:
                remaining[key] -= 1
                finding = dataclasses.replace(
                    finding,
                    suppression=Suppression(
                        Location(name, None), (finding.rule_id,), f"recorded in baseline {name}", "baseline"
                    ),
                )
        result.append(finding)
    return result


def settle(
    result: AuditResult,
    *,
    config: Config | None = None,
    baseline: Baseline | None = None,
    today: dt.date,
    keep_rules: Iterable[str] = (),
) -> tuple[AuditResult, list[Waiver]]:
    """A scan result with the configuration and the baseline applied (see ``apply_config``)."""
    findings: list[Finding] = list(result.findings)
    expired: list[Waiver] = []
    if config is not None:
        findings, expired = apply_config(findings, config, result.root, today, keep_rules)
    if baseline is not None:
        findings = apply_baseline(findings, baseline, result.root)
    error_keys = {(f.rule_id, f.loc, f.message) for f in result.errors}
    errors = tuple(f for f in findings if (f.rule_id, f.loc, f.message) in error_keys)
    return dataclasses.replace(result, findings=tuple(findings), errors=errors), expired
