"""Endpoints that cannot be probed: each is one clear finding with the endpoint as its location,
within the timeout, never a hang or a traceback. The refused port and the silent server are real
sockets on 127.0.0.1; the silent server is a thread here because no real server can be told to
accept a connection and then say nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.report import FORMATS
from tests.conftest import REPO
from tests.probe.helpers import run_json
from tests.probe.servers import SilentServer, free_port

# shared/ sits beside the repository (in CI and in /work); a worktree elsewhere finds it in /work.
SCHEMAS = [base / "shared" / "schemas" / "sarif-schema-2.1.0.json" for base in (REPO.parent, Path("/work"))]


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def test_refused_connection(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    code, report = run_json(capsys, "probe", f"127.0.0.1:{port}", "--sni", "a.example.com", "--sni", "b.example.com")
    # One finding for the endpoint, not one per SNI name: the name plays no part before TLS.
    (finding,) = report["findings"]
    assert finding["rule_id"] == "probe-connect-failed"
    assert finding["message"] == f"127.0.0.1:{port}: connection refused: nothing listens on 127.0.0.1 port {port}"
    assert (finding["file"], finding["line"]) == (f"probe://127.0.0.1:{port}", None)
    assert report["errors"] == [finding]
    assert code == 1


def test_server_that_never_answers(silent: SilentServer, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a port that accepts TCP and then stays silent
    start = time.monotonic()
    # When it is probed with a one-second timeout
    code, report = run_json(capsys, "probe", f"127.0.0.1:{silent.port}", "--timeout", "1")
    elapsed = time.monotonic() - start
    # Then one question is asked, it times out once, and the rest is not asked
    (finding,) = report["findings"]
    assert finding["rule_id"] == "probe-handshake-failed"
    assert "accepted the TCP connection but sent nothing for 1 s" in finding["message"]
    assert report["probe"]["endpoints"][0]["handshakes"] == 1
    assert len(silent.connections) == 1
    assert 1.0 <= elapsed < 5.0
    assert code == 1


def test_name_that_does_not_resolve(capsys: pytest.CaptureFixture[str]) -> None:
    # .invalid never resolves (RFC 2606); the lookup is bounded by --timeout all the same.
    code, report = run_json(capsys, "probe", "no-such-host.invalid:8443", "--timeout", "3")
    (finding,) = report["findings"]
    assert finding["rule_id"] == "probe-connect-failed"
    assert finding["message"].startswith("no-such-host.invalid:8443: cannot resolve 'no-such-host.invalid'")
    assert finding["file"] == "probe://no-such-host.invalid:8443"
    assert code == 1


def test_every_reporter_handles_endpoint_locations(silent: SilentServer, capsys: pytest.CaptureFixture[str]) -> None:
    refused = free_port()
    argv = ["probe", f"127.0.0.1:{refused}", f"127.0.0.1:{silent.port}", "--timeout", "0.5"]
    # table: a "-" where the line would be
    assert main(argv) == 1
    table = capsys.readouterr().out
    assert f"probe://127.0.0.1:{refused}\n" in table and "│ -      │ HIGH" in table
    assert "2 findings from 2 endpoints" in table
    # SARIF: the endpoint is an absolute URI, with no source root and no region
    assert main([*argv, "-f", "sarif"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"probe-connect-failed", "probe-handshake-failed"}
    for result in results:
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].startswith("probe://127.0.0.1:")
        assert "uriBaseId" not in location["artifactLocation"] and "region" not in location
    schema = next((path for path in SCHEMAS if path.exists()), None)
    if schema is not None:
        import jsonschema

        jsonschema.validate(sarif, json.loads(schema.read_text()))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["probe"], "give at least one HOST[:PORT] target"),
        (["probe", "[::1"], "missing ']'"),
        (["probe", "example.com:0"], "port must be a number from 1 to 65535"),
        (["probe", "example.com", "--timeout", "0"], "--timeout must be more than 0"),
        (["probe", "example.com", "--from-config", "."], "not both"),
        (["probe", "--from-config", ".", "--sni", "a.example.com"], "--sni and --grpc apply to HOST[:PORT] targets"),
        (["probe", "example.com", "--resolve", "example.com"], "expected NAME=ADDR"),
        (["probe", "example.com", "--skip-rules", "no-such-rule"], "unknown rule id(s): no-such-rule"),
        (["probe", "example.com", "--ca-file", "/nonexistent/ca.pem"], "no such file"),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_a_finding_without_a_line(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    assert main(["probe", f"127.0.0.1:{port}", "-f", fmt]) == 1
    out = capsys.readouterr().out
    assert f"127.0.0.1:{port}" in out and "probe-connect-failed" in out
    assert ":None" not in out and "line=" not in out
    if fmt == "github":  # an endpoint is no repository file: the annotation goes to the run
        assert out.startswith("::error title=")
    else:
        assert f"probe://127.0.0.1:{port}" in out
