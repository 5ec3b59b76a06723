"""Envoy listeners, filter chains, HTTP connection managers and routes into the model.

Each filter chain becomes one ``Listener``: chains of one Envoy listener share the socket but
each has its own TLS context, server names and routes. The HTTP connection manager's
``codec_type`` defaults to AUTO (HTTP/1.1 or HTTP/2 by inspecting the first bytes, or by ALPN
under TLS):
https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto
Routes come from ``routes``.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model import Listener, Location, Protocol, Route, TlsSettings
from auditor.parsers.envoy.nodes import Instance, Node, is_type, typed
from auditor.parsers.envoy.routes import routes as route_config_routes
from auditor.parsers.envoy.tls import downstream_tls, is_tls_socket

_CODECS = {
    "AUTO": Protocol.AUTO,
    "HTTP1": Protocol.HTTP1,
    "HTTP2": Protocol.H2,
    "0": Protocol.AUTO,
    "1": Protocol.HTTP1,
    "2": Protocol.H2,
}
_HCM_NAMES = ("envoy.filters.network.http_connection_manager", "envoy.http_connection_manager")
_TCP_NAMES = ("envoy.filters.network.tcp_proxy", "envoy.tcp_proxy")


@dataclass(frozen=True, slots=True)
class _Socket:
    name: str
    address: str
    port: int | None
    reads_client_hello: bool  # a tls_inspector listener filter
    reads_http: bool  # an http_inspector listener filter (plain-text application_protocols)
    several_chains: bool


def listeners(node: Node, inst: Instance) -> list[Listener]:
    address = node.dig("address", "socket_address")
    if address is not None and address.text("protocol").upper() == "UDP":
        return []  # QUIC / UDP: HTTP/3 is always TLS 1.3, not modelled (as nginx `listen ... quic`)
    host, port = _address(node)
    name = node.text("name") or (f"{host}:{port}" if port is not None else host)
    filters = node.list("listener_filters")
    chains = node.list("filter_chains")
    default = node.get("default_filter_chain")
    socket = _Socket(
        name,
        host,
        port,
        reads_client_hello=any(
            _is_filter(
                f,
                "TlsInspector",
                "envoy.filters.listener.tls_inspector",
                "envoy.listener.tls_inspector",
                "tls_inspector",
            )
            for f in filters
        ),
        reads_http=any(
            _is_filter(
                f,
                "HttpInspector",
                "envoy.filters.listener.http_inspector",
                "envoy.listener.http_inspector",
                "http_inspector",
            )
            for f in filters
        ),
        several_chains=len(chains) + (default is not None) > 1,
    )
    result = [_chain(chain, index, node, socket, inst) for index, chain in enumerate(chains)]
    if default is not None:
        result.append(_chain(default, None, node, socket, inst))
    return result


def _is_filter(node: Node, message: str, *names: str) -> bool:
    config = typed(node)
    if config is not None and config.has("@type"):
        return is_type(config, message)
    return node.text("name") in names


def _address(node: Node) -> tuple[str, int | None]:
    socket = node.dig("address", "socket_address")
    if socket is not None:
        host = socket.text("address", "0.0.0.0")  # noqa: S104 - Envoy's notation, not a bind
        port = socket.text("port_value")
        return (f"[{host}]" if ":" in host else host), int(port) if port.isdigit() else None
    pipe = node.dig("address", "pipe")
    if pipe is not None:
        return f"unix:{pipe.text('path')}", None
    internal = node.dig("address", "envoy_internal_address")
    return (f"internal:{internal.text('server_listener_name')}" if internal else "internal"), None


def _chain(chain: Node, index: int | None, listener: Node, socket: _Socket, inst: Instance) -> Listener:
    label = f"envoy listener {socket.name}"
    if socket.several_chains:
        label += f" chain {chain.text('name') or ('default' if index is None else index)}"
    match = chain.get("filter_chain_match")
    server_names = match.strings("server_names") if match is not None else ()
    transport = match.text("transport_protocol") if match is not None else ""
    app_protocols = match.strings("application_protocols") if match is not None else ()
    selected_by = tuple(
        s
        for s, on in (
            ("server_names", bool(server_names)),
            ("transport_protocol tls", transport == "tls"),
            ("application_protocols", bool(app_protocols)),
        )
        if on
    )
    reads = socket.reads_client_hello or (selected_by == ("application_protocols",) and socket.reads_http)
    tls_socket = chain.get("transport_socket")
    tls = (
        downstream_tls(tls_socket, inst)
        if tls_socket is not None and is_tls_socket(tls_socket, "DownstreamTlsContext")
        else None
    )
    hcm = next((typed(f) for f in chain.list("filters") if _is_filter(f, "HttpConnectionManager", *_HCM_NAMES)), None)
    is_tcp = any(_is_filter(f, "TcpProxy", *_TCP_NAMES) for f in chain.list("filters"))
    codec, codec_node = Protocol.TCP, None
    routes: tuple[Route, ...] = ()
    domains: tuple[str, ...] = ()
    if hcm is not None:
        codec_node = hcm.get("codec_type")
        # Envoy parses enums case-insensitively when upper-casing helps ("auto" is AUTO).
        codec = _CODECS.get(str(codec_node.value).upper(), Protocol.UNKNOWN) if codec_node else Protocol.AUTO
        routes, domains = route_config_routes(
            hcm,
            inst,
            has_cors=any(
                _is_filter(f, "Cors", "envoy.filters.http.cors", "envoy.cors") for f in hcm.list("http_filters")
            ),
        )
    http2, http2_explicit, http2_loc = _http2(hcm, codec, codec_node, tls)
    names = tuple(dict.fromkeys([*server_names, *domains]))
    return Listener(
        loc=chain.loc if socket.several_chains else listener.loc,
        resource=label,
        source_kind="envoy",
        instance=inst.entry.file,
        address=socket.address,
        port=socket.port,
        tls=tls,
        server_names=names,
        http2=http2,
        http2_explicit=http2_explicit,
        http2_loc=http2_loc,
        tls_expected=tls is not None or bool(selected_by),
        default_server=match is None,
        routes=routes,
        codec=codec,
        tls_passthrough=tls is None and hcm is None and (is_tcp or transport == "tls" or bool(server_names)),
        selected_by=selected_by,
        selection_loc=match.loc if match is not None and selected_by else None,
        client_hello_read=reads or not selected_by,
    )


def _http2(
    hcm: Node | None, codec: Protocol, codec_node: Node | None, tls: TlsSettings | None
) -> tuple[bool, bool, Location | None]:
    if hcm is None or codec not in (Protocol.AUTO, Protocol.H2):
        return False, False, None
    options = hcm.get("http2_protocol_options")
    # Under TLS clients reach HTTP/2 through ALPN; in plain text AUTO also takes prior-knowledge h2c.
    offered = codec is Protocol.H2 or tls is None or "h2" in tls.alpn
    explicit = codec is Protocol.H2 or options is not None or (tls is not None and "h2" in tls.alpn)
    where = codec_node if codec is Protocol.H2 else options
    loc = where.loc if where is not None else (tls.alpn_loc if tls is not None else None)
    return offered, explicit, loc
