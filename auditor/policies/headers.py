"""Headers that an enclosing level sets but that silently do not apply."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Header, Model, Severity
from auditor.policies.registry import RuleContext, rule


@rule(
    id="inherited-headers-dropped",
    severity=Severity.MEDIUM,
    title="Headers set at an outer level are silently not sent here",
    rationale="nginx inherits proxy_set_header, grpc_set_header, add_header and add_trailer from the "
    "enclosing level only when the current level sets none of them. A location that adds one header "
    "(a CORS header, X-Forwarded-Prefix) therefore drops every header set at server or http level: "
    "X-Forwarded-For and X-Forwarded-Proto vanish and the application sees the proxy's address and "
    "http://, or HSTS and CSP disappear from those responses. An `if` block inside a location is a "
    "location of its own: an add_header there drops the location's and server's headers for every "
    "request that enters the block. `add_header_inherit merge;` (nginx 1.29.3+) keeps the outer "
    "add_header values and `add_header_inherit off;` drops them on purpose: neither is reported. "
    "proxy_set_header has no such switch in nginx.",
    fix="Repeat the outer headers in this block, or move them into a snippet that every block "
    "includes next to its own headers; on nginx 1.29.3+ `add_header_inherit merge;` at http level "
    "keeps outer add_header and `add_trailer_inherit merge;` outer add_trailer values.",
)
def inherited_headers_dropped(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for _, route in model.routes():
        if route.dropped_headers or route.dropped_trailers:
            yield ctx.finding(
                route,
                f"route {route.match} sets headers of its own, so "
                f"{_names(route.dropped_headers, route.dropped_trailers)} do not apply to it",
            )
        for block in route.conditional:
            yield ctx.finding(
                route,
                f"requests entering {block.condition} in route {route.match} get only that block's "
                f"headers, so {_names(block.dropped_headers, block.dropped_trailers)} are not sent",
                loc=block.loc,
            )


def _names(headers: tuple[Header, ...], trailers: tuple[Header, ...]) -> str:
    parts = [h.name for h in headers] + [f"trailer {h.name}" for h in trailers]
    first = (headers or trailers)[0]
    return f"{', '.join(dict.fromkeys(parts))} (set from {first.loc})"
