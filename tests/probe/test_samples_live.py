"""samples/nginx served by a real nginx 1.31 and probed with --from-config: every rule verdict on
the running server agrees with the static one, except the one place where the configuration does
not do what it says.

The copy changes only what a test host needs: listen addresses move to free loopback ports, and
the upstream host names in proxy_pass (resolved by nginx at start-up, with no DNS here) become
127.0.0.1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.probe.helpers import NOW, run_json
from tests.probe.servers import CERTS, Server, free_port, nginx, prepare

AGREED_FIRING = {
    ("cert-san-mismatch", "shop.example.com"),  # api.fullchain.crt lacks it
    ("alpn-h2-missing", "grpc.example.com"),  # gRPC without `http2 on`
    ("cert-expired", "old.example.com"),
    ("cert-expiring", "soon.example.com"),
    ("cert-chain-incomplete", "downloads.example.com"),  # leaf only
    ("cert-san-mismatch", "downloads.example.com"),
    ("cert-no-san", "partners.example.com"),
    ("tls13-disabled", "partners.example.com"),
}


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    https, partners = free_port(), free_port()
    while partners == https:
        partners = free_port()

    def edit(root: Path) -> None:
        for conf in (root / "sites-enabled").glob("*.conf"):
            text = conf.read_text()
            text = text.replace("listen 443 ssl;", f"listen 127.0.0.1:{https} ssl;")
            text = text.replace("listen [::]:443 ssl;", f"listen [::1]:{https} ssl;")
            text = text.replace("listen 8443 ssl", f"listen 127.0.0.1:{partners} ssl")
            text = re.sub(r"http://[a-z.]+\.(?:svc|internal):\d+", "http://127.0.0.1:9", text)
            conf.write_text(text)

    root = prepare(REPO / "samples" / "nginx", tmp_path_factory.mktemp("samples") / "nginx", {}, edit)
    ports = {443: https, 8443: partners}
    with nginx(root, ports, [("127.0.0.1", https), ("::1", https), ("127.0.0.1", partners)]) as server:
        yield server


def test_samples_static_and_live_verdicts(samples: Server, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(
        capsys, "probe", "--from-config", str(samples.root), "--ca-file", str(CERTS / "ca.crt"), "--now", NOW
    )
    rows = report["probe"]["comparison"]
    assert report["probe"]["skipped"] == []
    assert {r["outcome"] for r in rows} == {"agree", "disagree"}
    fired = {(r["rule_id"], r["sni"]) for r in rows if r["outcome"] == "agree" and r["static"]["state"] == "fires"}
    assert fired == AGREED_FIRING
    # The one disagreement: partners.conf lists TLSv1 and TLSv1.1 in ssl_protocols, but nginx built
    # with OpenSSL 3 refuses both at the default security level, which its cipher string keeps.
    (row,) = [r for r in rows if r["outcome"] == "disagree"]
    assert (row["rule_id"], row["sni"], row["static"]["state"], row["live"]["state"]) == (
        "tls-legacy-protocol",
        "partners.example.com",
        "fires",
        "passes",
    )
    (finding,) = [f for f in report["findings"] if f["rule_id"] == "probe-static-disagreement"]
    assert (finding["file"], finding["line"]) == ("sites-enabled/partners.conf", 7)
    assert "refuses TLSv1, TLSv1.1, TLSv1.3" in finding["message"]
    assert report["errors"] == []  # a disagreement is a finding, not something left unchecked
    # IPv4 and IPv6 listeners of api.conf were both probed.
    assert {e["address"] for e in report["probe"]["endpoints"] if e["sni"] == "api.example.com"} == {
        "127.0.0.1",
        "[::1]",
    }
    assert code == 1
