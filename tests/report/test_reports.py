"""Reporters: the JSON contract, SARIF against the official 2.1.0 schema, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from auditor.cli import main
from tests.conftest import REPO, TESTS

SAMPLES = str(REPO / "samples" / "nginx")
SCHEMA = TESTS / "data" / "sarif-schema-2.1.0.json"
NOW = "2026-12-01"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "scan", SAMPLES, "--format", "json", "--now", NOW)
    assert code == 1
    data = json.loads(out)
    assert set(data) >= {"version", "summary", "findings", "errors"}
    assert set(data["summary"]) >= {"files", "findings", "by_severity"}
    assert data["summary"]["findings"] == len(data["findings"])
    assert set(data["summary"]["by_severity"]) == {"info", "low", "medium", "high", "critical"}
    for finding in data["findings"] + data["errors"]:
        assert set(finding) >= {"rule_id", "severity", "file", "line", "resource", "message", "fix"}
        assert finding["file"] and not finding["file"].startswith("/") and "\\" not in finding["file"]
        assert isinstance(finding["line"], int) and finding["line"] >= 1
    suppressed = data["suppressed"]
    assert [s["rule_id"] for s in suppressed] == ["tls13-disabled"]
    assert suppressed[0]["suppression"]["reason"].startswith("partner HSM")


def test_sarif_is_valid_against_the_official_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "scan", SAMPLES, "--format", "sarif", "--now", NOW)
    assert code == 1
    sarif = json.loads(out)
    jsonschema.validate(sarif, json.loads(SCHEMA.read_text()))
    run_ = sarif["runs"][0]
    rule_ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    assert "cert-san-mismatch" in rule_ids
    results = run_["results"]
    assert all(rule_ids[r["ruleIndex"]] == r["ruleId"] for r in results)
    assert any(r.get("suppressions") for r in results)
    assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1 for r in results)


def test_table_groups_by_file_and_shows_fix(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "scan", SAMPLES, "--now", NOW)
    assert code == 1
    assert "sites-enabled/api.conf" in out and "fix: " in out
    assert "suppressed" in out.splitlines()[-1]


def test_output_file_and_fail_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report.json"
    code, out = run(
        capsys,
        "scan",
        SAMPLES,
        "--format",
        "json",
        "--output",
        str(target),
        "--fail-on",
        "critical",
        "--now",
        NOW,
        "--skip-rules",
        "cert-expired,cert-key-mismatch",
    )
    assert out == ""
    assert json.loads(target.read_text())["summary"]["by_severity"]["critical"] == 0
    assert code == 0


def test_rule_selection(capsys: pytest.CaptureFixture[str]) -> None:
    _, out = run(capsys, "scan", SAMPLES, "--format", "json", "--rules", "cert-san-mismatch", "--now", NOW)
    assert {f["rule_id"] for f in json.loads(out)["findings"]} == {"cert-san-mismatch"}


@pytest.mark.parametrize(
    "argv",
    [
        ["scan", "--rules", "no-such-rule", SAMPLES],
        ["scan", "--fail-on", "severe", SAMPLES],
        ["scan", "/no/such/path"],
        ["scan"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("confaudit ")
