"""CORS headers that hand credentials to any origin."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Model, Severity
from auditor.policies.registry import RuleContext, rule

_REFLECTED = ("$http_origin", "%{origin}", "%req(origin)%")


@rule(
    id="cors-wildcard-credentials",
    severity=Severity.HIGH,
    title="CORS allows credentials for any origin",
    rationale="Browsers refuse `Access-Control-Allow-Origin: *` together with "
    "`Access-Control-Allow-Credentials: true`, so the wildcard form breaks the app; the usual "
    "'fix' of reflecting the request's Origin ($http_origin) lets every website read "
    "authenticated responses with the user's cookies.",
    fix="Allow credentials only for an explicit list of origins (nginx: a `map $http_origin "
    "$cors_origin { ~^https://(app|admin)\\.example\\.com$ $http_origin; }` and "
    "`add_header Access-Control-Allow-Origin $cors_origin;`).",
)
def cors_wildcard_credentials(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for _, route in model.routes():
        headers = {h.name: h for h in route.response_headers}
        origin = headers.get("access-control-allow-origin")
        credentials = headers.get("access-control-allow-credentials")
        if origin is None or credentials is None or credentials.value.strip().lower() != "true":
            continue
        value = origin.value.strip()
        if value == "*":
            kind = "any origin ('*')"
        elif value.lower() in _REFLECTED:
            kind = f"whatever Origin the request sends ({value})"
        else:
            continue
        yield ctx.finding(route, f"route {route.match} allows credentials for {kind}", loc=origin.loc)
