"""``confaudit fix`` on realistic fixtures: the exact text after the fix, a clean re-scan, and the
real server's own check (``nginx -t``, ``envoy --mode validate``) on the fixed file.

Each ``tests/fix/<family>/<case>.<ext>`` has its expected result beside it as ``<case>.<ext>.fixed``.
The case is copied into a scratch tree next to a copy of ``tests/certs`` (fixtures name
certificates as ``../../certs/...``, as the rule fixtures do) and fixed with ``cli.main``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from auditor import cli
from auditor.api import AuditOptions, audit
from tests import envoy_check
from tests.conftest import NOW, TESTS, nginx_test

FIXTURES = TESTS / "fix"
CASES = sorted(
    p for p in FIXTURES.glob("*/*") if p.is_file() and p.suffix != ".fixed" and p.with_name(p.name + ".fixed").exists()
)


def place(case: Path, tmp_path: Path) -> Path:
    """The case in a scratch tree: <tmp>/tree/fix/<family>/<case>, certificates at <tmp>/tree/certs."""
    tree = tmp_path / "tree"
    shutil.copytree(TESTS / "certs", tree / "certs")
    target = tree / "fix" / case.parent.name / case.name
    target.parent.mkdir(parents=True)
    shutil.copyfile(case, target)
    return target


def planned_rules(target: Path, capsys: pytest.CaptureFixture[str]) -> set[str]:
    code = cli.main(["fix", str(target), "--dry-run", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1, "a fixture with nothing to fix"
    return {f["rule_id"] for fix in report["fixes"] for f in (fix, *fix["also"])}


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fix_case(case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a config with findings that have mechanical fixes
    target = place(case, tmp_path)
    rules = planned_rules(target, capsys)
    # When confaudit fix writes them
    code = cli.main(["fix", str(target)])
    out = capsys.readouterr().out
    # Then every fix is verified, the text is exactly the expected one ...
    assert code == 0, out
    assert "undone" not in out.split("\n")[-2] or " 0 undone" in out
    expected = case.with_name(case.name + ".fixed").read_bytes()
    assert target.read_bytes() == expected
    # ... a re-scan finds none of the fixed rules ...
    again = audit([target], AuditOptions(now=NOW, strict=True))
    assert not [f for f in again.active if f.rule_id in rules], out
    # ... and the real server accepts the fixed file.
    _server_check(target, tmp_path)


def _server_check(target: Path, tmp_path: Path) -> None:
    if target.suffix == ".conf":
        result = nginx_test(target, tmp_path)
        assert result.returncode == 0, result.stderr
    elif target.parent.name == "envoy":
        verdict = envoy_check.validate(target, tmp_path)
        assert verdict.ok, verdict.output


@pytest.mark.parametrize("case", [c for c in CASES if c.parent.name in ("nginx", "kubernetes")][:3], ids=str)
def test_fix_keeps_crlf(case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the same config written with CRLF line ends
    target = place(case, tmp_path)
    target.write_bytes(case.read_bytes().replace(b"\n", b"\r\n"))
    # When it is fixed, the result is the expected text with CRLF everywhere, inserted lines too
    assert cli.main(["fix", str(target)]) == 0, capsys.readouterr().out
    expected = case.with_name(case.name + ".fixed").read_bytes().replace(b"\n", b"\r\n")
    assert target.read_bytes() == expected


def test_dry_run_prints_a_patch_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = FIXTURES / "nginx" / "ssl_protocols_http_level.conf"
    target = place(case, tmp_path)
    assert cli.main(["fix", str(target), "--dry-run"]) == 1
    captured = capsys.readouterr()
    assert target.read_bytes() == case.read_bytes()
    assert captured.out.startswith(f"--- a/{target.name}\n+++ b/{target.name}\n@@ ")
    assert "-    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;\n+    ssl_protocols TLSv1.2 TLSv1.3;\n" in captured.out
    assert "would fix" in captured.err
    # The patch applies with patch(1) from the scan root and gives the expected file.
    patch = shutil.which("patch")
    if patch is None:
        pytest.skip("patch(1) is not installed")
    import subprocess

    subprocess.run([patch, "-p1", "-s"], input=captured.out, text=True, cwd=target.parent, check=True)
    assert target.read_bytes() == case.with_name(case.name + ".fixed").read_bytes()


def test_suppressed_finding_is_not_fixed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """tls13-disabled is suppressed with a reason: the fix drops TLS 1.0/1.1 and does not add 1.3."""
    target = place(FIXTURES / "nginx" / "tls13_suppressed.conf", tmp_path)
    assert cli.main(["fix", str(target)]) == 0
    assert "ssl_protocols TLSv1.2;" in target.read_text()


def test_rules_option_limits_the_fixes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = place(FIXTURES / "nginx" / "forwarded_prefix_inherited.conf", tmp_path)
    assert cli.main(["fix", str(target), "--rules", "tls13-disabled", "--dry-run"]) == 0
    assert capsys.readouterr().out == ""
    assert cli.main(["fix", str(target), "--rules", "nope"]) == 2


def test_kubernetes_choices_are_left_as_decisions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No readinessProbe copied from liveness, no exec in front of a pipeline: both need a decision."""
    case = FIXTURES / "kubernetes" / "decisions.yaml"
    target = place(case, tmp_path)
    assert cli.main(["fix", str(target), "--dry-run", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["fixes"] == []
    unfixed = {u["rule_id"]: u for u in report["unfixed"]}
    assert set(unfixed) == {"shutdown-no-readiness", "shutdown-shell-pid1"}
    assert all(u["needs_decision"] for u in unfixed.values())
    assert "probe-liveness-equals-readiness" in unfixed["shutdown-no-readiness"]["reason"]
    assert unfixed["shutdown-shell-pid1"]["fix"].startswith("Start the application with exec")
    assert target.read_bytes() == case.read_bytes()
