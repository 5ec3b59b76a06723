"""Path prefixes a proxy strips, and whether the upstream is told about them."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Model, Route, Severity
from auditor.policies.registry import RuleContext, rule


def _prefix_header(route: Route) -> str | None:
    for header in route.request_headers:
        if header.name == "x-forwarded-prefix":
            return header.value
    return None


@rule(
    id="forwarded-prefix-missing",
    severity=Severity.MEDIUM,
    title="Proxy strips a path prefix without sending X-Forwarded-Prefix",
    rationale="When a proxy serves an application under /prometheus/ but forwards requests as /, the "
    "application builds redirects, links and asset URLs without the prefix (Grafana, Prometheus, "
    "Spring, ASP.NET, Flask behind ProxyFix): users get 404s and redirect loops after login. "
    "X-Forwarded-Prefix tells it the external path.",
    fix="Send the stripped prefix upstream, e.g. nginx `proxy_set_header X-Forwarded-Prefix /prometheus;` "
    "(remember that a proxy_set_header in a location drops the inherited ones), Envoy "
    "`request_headers_to_add: [{header: {key: x-forwarded-prefix, value: /prometheus}}]`; or "
    "configure the application's external URL (e.g. --web.external-url).",
)
def forwarded_prefix_missing(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for _, route in model.routes():
        if route.strip_prefix and _prefix_header(route) is None:
            yield ctx.finding(
                route,
                f"route {route.match} strips {route.strip_prefix!r} before proxying to "
                f"{route.upstream} but sends no X-Forwarded-Prefix",
                loc=route.rewrite_loc or route.loc,
            )


@rule(
    id="forwarded-prefix-mismatch",
    severity=Severity.MEDIUM,
    title="X-Forwarded-Prefix differs from the prefix the proxy strips",
    rationale="An application that trusts X-Forwarded-Prefix prepends it to every URL it generates; a "
    "value that is not the stripped prefix sends users to paths that do not exist.",
    fix="Set X-Forwarded-Prefix to exactly the prefix that is stripped.",
)
def forwarded_prefix_mismatch(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for _, route in model.routes():
        value = _prefix_header(route)
        if not route.strip_prefix or value is None or "$" in value or "%" in value:
            continue
        if value.rstrip("/") != route.strip_prefix.rstrip("/"):
            header = next(h for h in route.request_headers if h.name == "x-forwarded-prefix")
            yield ctx.finding(
                route,
                f"route {route.match} strips {route.strip_prefix!r} but sends X-Forwarded-Prefix {value!r}",
                loc=header.loc,
            )
