"""Headers that an enclosing level sets but that silently do not apply."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Model, Severity
from auditor.policies.registry import RuleContext, rule


@rule(
    id="inherited-headers-dropped",
    severity=Severity.MEDIUM,
    title="Headers set at an outer level are silently not sent here",
    rationale="nginx inherits proxy_set_header, grpc_set_header and add_header from the enclosing "
    "level only when the current level sets none of them. A location that adds one header (a CORS "
    "header, X-Forwarded-Prefix) therefore drops every header set at server or http level: "
    "X-Forwarded-For and X-Forwarded-Proto vanish and the application sees the proxy's address and "
    "http://, or HSTS and CSP disappear from those responses.",
    fix="Repeat the outer headers in this block, or move them into a snippet that every block "
    "includes next to its own headers.",
)
def inherited_headers_dropped(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for _, route in model.routes():
        if route.dropped_headers:
            names = ", ".join(dict.fromkeys(h.name for h in route.dropped_headers))
            yield ctx.finding(
                route,
                f"route {route.match} sets headers of its own, so {names} "
                f"(set from {route.dropped_headers[0].loc}) do not apply to it",
            )
