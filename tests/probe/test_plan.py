"""Which endpoints --from-config contacts: planned from a real static scan, no connection made."""

from __future__ import annotations

from pathlib import Path

from auditor.api import AuditOptions, audit
from auditor.probe.compare import plan
from auditor.probe.target import Override, Target, parse_resolve

CONF = Path(__file__).resolve().parent / "nginx" / "plan" / "nginx.conf"


def _plan(resolve: dict[str, Override]) -> tuple[set[tuple[str, str | None, str | None, str | None]], list[str]]:
    model = audit([CONF], AuditOptions()).model
    planned = plan(model, resolve)
    jobs = {(j.target.label, j.target.connect, j.sni, j.name) for j in planned.jobs}
    skipped = sorted(f"{s.name}: {s.reason}" for s in planned.skipped)
    return jobs, skipped


def test_plan_without_resolve() -> None:
    jobs, skipped = _plan({})
    assert jobs == {
        # IPv4 and IPv6 wildcard listeners share one target per name; ".example.org" is its apex
        ("api.example.com:443", None, "api.example.com", "api.example.com"),
        ("example.org:443", None, "example.org", "example.org"),
        ("10.1.2.3:8443", None, None, None),
    }
    assert skipped == [
        "*.example.net: a wildcard or regex server_name cannot be sent as SNI",
        "*.example.net: a wildcard or regex server_name cannot be sent as SNI",
        "internal.example.com: listens on a unix socket (unix:/run/nginx/tls.sock): map it with "
        "--resolve internal.example.com=ADDR:PORT",
        r"~^tenant-\d+\.example\.com$: a wildcard or regex server_name cannot be sent as SNI",
        r"~^tenant-\d+\.example\.com$: a wildcard or regex server_name cannot be sent as SNI",
    ]


def test_plan_with_resolve() -> None:
    jobs, skipped = _plan(
        parse_resolve(["api.example.com=127.0.0.1:8443", "internal.example.com=[::1]:9443", "10.1.2.3=127.0.0.2"])
    )
    assert ("api.example.com:8443", "127.0.0.1", "api.example.com", "api.example.com") in jobs
    assert ("internal.example.com:9443", "::1", "internal.example.com", "internal.example.com") in jobs
    assert ("10.1.2.3:8443", "127.0.0.2", None, None) in jobs
    assert not any("unix socket" in s for s in skipped)
    assert Target("10.1.2.3", 8443, "127.0.0.2").dial == "127.0.0.2"
