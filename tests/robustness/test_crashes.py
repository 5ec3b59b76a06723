"""Inputs that used to end a scan with a Python traceback (issue #16), scanned the way a user does.

Each folder under ``crashes/`` is a real-looking tree holding one input that crashed a parser,
next to objects that must still be checked. Lines that must fire carry ``# expect: <rule-id>``;
the runner compares the exact (rule, file, line) set for those rules plus ``parse-error``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor import cli
from auditor.api import AuditOptions, audit
from auditor.webhook.admission import parse_review
from auditor.webhook.review import Reviewer, ReviewSettings
from tests.conftest import NOW
from tests.test_rules import expected
from tests.webhook.support import body

CRASHES = Path(__file__).parent / "crashes"
CASES = sorted(p.name for p in CRASHES.iterdir() if p.is_dir())


def scan_json(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = cli.main(["scan", str(path), "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("case", CASES)
def test_scan_reports_the_input_and_goes_on(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a tree with one input that used to crash its parser
    fixture = CRASHES / case
    want = expected(fixture)
    # When it is scanned from the command line
    code, report = scan_json(fixture, capsys)
    # Then the scan ends with a report (exit 0 or 1, never a traceback or 2) without internal errors,
    assert code in (0, 1)
    assert report["internal_errors"] == []
    # the bad input is a finding at its line, and its neighbours are still checked
    checked = {rule for rule, _, _ in want} | {"parse-error"}
    findings = report["findings"]
    assert isinstance(findings, list)
    found = {(f["rule_id"], f["file"], f["line"]) for f in findings if f["rule_id"] in checked}
    assert found == want


@pytest.mark.parametrize("case", CASES)
def test_strict_mode_raises_nothing(case: str) -> None:
    # With strict (tests), an internal error would be raised instead of reported
    result = audit([CRASHES / case], AuditOptions(now=NOW, strict=True))
    assert not result.internal_errors


def test_long_names_are_shortened_in_messages(capsys: pytest.CaptureFixture[str]) -> None:
    _, report = scan_json(CRASHES / "envoy-long-path", capsys)
    (finding,) = [f for f in report["findings"] if f["rule_id"] == "parse-error"]  # type: ignore[union-attr]
    assert "does not exist" in finding["message"] and "characters)" in finding["message"]
    assert len(finding["message"]) < 400


def test_owner_references_number_through_the_webhook() -> None:
    # Given the Pod whose ownerReferences is a number, sent as an AdmissionReview
    import yaml

    obj = yaml.safe_load((CRASHES / "owner-references-number" / "deployment.yaml").read_text())
    reviewer = Reviewer(ReviewSettings(options=AuditOptions(now=NOW, strict=True)))
    # When the webhook reviews it
    verdict = reviewer.review(parse_review(body(obj)))
    # Then it is evaluated like any Deployment (not skipped as owned, not an internal error)
    assert verdict.decision in ("allowed", "denied")
    assert verdict.internal_errors == ()
    assert "probe-liveness-equals-readiness" in {f.rule_id for f in verdict.findings}
