"""Envoy listeners, filter chains, HTTP connection managers and routes into the model.

Each filter chain becomes one ``Listener``: chains of one Envoy listener share the socket but
each has its own TLS context, server names and routes. The HTTP connection manager's
``codec_type`` defaults to AUTO (HTTP/1.1 or HTTP/2 by inspecting the first bytes, or by ALPN
under TLS):
https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto
Headers from ``request_headers_to_add`` apply at route, virtual host and route configuration
level together (Envoy does not drop outer levels the way nginx drops inherited
``proxy_set_header``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.model import Header, Listener, Location, Protocol, Route, TlsSettings, Upstream
from auditor.parsers.envoy_nodes import Instance, Node, config_source_path, is_type, typed
from auditor.parsers.envoy_tls import downstream_tls, is_tls_socket

_CODECS = {"AUTO": Protocol.AUTO, "HTTP1": Protocol.HTTP1, "HTTP2": Protocol.H2, "0": Protocol.AUTO,
           "1": Protocol.HTTP1, "2": Protocol.H2}
_HCM_NAMES = ("envoy.filters.network.http_connection_manager", "envoy.http_connection_manager")
_TCP_NAMES = ("envoy.filters.network.tcp_proxy", "envoy.tcp_proxy")
_GRPC_PATH = re.compile(r"^/[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+/")


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
        name, host, port,
        reads_client_hello=any(_is_filter(f, "TlsInspector", "envoy.filters.listener.tls_inspector",
                                          "envoy.listener.tls_inspector", "tls_inspector") for f in filters),
        reads_http=any(_is_filter(f, "HttpInspector", "envoy.filters.listener.http_inspector",
                                  "envoy.listener.http_inspector", "http_inspector") for f in filters),
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
    selected_by = tuple(s for s, on in (("server_names", bool(server_names)),
                                        ("transport_protocol tls", transport == "tls"),
                                        ("application_protocols", bool(app_protocols))) if on)
    reads = socket.reads_client_hello or (selected_by == ("application_protocols",) and socket.reads_http)
    tls_socket = chain.get("transport_socket")
    tls = downstream_tls(tls_socket, inst) if tls_socket is not None and is_tls_socket(
        tls_socket, "DownstreamTlsContext") else None
    hcm = next((typed(f) for f in chain.list("filters") if _is_filter(f, "HttpConnectionManager", *_HCM_NAMES)), None)
    is_tcp = any(_is_filter(f, "TcpProxy", *_TCP_NAMES) for f in chain.list("filters"))
    codec, codec_node = Protocol.TCP, None
    routes: tuple[Route, ...] = ()
    domains: tuple[str, ...] = ()
    if hcm is not None:
        codec_node = hcm.get("codec_type")
        # Envoy parses enums case-insensitively when upper-casing helps ("auto" is AUTO).
        codec = _CODECS.get(str(codec_node.value).upper(), Protocol.UNKNOWN) if codec_node else Protocol.AUTO
        routes, domains = _routes(hcm, inst, has_cors=any(
            _is_filter(f, "Cors", "envoy.filters.http.cors", "envoy.cors") for f in hcm.list("http_filters")))
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


def _http2(hcm: Node | None, codec: Protocol, codec_node: Node | None,
           tls: TlsSettings | None) -> tuple[bool, bool, Location | None]:
    if hcm is None or codec not in (Protocol.AUTO, Protocol.H2):
        return False, False, None
    options = hcm.get("http2_protocol_options")
    # Under TLS clients reach HTTP/2 through ALPN; in plain text AUTO also takes prior-knowledge h2c.
    offered = codec is Protocol.H2 or tls is None or "h2" in tls.alpn
    explicit = codec is Protocol.H2 or options is not None or (tls is not None and "h2" in tls.alpn)
    where = codec_node if codec is Protocol.H2 else options
    loc = where.loc if where is not None else (tls.alpn_loc if tls is not None else None)
    return offered, explicit, loc


# -- routes ------------------------------------------------------------------------------------


def _routes(hcm: Node, inst: Instance, has_cors: bool) -> tuple[tuple[Route, ...], tuple[str, ...]]:
    config = hcm.get("route_config")
    if config is None:
        rds = hcm.get("rds")
        if rds is None:
            return (), ()  # scoped routes or none
        name = rds.text("route_config_name")
        path = config_source_path(rds.get("config_source"))
        if path is not None:
            found = [n for n in inst.resources(path, "RDS") if n.text("name") == name]
            config = found[0] if found else None
        else:
            config = inst.route_configs.get(name)  # same xDS file, else ADS / gRPC: not in the tree
        if config is None:
            return (), ()
    routes: list[Route] = []
    domains: list[str] = []
    for vhost in config.list("virtual_hosts"):
        domains.extend(_domain(d) for d in vhost.strings("domains"))
        for entry in vhost.list("routes"):
            route = _route(entry, vhost, config, inst, has_cors)
            if route is not None:
                routes.append(route)
    return tuple(routes), tuple(d for d in dict.fromkeys(domains) if d)


def _domain(value: str) -> str:
    """``api.example.com:8443`` -> ``api.example.com``; catch-alls stay for the rules to skip."""
    if value.startswith("["):
        return value.split("]")[0] + "]"
    host, sep, port = value.rpartition(":")
    return host if sep and (port.isdigit() or port == "*") else value


def _route(entry: Node, vhost: Node, config: Node, inst: Instance, has_cors: bool) -> Route | None:
    action = entry.get("route")
    if action is None:
        return None  # redirect, direct_response, filter_action: nothing is proxied
    match = entry.get("match")
    text, prefix = _match_text(match)
    targets = _targets(action)
    upstreams = [inst.clusters.get(t) for t in targets]
    protocol = _protocol(upstreams)
    is_grpc = match is not None and (match.has("grpc") or bool(_GRPC_PATH.match(prefix or "")) or _grpc_header(match))
    strip, rewrite_loc = _strip(action, prefix)
    vhost_name = vhost.text("name") or "vhost"
    return Route(
        loc=entry.loc,
        resource=f"envoy route {text} ({vhost_name})",
        match=text,
        match_prefix=prefix,
        is_grpc=is_grpc,
        upstream=", ".join(targets) or None,
        upstream_protocol=protocol,
        strip_prefix=strip,
        rewrite_loc=rewrite_loc,
        request_headers=_level_headers((entry, vhost, config), "request_headers_to_add", "request_headers_to_remove"),
        response_headers=_level_headers((entry, vhost, config), "response_headers_to_add",
                                        "response_headers_to_remove") + (_cors(entry, vhost) if has_cors else ()),
        upstream_ref=next((u for u in upstreams if u is not None), None),
    )


def _match_text(match: Node | None) -> tuple[str, str | None]:
    if match is None:
        return "(no match)", None
    for key in ("prefix", "path_separated_prefix"):
        if match.has(key):
            value = match.text(key)
            return value or "/", value or "/"
    if match.has("path"):
        return f"path {match.text('path')}", None
    regex = match.get("safe_regex")
    if regex is not None:
        return f"regex {regex.text('regex')}", None
    if match.has("connect_matcher"):
        return "CONNECT", None
    template = match.dig("path_match_policy", "typed_config")
    if template is not None:
        return f"template {template.text('path_template')}", None
    return "(match)", None


def _grpc_header(match: Node) -> bool:
    for header in match.list("headers"):
        if header.text("name").lower() == "content-type":
            values = [header.text(k) for k in ("exact_match", "prefix_match")]
            string_match = header.get("string_match")
            if string_match is not None:
                values += [string_match.text(k) for k in ("exact", "prefix")]
            if any(v.startswith("application/grpc") for v in values):
                return True
    return False


def _targets(action: Node) -> list[str]:
    if action.has("cluster"):
        return [action.text("cluster")]
    weighted = action.get("weighted_clusters")
    if weighted is not None:
        return [c.text("name") for c in weighted.list("clusters") if c.text("name")]
    return []  # cluster_header / cluster_specifier_plugin: chosen per request


def _protocol(upstreams: list[Upstream | None]) -> Protocol:
    known = [u for u in upstreams if u is not None]
    if any(u.protocol is Protocol.HTTP1 for u in known):
        return Protocol.HTTP1
    if known and len(known) == len(upstreams):
        return known[0].protocol
    return Protocol.UNKNOWN  # a cluster from CDS over gRPC/ADS, or picked per request


def _strip(action: Node, prefix: str | None) -> tuple[str | None, Location | None]:
    rewrite = action.get("prefix_rewrite")
    if rewrite is not None and prefix is not None:
        strip = _strip_prefix(prefix, str(rewrite.value))
        return strip, rewrite.loc if strip else None
    regex = action.get("regex_rewrite")
    if regex is not None:
        strip = _regex_strip(regex.dig("pattern", "regex"), regex.text("substitution"))
        return strip, regex.loc if strip else None
    return None, None


def _strip_prefix(prefix: str, replacement: str) -> str | None:
    """``prefix: /prometheus/`` + ``prefix_rewrite: /`` sends /prometheus/x as /x: "/prometheus"."""
    matched, kept = prefix.rstrip("/"), replacement.rstrip("/")
    if matched.endswith(kept) and len(matched) > len(kept):
        return matched[: len(matched) - len(kept)] or None
    return None


_META = set(".^$*+?()[]{}|\\")


def _regex_strip(pattern: Node | None, substitution: str) -> str | None:
    """``regex_rewrite: {pattern: {regex: "^/api/(.*)"}, substitution: "/\\1"}`` strips "/api"."""
    if pattern is None:
        return None
    regex = str(pattern.value)
    if not regex.startswith("^"):
        return None
    literal, index = [], 1
    while index < len(regex):
        char = regex[index]
        if char == "\\" and index + 1 < len(regex) and regex[index + 1] in "./-":
            literal.append(regex[index + 1])
            index += 2
            continue
        if char in _META:
            break
        literal.append(char)
        index += 1
    rest = regex[index:].removesuffix("$")
    if rest in ("", ".*"):
        kept = substitution
    elif re.fullmatch(r"\((?:\?:)?/?\.[*+]\)", rest) and re.fullmatch(r"[^\\]*\\1", substitution):
        kept = substitution[:-2]
    else:
        return None
    if "\\" in kept:
        return None
    return _strip_prefix("".join(literal), kept)


def _level_headers(levels: tuple[Node, ...], add_key: str, remove_key: str) -> tuple[Header, ...]:
    """Headers added at route, virtual host and route configuration level (most specific first);
    a name removed at a more specific level drops what the outer levels add."""
    headers: list[Header] = []
    removed: set[str] = set()
    for level in levels:
        for item in level.list(add_key):
            header = item.get("header")
            if header is not None and header.text("key").lower() not in removed:
                headers.append(Header(header.text("key").lower(), header.text("value"), header.loc))
        removed.update(name.lower() for name in level.strings(remove_key))
    return tuple(headers)


# -- CORS --------------------------------------------------------------------------------------

_ANY_ORIGIN = ("*", "https://any-site.example")


def _cors(entry: Node, vhost: Node) -> tuple[Header, ...]:
    """The headers the CORS filter answers with, when its policy lets any origin in with
    credentials. Envoy echoes the request's Origin in Access-Control-Allow-Origin, and a matcher
    that matches "*" allows every origin (source/extensions/filters/http/cors/cors_filter.cc).
    The most specific policy wins: the route's, then the virtual host's."""
    policy = None
    for level, action in ((entry, entry.get("route")), (vhost, None)):
        policy = level.dig("typed_per_filter_config", "envoy.filters.http.cors") or (
            action.get("cors") if action is not None else level.get("cors"))
        if policy is not None:
            break
    if policy is None or not isinstance(policy.value, dict) or policy.value.get("allow_credentials") is not True:
        return ()
    for matcher in policy.list("allow_origin_string_match"):
        if any(_string_matches(matcher, origin) for origin in _ANY_ORIGIN):
            credentials = policy.get("allow_credentials")
            return (Header("access-control-allow-origin", "%REQ(origin)%", matcher.loc),
                    Header("access-control-allow-credentials", "true",
                           credentials.loc if credentials is not None else policy.loc))
    return ()


def _string_matches(matcher: Node, value: str) -> bool:
    """Envoy's StringMatcher (exact, prefix, suffix, contains, safe_regex; ignore_case)."""
    fold = matcher.value.get("ignore_case") is True
    text = value.lower() if fold else value
    for key, test in (("exact", str.__eq__), ("prefix", str.startswith), ("suffix", str.endswith),
                      ("contains", str.__contains__)):
        if matcher.has(key):
            wanted = matcher.text(key)
            return bool(test(text, wanted.lower() if fold else wanted))
    regex = matcher.dig("safe_regex", "regex")
    if regex is not None:
        try:
            return re.fullmatch(str(regex.value), value) is not None
        except re.error:
            return False
    return False
