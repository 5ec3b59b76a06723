"""ALPN and HTTP/2: what gRPC and HTTP/2 clients need to negotiate, and socket-wide surprises."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Listener, Model, Protocol, Severity
from auditor.policies.data import nginx_defaults
from auditor.policies.registry import RuleContext, rule


def _grpc_routes(listener: Listener) -> list[str]:
    return [route.match for route in listener.routes if route.is_grpc]


@rule(
    id="alpn-h2-missing",
    severity=Severity.HIGH,
    title="TLS listener fronts gRPC or HTTP/2-only traffic without offering h2 in ALPN",
    rationale="gRPC clients require HTTP/2 and negotiate it with ALPN during the TLS handshake. When "
    "the server does not offer h2 the handshake ends with http/1.1 or no protocol, and grpc-go, "
    "grpc-java and Envoy fail with 'missing selected ALPN property' or 'unavailable'.",
    fix="Offer h2 on this listener: nginx `http2 on;` in the server (nginx selects h2 over ALPN "
    "when HTTP/2 is enabled; it has no ALPN list directive); Envoy `alpn_protocols: [h2, http/1.1]`.",
)
def alpn_h2_missing(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for listener, tls, endpoint in model.tls_endpoints():
        if "h2" in tls.alpn:
            continue
        grpc = _grpc_routes(listener)
        if grpc:
            reason = f"serves gRPC on {', '.join(grpc[:3])}"
        elif listener.codec is Protocol.H2:
            reason = "only speaks HTTP/2 (codec HTTP2)"
        else:
            continue
        offered = ", ".join(tls.alpn) if tls.alpn else "no ALPN protocol"
        yield ctx.finding(listener, f"{endpoint} {reason} but offers {offered}", loc=tls.alpn_loc or listener.loc)


@rule(
    id="alpn-h2-order",
    severity=Severity.MEDIUM,
    title="ALPN list offers http/1.1 before h2",
    rationale="The server picks the first protocol in its own list that the client also offers. With "
    "http/1.1 first, every browser and HTTP/2-capable client is downgraded to HTTP/1.1, and gRPC "
    "clients that offer both end up on HTTP/1.1 and fail.",
    fix="List h2 first: `alpn_protocols: [h2, http/1.1]`.",
)
def alpn_h2_order(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for listener, tls, endpoint in model.tls_endpoints():
        if not tls.alpn_explicit or "h2" not in tls.alpn or "http/1.1" not in tls.alpn:
            continue
        if tls.alpn.index("http/1.1") < tls.alpn.index("h2"):
            yield ctx.finding(
                listener,
                f"{endpoint} offers ALPN {', '.join(tls.alpn)}: http/1.1 is preferred over h2",
                loc=tls.alpn_loc or tls.loc,
            )


@rule(
    id="grpc-upstream-h1",
    severity=Severity.HIGH,
    title="gRPC traffic is proxied to its upstream over HTTP/1.1",
    rationale="gRPC needs HTTP/2 end to end (trailers, streams). nginx `proxy_pass` only speaks "
    "HTTP/1.x to upstreams and an Envoy cluster without HTTP/2 protocol options does the same, so "
    "every call fails with 'upstream sent invalid http/1.1 response' or grpc-status 14.",
    fix="Proxy gRPC with HTTP/2 to the upstream: nginx `grpc_pass grpc://backend;` (grpcs:// for TLS); "
    "Envoy: `typed_extension_protocol_options` with `explicit_http_config: {http2_protocol_options: {}}`.",
)
def grpc_upstream_h1(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for _, route in model.routes():
        if route.is_grpc and route.upstream_protocol is Protocol.HTTP1:
            yield ctx.finding(route, f"route {route.match} carries gRPC but reaches {route.upstream} over HTTP/1.1")


@rule(
    id="grpc-listener-no-http2",
    severity=Severity.HIGH,
    title="Plain-text listener serves gRPC without HTTP/2",
    rationale="Without TLS there is no ALPN: gRPC clients use HTTP/2 with prior knowledge (h2c). A "
    "listener that does not accept HTTP/2 answers their connection preface with an HTTP/1.1 400.",
    fix="Enable HTTP/2 on the listener (nginx: `http2 on;` in the server block).",
)
def grpc_listener_no_http2(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for listener in model.listeners:
        if listener.tls is None and not listener.http2 and listener.codec is not Protocol.H2:
            grpc = _grpc_routes(listener)
            if grpc:
                yield ctx.finding(
                    listener, f"{listener.endpoint} serves gRPC on {', '.join(grpc[:3])} but does not accept HTTP/2"
                )


@rule(
    id="http2-listen-deprecated",
    severity=Severity.LOW,
    title="HTTP/2 enabled with the deprecated `listen ... http2` parameter",
    rationale="Since nginx 1.25.1 the `http2` parameter of `listen` is deprecated (nginx -t warns) in "
    "favour of the `http2` directive, which can be set per server. The parameter also switches "
    "HTTP/2 on for every server on the same address and port.",
    fix="Remove `http2` from the listen line and add `http2 on;` to the server block.",
)
def http2_listen_deprecated(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    since = nginx_defaults().http2_listen_deprecated_since
    for listener in model.listeners:
        if listener.http2_via_listen_param:
            # The listener's own line is the `listen ... http2` line; http2_loc may be an
            # `http2 on;` in the same server, which is the replacement, not the deprecated form.
            yield ctx.finding(listener, f"`listen {listener.endpoint} ... http2` is deprecated since nginx {since}")


@rule(
    id="http2-socket-shared",
    severity=Severity.MEDIUM,
    title="HTTP/2 enabled by another server on the same address and port",
    rationale="The `http2` parameter of `listen` applies to the socket, so one server that sets it "
    "turns HTTP/2 on for every server sharing that address:port, including ones written for "
    "HTTP/1.1 only (clients then hit HTTP/2-specific limits or connection coalescing across names).",
    fix="Decide HTTP/2 per server: drop `http2` from every listen line and use `http2 on;` or "
    "`http2 off;` in each server block.",
)
def http2_socket_shared(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    enablers: dict[tuple[str, str], Listener] = {}
    for listener in model.listeners:
        if listener.http2_via_listen_param:
            enablers.setdefault((listener.instance, listener.endpoint), listener)
    for listener in model.listeners:
        source = enablers.get((listener.instance, listener.endpoint))
        if source is not None and listener.http2 and not listener.http2_explicit:
            yield ctx.finding(
                listener,
                f"{listener.endpoint} gets HTTP/2 from {source.resource} at {source.loc}, "
                "not from its own configuration",
            )
