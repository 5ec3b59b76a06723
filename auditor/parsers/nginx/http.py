"""nginx ``http`` and ``stream`` servers into listeners, TLS settings and routes.

Inheritance follows nginx: a setting holds from the outer level (http -> server -> location)
unless the inner level sets it; array-like directives (``proxy_set_header``, ``add_header``,
``ssl_certificate``) are inherited only when the inner level sets none of them at all, so one
``proxy_set_header`` in a location silently drops every header set at server level.
``add_header_inherit`` / ``add_trailer_inherit`` (nginx 1.29.3+) change that for ``add_header``
and ``add_trailer``: ``merge`` appends the outer values to the inner ones, ``off`` inherits
nothing; the mode itself is inherited like any other setting. ``proxy_set_header`` has no such
switch in nginx (only third-party patches add ``proxy_set_header_inherit``; nginx 1.31 refuses it).
See ngx_http_headers_merge_conf() in src/http/modules/ngx_http_headers_filter_module.c.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.model import (
    CertificateRef,
    ConditionalHeaders,
    Header,
    Listener,
    Location,
    Model,
    Protocol,
    Route,
    TlsSettings,
    TlsVersion,
    Upstream,
)
from auditor.parsers import tlsinfo
from auditor.parsers.rewrite import anchored_prefix
from auditor.policies.data import nginx_defaults

if TYPE_CHECKING:
    from auditor.parsers.nginx import Node, Tree

_GRPC_PATH = re.compile(r"^/[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)+/")
_SCOPE_DIRECTIVES = {
    "ssl_protocols",
    "ssl_ciphers",
    "http2",
    "ssl",
    "ssl_reject_handshake",
    "proxy_set_header",
    "grpc_set_header",
    "add_header",
    "add_header_inherit",
    "add_trailer",
    "add_trailer_inherit",
    "ssl_certificate",
    "ssl_certificate_key",
}


@dataclass(frozen=True, slots=True)
class Scope:
    """Settings in force at one level, after inheritance."""

    protocols: tuple[tuple[str, ...], Location] | None = None
    ciphers: tuple[str, Location] | None = None
    http2: tuple[bool, Location] | None = None
    ssl_on: bool = False
    reject_handshake: bool = False
    certificates: tuple[Node, ...] = ()
    keys: tuple[Node, ...] = ()
    proxy_headers: tuple[Header, ...] = ()
    grpc_headers: tuple[Header, ...] = ()
    add_headers: tuple[Header, ...] = ()
    add_trailers: tuple[Header, ...] = ()
    headers_inherit: str = "on"  # add_header_inherit: on, merge or off
    trailers_inherit: str = "on"  # add_trailer_inherit
    # Headers an outer level set that this level's own proxy_set_header/add_header dropped.
    dropped: tuple[tuple[str, Header], ...] = ()  # (scope field, header)

    def merge(self, nodes: list[Node]) -> Scope:
        changes: dict[str, object] = {}
        own: dict[str, list[Header]] = {"proxy_headers": [], "grpc_headers": [], "add_headers": [], "add_trailers": []}
        certs: list[Node] = []
        keys: list[Node] = []
        for node in nodes:
            if node.name not in _SCOPE_DIRECTIVES:
                continue
            args = node.args
            if node.name == "ssl_protocols":
                changes["protocols"] = (tuple(args), node.loc)
            elif node.name == "ssl_ciphers" and args:
                changes["ciphers"] = (args[0], node.loc)
            elif node.name == "http2" and args:
                changes["http2"] = (args[0] == "on", node.loc)
            elif node.name == "ssl" and args:
                changes["ssl_on"] = args[0] == "on"
            elif node.name == "ssl_reject_handshake" and args:
                changes["reject_handshake"] = args[0] == "on"
            elif node.name == "ssl_certificate" and args:
                certs.append(node)
            elif node.name == "ssl_certificate_key" and args:
                keys.append(node)
            elif node.name in _INHERIT_SWITCHES and args and args[0] in ("on", "off", "merge"):
                changes[_INHERIT_SWITCHES[node.name]] = args[0]
            elif node.name in _HEADER_LISTS and len(args) >= 2:
                own[_HEADER_LISTS[node.name]].append(Header(args[0].lower(), args[1], node.loc))
        for name, values in (("certificates", certs), ("keys", keys)):
            if values:
                changes[name] = tuple(values)
        dropped = list(self.dropped)
        for name, headers in own.items():
            switch = _MODE_OF.get(name)  # proxy_set_header and grpc_set_header have none
            mode = str(changes.get(switch, getattr(self, switch))) if switch else "on"
            outer: tuple[Header, ...] = getattr(self, name)
            if mode == "off":
                # Deliberate: the outer values are not wanted here, so nothing is "dropped".
                changes[name] = tuple(headers)
            elif headers and mode == "merge":
                changes[name] = tuple(headers) + outer
            elif headers:
                changes[name] = tuple(headers)
                names = {h.name for h in headers}
                dropped = [(kind, h) for kind, h in dropped if kind != name or h.name not in names]
                dropped += [(name, h) for h in outer if h.name not in names]
        if dropped != list(self.dropped):
            changes["dropped"] = tuple(dropped)
        return dataclasses.replace(self, **changes) if changes else self  # type: ignore[arg-type]


_HEADER_LISTS = {
    "proxy_set_header": "proxy_headers",
    "grpc_set_header": "grpc_headers",
    "add_header": "add_headers",
    "add_trailer": "add_trailers",
}
_INHERIT_SWITCHES = {"add_header_inherit": "headers_inherit", "add_trailer_inherit": "trailers_inherit"}
_MODE_OF = {"add_headers": "headers_inherit", "add_trailers": "trailers_inherit"}


@dataclass(slots=True)
class _Pending:
    """A listener before socket-wide HTTP/2 is known."""

    fields: dict[str, object]
    endpoint: tuple[str, int | None]
    listen_http2: bool
    listen_ssl: bool
    make_tls: Callable[[], TlsSettings]


@dataclass(slots=True)
class Builder:
    tree: Tree
    instance: str
    prefix: Path
    model: Model
    pending: list[_Pending] = field(default_factory=list)

    def build(self, top: list[Node]) -> None:
        nodes = list(self.tree.expand(top, self.prefix))
        root = Scope()
        for node in nodes:
            if node.name == "http":
                self._http(node, root)
            elif node.name == "stream":
                self._stream(node, root)
        if any(n.name == "server" for n in nodes):
            # A conf.d/ or sites-enabled/ file whose includer is not in the tree: http context.
            self._servers(nodes, root.merge(nodes))
        self._finish()

    def _http(self, http: Node, parent: Scope) -> None:
        nodes = list(self.tree.expand(http.children(), self.prefix))
        scope = parent.merge(nodes)
        for node in nodes:
            if node.name == "upstream" and node.args:
                self._upstream(node)
        self._servers(nodes, scope)

    def _servers(self, nodes: list[Node], scope: Scope) -> None:
        for node in nodes:
            if node.name == "server" and node.block is not None:
                self._server(node, scope, stream=False)

    def _stream(self, stream: Node, parent: Scope) -> None:
        nodes = list(self.tree.expand(stream.children(), self.prefix))
        scope = parent.merge(nodes)
        for node in nodes:
            if node.name == "server" and node.block is not None:
                self._server(node, scope, stream=True)

    def _upstream(self, node: Node) -> None:
        servers = tuple(n.args[0] for n in node.children() if n.name == "server" and n.args)
        self.model.upstreams.append(
            Upstream(
                node.loc,
                f"nginx upstream {node.args[0]}",
                node.args[0],
                Protocol.UNKNOWN,
                False,
                False,
                endpoints=servers,
            )
        )

    # -- servers ---------------------------------------------------------------------------------

    def _server(self, server: Node, parent: Scope, stream: bool) -> None:
        nodes = list(self.tree.expand(server.children(), self.prefix))
        scope = parent.merge(nodes)
        names = tuple(a for n in nodes if n.name == "server_name" for a in n.args)
        label = names[0] if names and names[0] not in ("_", "") else "(default)"
        listens = [n for n in nodes if n.name == "listen" and n.args]
        routes = () if stream else self._routes(server, nodes, scope, label)
        kind = "stream server" if stream else "server"
        listens_parsed: list[tuple[str, int | None, set[str], Location]]
        if not listens:
            listens_parsed = [("*", 80, set(), server.loc)]
        else:
            listens_parsed = [(*_listen_address(n.args[0]), set(n.args[1:]), n.loc) for n in listens]
        for address, port, params, listen_loc in listens_parsed:
            if "quic" in params:
                continue  # HTTP/3 over UDP: always TLS 1.3, modelled by the TCP listener beside it
            is_tls = "ssl" in params or scope.ssl_on
            tls = self._tls(server, scope, stream) if is_tls else None
            http2_explicit = scope.http2 is not None and scope.http2[0]
            http2_loc = scope.http2[1] if scope.http2 else (listen_loc if "http2" in params else None)
            fields: dict[str, object] = dict(
                loc=listen_loc,
                resource=f"nginx {kind} {label}:{port if port is not None else address}",
                source_kind="nginx",
                instance=self.instance,
                address=address,
                port=port,
                tls=tls,
                server_names=names,
                http2=http2_explicit or "http2" in params,
                http2_explicit=http2_explicit or "http2" in params,
                http2_loc=http2_loc,
                http2_via_listen_param="http2" in params,
                tls_expected=is_tls or port == 443,
                default_server="default_server" in params or "default" in params,
                routes=routes,
                codec=Protocol.TCP if stream else Protocol.AUTO,
            )
            self.pending.append(
                _Pending(
                    fields,
                    (address, port),
                    "http2" in params,
                    "ssl" in params,
                    lambda: self._tls(server, scope, stream),
                )
            )

    def _tls(self, server: Node, scope: Scope, stream: bool) -> TlsSettings:
        defaults = nginx_defaults()
        if scope.protocols is not None:
            names, protocols_loc = scope.protocols
            protocols = tuple(p for p in (tlsinfo.protocol(n) for n in names) if p is not None)
            note = f"ssl_protocols {' '.join(names)}"
            explicit = True
        else:
            protocols = defaults.ssl_protocols
            protocols_loc = server.loc
            note = (
                f"ssl_protocols not set: nginx {defaults.version} default "
                f"{' '.join(p.value for p in defaults.ssl_protocols)} assumed"
            )
            explicit = False
        cipher_spec = scope.ciphers[0] if scope.ciphers else None
        ciphers = tlsinfo.expand_ciphers(cipher_spec or defaults.ssl_ciphers)
        default_ciphers = tlsinfo.expand_ciphers(defaults.ssl_ciphers)
        http2 = scope.http2 is not None and scope.http2[0]
        refs = self._certificates(scope)
        return TlsSettings(
            loc=protocols_loc,
            protocols=tuple(sorted(protocols, key=TlsVersion.ordered().index)),
            protocols_explicit=explicit,
            protocols_note=note,
            cipher_spec=cipher_spec,
            ciphers=ciphers,
            ciphers_loc=scope.ciphers[1] if scope.ciphers else None,
            # nginx has no ALPN list: it offers h2 when HTTP/2 is on for the socket or the
            # SNI-selected server, else http/1.1 (fixed up for the socket in _finish).
            alpn=() if stream else (("h2", "http/1.1") if http2 else ("http/1.1",)),
            alpn_explicit=False,
            alpn_loc=None,
            certificates=refs,
            ciphers_default=cipher_spec is not None and ciphers == default_ciphers,
            rejects_handshake=scope.reject_handshake,
        )

    def _certificates(self, scope: Scope) -> tuple[CertificateRef, ...]:
        refs = []
        for index, cert in enumerate(scope.certificates):
            key = scope.keys[index] if index < len(scope.keys) else None
            refs.append(
                self.tree.ctx.certs.reference(
                    cert.loc, cert.args[0], key.args[0] if key else None, self.prefix, key_loc=key.loc if key else None
                )
            )
        return tuple(refs)

    def _finish(self) -> None:
        """``listen`` parameters belong to the socket: ``ssl`` or ``http2`` on one server's listen
        line applies to every server on that address:port."""
        socket_h2 = {p.endpoint for p in self.pending if p.listen_http2}
        socket_ssl = {p.endpoint for p in self.pending if p.listen_ssl}
        for item in self.pending:
            fields = item.fields
            if item.endpoint in socket_ssl and fields["tls"] is None:
                fields["tls"] = item.make_tls()
                fields["tls_expected"] = True
            if item.endpoint in socket_h2 and not fields["http2"]:
                fields["http2"] = True
            tls = fields["tls"]
            if isinstance(tls, TlsSettings) and fields["http2"] and "h2" not in tls.alpn:
                fields["tls"] = dataclasses.replace(tls, alpn=("h2", "http/1.1"))
            self.model.listeners.append(Listener(**fields))  # type: ignore[arg-type]
        self.pending.clear()

    # -- locations -------------------------------------------------------------------------------

    def _routes(self, server: Node, nodes: list[Node], scope: Scope, label: str) -> tuple[Route, ...]:
        routes: list[Route] = []
        for node in nodes:
            if node.name == "location" and node.block is not None:
                self._location(node, scope, label, routes)
        if not routes and scope.add_headers:
            routes.append(
                Route(
                    server.loc,
                    f"nginx server {label}",
                    "/",
                    "/",
                    False,
                    None,
                    Protocol.UNKNOWN,
                    response_headers=scope.add_headers,
                )
            )
        return tuple(routes)

    def _location(self, location: Node, parent: Scope, label: str, out: list[Route]) -> None:
        nodes = list(self.tree.expand(location.children(), self.prefix))
        scope = parent.merge(nodes)
        match = " ".join(location.args)
        prefix = _literal_prefix(location.args)
        inner = nodes + [c for n in nodes if n.name == "if" for c in n.children()]
        passes = [n for n in inner if n.name in ("proxy_pass", "grpc_pass") and n.args]
        upstream = passes[0] if passes else None
        rewrite = next((n for n in nodes if n.name == "rewrite" and len(n.args) >= 2), None)
        strip, rewrite_loc = None, None
        if rewrite is not None and upstream is not None:
            strip = _rewrite_strip(rewrite.args)
            rewrite_loc = rewrite.loc if strip else None
        elif upstream is not None and upstream.name == "proxy_pass" and prefix is not None:
            strip = _proxy_pass_strip(prefix, upstream.args[0], location.args)
            rewrite_loc = upstream.loc if strip else None
        conditional = self._conditional_headers(nodes, scope)
        trailers = tuple(h for kind, h in scope.dropped if kind == "add_trailers")
        if upstream is not None:
            is_grpc_pass = upstream.name == "grpc_pass"
            protocol = Protocol.GRPC if is_grpc_pass else Protocol.HTTP1
            target = upstream.args[0]
            # gRPC is recognised by grpc_pass or by a gRPC method path (/package.Service/); not by
            # upstream names: a "grpc-gateway" upstream is grpc-gateway's JSON/HTTP 1.1 side.
            is_grpc = is_grpc_pass or bool(_GRPC_PATH.match(prefix or ""))
            headers = scope.grpc_headers if is_grpc_pass else scope.proxy_headers
            kept = ("add_headers", "grpc_headers" if is_grpc_pass else "proxy_headers")
            dropped = tuple(h for kind, h in scope.dropped if kind in kept)
            out.append(
                Route(
                    location.loc,
                    f"nginx location {match} ({label})",
                    match,
                    prefix,
                    is_grpc,
                    target,
                    protocol,
                    strip,
                    rewrite_loc,
                    headers,
                    scope.add_headers,
                    dropped_headers=dropped,
                    dropped_trailers=trailers,
                    conditional=conditional,
                )
            )
        elif scope.add_headers or scope.add_trailers or conditional:
            dropped = tuple(h for kind, h in scope.dropped if kind == "add_headers")
            out.append(
                Route(
                    location.loc,
                    f"nginx location {match} ({label})",
                    match,
                    prefix,
                    False,
                    None,
                    Protocol.UNKNOWN,
                    response_headers=scope.add_headers,
                    dropped_headers=dropped,
                    dropped_trailers=trailers,
                    conditional=conditional,
                )
            )
        for node in nodes:
            if node.name == "location" and node.block is not None:
                self._location(node, scope, label, out)

    def _conditional_headers(self, nodes: list[Node], scope: Scope) -> tuple[ConditionalHeaders, ...]:
        """``if`` in a location is a nested location: its own add_header replaces the location's
        (and what the location inherited) for the requests that enter it."""
        found = []
        for node in nodes:
            if node.name != "if" or node.block is None:
                continue
            inner = scope.merge(list(self.tree.expand(node.children(), self.prefix)))
            new = [(kind, h) for kind, h in inner.dropped if (kind, h) not in scope.dropped]
            headers = tuple(h for kind, h in new if kind == "add_headers")
            trailers = tuple(h for kind, h in new if kind == "add_trailers")
            if headers or trailers:
                found.append(ConditionalHeaders(node.loc, f"if ({' '.join(node.args)})", headers, trailers))
        return tuple(found)


_ANY_ADDRESS = ("*", "0.0.0.0")  # noqa: S104 - names nginx's wildcard address, binds nothing


def _listen_address(value: str) -> tuple[str, int | None]:
    if value.startswith("unix:"):
        return value, None
    if value.isdigit():
        return "*", int(value)
    if value.startswith("["):
        host, _, port = value.partition("]")
        host += "]"
        port = port.lstrip(":")
        return host, int(port) if port.isdigit() else 80
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit():
        return ("*" if host in _ANY_ADDRESS else host), int(port)
    return ("*" if value in _ANY_ADDRESS else value), 80


def _literal_prefix(args: list[str]) -> str | None:
    if len(args) == 1 and not args[0].startswith("@"):
        return args[0]
    if len(args) == 2 and args[0] in ("^~", "="):
        return args[1]
    return None


def _proxy_pass_strip(prefix: str, url: str, location_args: list[str]) -> str | None:
    """``location /prom/ { proxy_pass http://b/; }`` sends /prom/x upstream as /x: "/prom" is stripped."""
    if "$" in url or "://" not in url or (location_args and location_args[0] == "="):
        return None
    rest = url.split("://", 1)[1]
    if "/" not in rest:
        return None  # no URI part: the request URI is passed unchanged
    uri = "/" + rest.split("/", 1)[1]
    if prefix.endswith(uri) and len(prefix) > len(uri):
        return prefix[: len(prefix) - len(uri)] or None
    return None


def _rewrite_strip(args: list[str]) -> str | None:
    """``rewrite ^/api/(.*)$ /$1 break;`` removes "/api" from the path before proxying."""
    regex, replacement = args[0], args[1]
    flag = args[2] if len(args) > 2 else ""
    if flag not in ("", "break", "last") or "://" in replacement:
        return None
    split = anchored_prefix(regex)
    if split is None:
        return None
    lit, rest = split
    if not re.fullmatch(r"\((?:\?<\w+>)?(?:/?\.\*|/?\.\+|/\.\*|/.*)\)\$?", rest):
        return None
    matched = re.fullmatch(r"(/?[^$]*)\$(?:1|\{1\})(?:\?.*|\$is_args\$args)?", replacement)
    if matched is None:
        return None
    repl = matched.group(1)
    if lit.endswith(repl) and len(lit) > len(repl):
        return lit[: len(lit) - len(repl)].rstrip("/") or None
    return None
