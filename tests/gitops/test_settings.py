"""`.confaudit.yaml`, baselines, repeatable --format/--output and the PR reporters, through `scan`."""

from __future__ import annotations

import dataclasses
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.fingerprint import normalise_message
from auditor.gitops.result import DiffResult
from auditor.model import Finding, Location, Severity
from auditor.report import github, junit, markdown
from tests.conftest import TESTS

FIXTURE = TESTS / "gitops" / "repo" / "base"
NOW = "2026-12-01"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "infra"
    shutil.copytree(FIXTURE, root)
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def scan_json(capsys: pytest.CaptureFixture[str], tree: Path, *extra: str) -> tuple[int, dict[str, object]]:
    code, out, err = run(capsys, "scan", str(tree), "--format", "json", "--now", NOW, *extra)
    assert code in (0, 1), err
    return code, json.loads(out)


def test_baseline_round_trip(tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a baseline of today's findings
    baseline = tmp_path / "baseline.json"
    code, _, err = run(capsys, "scan", str(tree), "--write-baseline", str(baseline), "--now", NOW)
    assert code == 0 and "wrote 7 findings" in err
    entries = json.loads(baseline.read_text())["findings"]
    assert entries[0]["file"].startswith("infra/")  # relative to the baseline's folder
    # When scanning with it: nothing is active, everything is counted as baselined
    code, data = scan_json(capsys, tree, "--baseline", str(baseline))
    assert code == 0 and data["findings"] == []
    assert data["summary"]["baselined"] == 7 and data["summary"]["suppressed"] == 0
    kinds = {s["suppression"]["kind"] for s in data["suppressed"]}  # type: ignore[union-attr,index]
    assert kinds == {"baseline"}
    # And a scan from a sub-folder still matches (paths are rebased on the baseline's folder)
    code, data = scan_json(capsys, tree / "edge", "--baseline", str(baseline))
    assert code == 0 and data["findings"] == []
    # And a new problem is not hidden
    site = tree / "edge" / "sites" / "api.conf"
    site.write_text(
        site.read_text().replace(
            "server_name api.example.com;", "server_name api.example.com;\n    ssl_protocols TLSv1.1 TLSv1.2;"
        )
    )
    code, data = scan_json(capsys, tree, "--baseline", str(baseline))
    assert code == 1
    assert {f["rule_id"] for f in data["findings"]} == {"tls-legacy-protocol", "tls13-disabled"}  # type: ignore[index,union-attr]


def test_broken_baseline_is_a_usage_error(tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "b.json"
    bad.write_text("[1, 2]")
    code, _, err = run(capsys, "scan", str(tree), "--baseline", str(bad))
    assert code == 2 and "not a confaudit baseline" in err
    code, _, err = run(capsys, "scan", str(tree), "--baseline", str(tmp_path / "missing.json"))
    assert code == 2 and "baseline file not found" in err


CONFIG = """\
version: 1
fail-on: critical
rules:
  tls13-disabled:
    enabled: false
  cert-san-mismatch:
    severity: low
    ignore-paths: ["edge/sites/shop.conf"]
exceptions:
  - rule: cert-missing
    paths: [internal/**]
    reason: the admin certificate is mounted from Vault at deploy time
    until: 2027-01-31
  - rule: cert-expired
    reason: shop certificate replaced in SHOP-142
    until: 2026-11-01
"""


def test_config_applies(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / ".confaudit.yaml").write_text(CONFIG)
    code, out, err = run(capsys, "scan", str(tree), "--format", "json", "--now", NOW)
    data = json.loads(out)
    active = {(f["rule_id"], f["file"], f["severity"]) for f in data["findings"]}
    assert ("tls13-disabled", "edge/sites/legacy.conf", "medium") not in active  # disabled
    assert ("cert-san-mismatch", "edge/sites/legacy.conf", "low") in active  # severity override
    # the expired exception no longer hides cert-expired, and says so
    assert ("cert-expired", "edge/certs/expired.crt", "critical") in active
    assert ".confaudit.yaml:14: the exception for cert-expired expired on 2026-11-01" in err
    suppressed = {(s["rule_id"], s["file"]): s["suppression"] for s in data["suppressed"]}
    assert suppressed[("cert-san-mismatch", "edge/sites/shop.conf")]["kind"] == "config"
    assert suppressed[("cert-missing", "internal/nginx.conf")]["reason"].startswith("the admin certificate")
    assert code == 1  # fail-on: critical from the file, cert-expired is critical
    # CLI flags win over the file
    assert run(capsys, "scan", str(tree), "--now", NOW, "--fail-on", "critical", "--skip-rules", "cert-expired")[0] == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour: red\n", ".confaudit.yaml:1: colour: unknown key 'colour'"),
        (
            "rules:\n  tls-legacy-protocl: {enabled: false}\n",
            ".confaudit.yaml:2: rules: unknown rule id 'tls-legacy-protocl' (did you mean 'tls-legacy-protocol'?)",
        ),
        (
            "rules:\n  cert-expired:\n    severity: urgent\n",
            ".confaudit.yaml:3: rules.cert-expired.severity: 'urgent' is not one of",
        ),
        (
            "rules:\n  cert-expired:\n    enable: false\n",
            ".confaudit.yaml:3: rules.cert-expired.enable: unknown key 'enable'",
        ),
        (
            "exceptions:\n  - rule: cert-expired\n    until: 2027-01-01\n",
            ".confaudit.yaml:2: exceptions[0]: 'reason' is required",
        ),
        (
            "exceptions:\n  - rule: cert-expired\n    reason: ok\n    until: 2027-02-30\n",
            ".confaudit.yaml:4: exceptions[0].until: '2027-02-30' is not a date",
        ),
        (
            "exceptions:\n  - rule: cert-expird\n    reason: ok\n    until: 2027-01-01\n",
            "exceptions[0].rule: unknown rule id 'cert-expird' (did you mean 'cert-expired'?)",
        ),
        ("rules: [\n", ".confaudit.yaml:2: invalid YAML"),
    ],
)
def test_config_errors_are_usage_errors(
    tree: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    (tree / ".confaudit.yaml").write_text(text)
    code, out, err = run(capsys, "scan", str(tree))
    assert code == 2 and out == ""
    assert message in err


def test_config_option(tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "ci.yaml"
    config.write_text("rules:\n  cert-missing: {enabled: false}\n")
    _, data = scan_json(capsys, tree, "--config", str(config))
    assert "cert-missing" not in {f["rule_id"] for f in data["findings"]}  # type: ignore[union-attr]
    assert run(capsys, "scan", str(tree), "--config", str(tmp_path / "nope.yaml"))[0] == 2


def test_several_formats_and_outputs(tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "scan",
        str(tree),
        "--now",
        NOW,
        "--format",
        "markdown",
        "--output",
        str(tmp_path / "c.md"),
        "--format",
        "junit",
        "--output",
        str(tmp_path / "j.xml"),
        "--format",
        "github",
    )
    assert code == 1
    assert out.startswith("::critical") is False and out.startswith("::error file=")
    assert "## confaudit: 7 findings" in (tmp_path / "c.md").read_text()
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "7" and suite.get("skipped") == "0"
    # one pair in either order still works; two formats on stdout do not
    assert run(capsys, "scan", str(tree), "-o", str(tmp_path / "r.json"), "-f", "json", "--now", NOW)[0] == 1
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["findings"] == 7
    code, _, err = run(capsys, "scan", str(tree), "--format", "json", "--format", "sarif")
    assert code == 2 and "only one --format can go to standard output" in err


def _finding(index: int, message: str = "listener accepts TLSv1") -> Finding:
    return Finding(
        "tls-legacy-protocol",
        Severity.HIGH,
        f"{message} #{index}",
        Location(f"sites/s{index}.conf", 3),
        f"nginx server s{index}.example.com:443",
        "Allow only TLS 1.2 and TLS 1.3.",
    )


def test_markdown_stays_under_the_comment_limit() -> None:
    many = tuple(_finding(i, "x" * 300) for i in range(2000))
    diff = DiffResult(Path("/repo"), "abc", "def", many, many[:500], (), changed=("a",))
    text = markdown.render_diff(diff, link_base="https://github.com/o/r/blob/def")
    assert len(text) < markdown.LIMIT
    assert "more new findings" in text and "not shown" in text and text.rstrip().endswith("</sub>")


def test_markdown_details_name_each_place_once() -> None:
    # Given one ssl_protocols line inherited by twelve servers: twelve findings at one place
    shared = tuple(
        dataclasses.replace(_finding(i, "accepts TLSv1"), loc=Location("conf.d/tls.conf", 2)) for i in range(12)
    )
    own = tuple(_finding(i, "accepts TLSv1") for i in range(12))
    text = markdown.render_diff(DiffResult(Path("/r"), "a", "b", shared + own, (), ()))
    # Then the rule's details list that place once, and the twelve others up to ten
    found_at = next(line for line in text.splitlines() if line.startswith("Found at: "))
    assert found_at.count("conf.d/tls.conf:2") == 1
    assert found_at.count("sites/s") == 9 and "and 3 more" in found_at


def test_one_setting_shared_by_many_servers_is_one_row_and_one_annotation() -> None:
    # Given an http-level ssl_protocols line that twelve servers inherit, and one server's own line
    shared = tuple(
        dataclasses.replace(_finding(i, "accepts TLSv1"), loc=Location("conf.d/tls.conf", 2)) for i in range(12)
    )
    diff = DiffResult(Path("/r"), "a", "b", (*shared, _finding(99)), (), ())
    # Then the comment has a row for each place, the shared one naming the other servers
    rows = [line for line in markdown.render_diff(diff).splitlines() if line.startswith("| **high**")]
    assert len(rows) == 2
    assert "and 11 more: nginx server s1.example.com:443, " in rows[0] and "and 3 others" in rows[0]
    # And the annotations are one per place as well
    annotations = github.render_diff(diff).splitlines()
    files = [a.split("::")[1].split(",")[0] for a in annotations]
    assert files == ["error file=conf.d/tls.conf", "error file=sites/s99.conf"]
    assert "%0AAnd 11 more: nginx server s1.example.com:443" in annotations[0]


def test_markdown_escapes_config_text() -> None:
    finding = _finding(1, "server_name <script>|x")
    text = markdown.render_diff(DiffResult(Path("/r"), "a", "b", (finding,), (), ()))
    assert "<script>" not in text and "&lt;script&gt;\\|x" in text


def test_github_command_escaping() -> None:
    finding = Finding(
        "cert-expired", Severity.MEDIUM, "100% broken\r\nsecond line", Location("dir,a/b:c.conf", 7), "res", "Renew it."
    )
    line = github.command(finding)
    assert line.startswith("::warning file=dir%2Ca/b%3Ac.conf,line=7,title=[medium] cert-expired%3A ")
    assert line.endswith("::100%25 broken%0D%0Asecond line (res)%0AFix: Renew it.")
    assert "\n" not in line


def test_junit_is_valid_xml_with_control_characters() -> None:
    finding = _finding(1, "bad \x1b[31m byte & <tag>")
    root = ET.fromstring(junit.render_diff(DiffResult(Path("/r"), "a", "b", (finding,), (), ())).encode())
    assert root.find("testsuite/testcase/failure") is not None


def test_fingerprint_ignores_moving_text() -> None:
    assert normalise_message("expires 2026-12-20, in 19 days") == normalise_message("expires 2026-12-20, in 1 day")
    assert normalise_message("from a at sites/a.conf:12") == normalise_message("from a at sites/a.conf:14")
    assert normalise_message("listen 10.0.0.1:443") != normalise_message("listen 10.0.0.1:8443")
