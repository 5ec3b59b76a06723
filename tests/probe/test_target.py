"""Target syntax: host names, IPv4, bracketed IPv6 with ports, --resolve, default SNI names."""

from __future__ import annotations

import pytest

from auditor.probe.run import jobs_for
from auditor.probe.target import Override, Target, parse_resolve, parse_target, split_host_port


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("api.example.com", "api.example.com", 443),
        ("api.example.com:8443", "api.example.com", 8443),
        ("127.0.0.1:8443", "127.0.0.1", 8443),
        ("[::1]:8443", "::1", 8443),
        ("[::1]", "::1", 443),
        ("::1", "::1", 443),
        ("2001:db8::5", "2001:db8::5", 443),
        ("https://api.example.com:9443/health", "api.example.com", 9443),
    ],
)
def test_targets(text: str, host: str, port: int) -> None:
    assert parse_target(text) == Target(host, port)


def test_endpoint_labels_bracket_ipv6() -> None:
    assert Target("::1", 8443).uri == "probe://[::1]:8443"
    assert Target("api.example.com", 443).label == "api.example.com:443"


@pytest.mark.parametrize(
    "text", ["", "[::1", "[::1]8443", "[example.com]:1", "host:http", "host:70000", ":443", "1:2:3"]
)
def test_bad_targets(text: str) -> None:
    with pytest.raises(ValueError):
        split_host_port(text)


def test_resolve_overrides() -> None:
    assert parse_resolve(["API.example.com=127.0.0.1", "unix:/run/app.sock=[::1]:8443"]) == {
        "api.example.com": Override("127.0.0.1", None),
        "unix:/run/app.sock": Override("::1", 8443),
    }


def test_default_sni_is_the_host_name_but_never_an_ip() -> None:
    jobs = jobs_for([Target("api.example.com", 443), Target("127.0.0.1", 8443)], [], {})
    assert [(j.sni, j.name) for j in jobs] == [("api.example.com", "api.example.com"), (None, "127.0.0.1")]


def test_resolve_points_a_name_elsewhere_and_keeps_it_as_sni() -> None:
    (job,) = jobs_for([Target("api.example.com", 443)], [], {"api.example.com": Override("127.0.0.1", 8443)})
    assert (job.target.dial, job.target.port, job.sni, job.target.uri) == (
        "127.0.0.1",
        8443,
        "api.example.com",
        "probe://api.example.com:8443",
    )
