"""Gateway API (gateway.networking.k8s.io): Gateway listeners with the HTTPRoutes and GRPCRoutes
attached to them.

Assumptions, stated because the API leaves them to the implementation:

- ALPN: every conformant implementation (Envoy Gateway, Istio, Contour, Cilium, NGINX Gateway
  Fabric...) offers ``h2`` and ``http/1.1`` on HTTPS listeners, and GRPCRoute support requires
  HTTP/2 (GEP-1016), so a Gateway listener is modelled with ALPN ``h2, http/1.1`` and HTTP/2 on;
  on plain HTTP listeners GRPCRoute implementations accept h2c with prior knowledge.
- TLS protocol versions and ciphers are implementation settings outside the Gateway object: they
  are left unknown, so the protocol and cipher rules do not guess.
- Routes attach through ``parentRefs`` (``sectionName``/``port`` pick a listener) when the
  listener's ``allowedRoutes.namespaces`` admits them and their hostnames intersect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.hostnames import dns_matches
from auditor.model import CertificateRef, Header, Listener, Location, Model, Protocol, RefStatus, Route, TlsSettings
from auditor.parsers.kubernetes import Index, K8sObject, as_int, get, items
from auditor.parsers.kubernetes.ingress import grpc_backend
from auditor.parsers.kubernetes.tls import SecretStore

GROUP = "gateway.networking.k8s.io"


@dataclass(frozen=True, slots=True)
class _Attachment:
    route: K8sObject
    section: str | None
    port: int | None
    hostnames: tuple[str, ...]
    routes: tuple[Route, ...]


def build(index: Index, secrets: SecretStore, model: Model) -> None:
    gateways = [g for g in index.of_kind("Gateway") if g.group == GROUP]
    if not gateways:
        return
    attached: dict[tuple[str, str], list[_Attachment]] = {}
    for route in index.of_kind("HTTPRoute", "GRPCRoute"):
        if route.group != GROUP:
            continue
        routes = tuple(_routes(route, index))
        hostnames = tuple(str(h) for h in items(route.spec.get("hostnames")) if h)
        for parent in items(route.spec.get("parentRefs")):
            if not isinstance(parent, dict) or parent.get("kind", "Gateway") != "Gateway":
                continue
            key = (str(parent.get("namespace") or route.namespace), str(parent.get("name")))
            attached.setdefault(key, []).append(
                _Attachment(route, parent.get("sectionName"), as_int(parent.get("port")), hostnames, routes)
            )
    for gateway in gateways:
        for position, spec in enumerate(items(gateway.spec.get("listeners"))):
            if isinstance(spec, dict):
                _listener(gateway, position, spec, attached.get((gateway.namespace, gateway.name), []), secrets, model)


def _listener(
    gateway: K8sObject,
    position: int,
    spec: dict[str, Any],
    attachments: list[_Attachment],
    secrets: SecretStore,
    model: Model,
) -> None:
    name = str(spec.get("name") or position)
    port = as_int(spec.get("port"))
    protocol = str(spec.get("protocol") or "")
    hostname = spec.get("hostname") if isinstance(spec.get("hostname"), str) else None
    allowed = get(spec, "allowedRoutes", "namespaces", "from") or "Same"
    mine = [
        a
        for a in attachments
        if (a.section is None or a.section == name)
        and (a.port is None or a.port == port)
        and (allowed != "Same" or a.route.namespace == gateway.namespace)
        and protocol in ("HTTP", "HTTPS")
        and _intersects(hostname, a.hostnames)
    ]
    route_names = [h for a in mine for h in a.hostnames if hostname is None or _intersects(hostname, (h,))]
    if hostname and not hostname.startswith("*."):
        names: tuple[str, ...] = (hostname,)
    else:  # clients ask for the concrete names of the routes under a wildcard (or absent) hostname
        names = tuple(dict.fromkeys(route_names)) or ((hostname,) if hostname else ())
    loc = gateway.at("spec", "listeners", position)
    mode = get(spec, "tls", "mode") or "Terminate"
    tls = None
    if protocol == "HTTPS" or (protocol == "TLS" and mode == "Terminate"):
        refs = tuple(
            _certificate(gateway, position, index, ref, secrets)
            for index, ref in enumerate(items(get(spec, "tls", "certificateRefs")))
            if isinstance(ref, dict)
        )
        tls = TlsSettings.by_implementation(loc, "set by the Gateway implementation", refs)
    model.listeners.append(
        Listener(
            loc=loc,
            resource=f"{gateway.resource} listener {name}",
            source_kind="gateway",
            instance=gateway.resource,
            address="*",
            port=port,
            tls=tls,
            server_names=names,
            http2=protocol in ("HTTP", "HTTPS"),
            http2_explicit=False,
            tls_expected=protocol in ("HTTPS", "TLS"),
            routes=tuple(r for a in mine for r in a.routes),
            codec=Protocol.TCP if protocol in ("TCP", "TLS", "UDP") else Protocol.AUTO,
        )
    )


def _certificate(
    gateway: K8sObject, position: int, number: int, ref: dict[str, Any], secrets: SecretStore
) -> CertificateRef:
    loc = gateway.at("spec", "listeners", position, "tls", "certificateRefs", number, "name")
    kind, group = ref.get("kind") or "Secret", ref.get("group") or ""
    name = str(ref.get("name") or "")
    if kind != "Secret" or group not in ("", "core"):
        return CertificateRef(
            loc,
            name,
            None,
            RefStatus.EXTERNAL,
            RefStatus.EXTERNAL,
            origin=str(kind),
            note=f"a {kind} certificate reference is resolved by the Gateway implementation",
        )
    return secrets.reference(loc, str(ref.get("namespace") or gateway.namespace), name, gateway)


def _intersects(listener: str | None, hostnames: tuple[str, ...]) -> bool:
    if listener is None or not hostnames:
        return True
    return any(h == listener or dns_matches(listener, h) or dns_matches(h, listener) for h in hostnames)


# -- routes --------------------------------------------------------------------------------------


def _routes(route: K8sObject, index: Index) -> list[Route]:
    is_grpc_route = route.kind == "GRPCRoute"
    found = []
    for i, rule in enumerate(items(route.spec.get("rules"))):
        if not isinstance(rule, dict):
            continue
        filters: list[tuple[tuple[str | int, ...], Any]] = [
            (("spec", "rules", i, "filters", k), f) for k, f in enumerate(items(rule.get("filters")))
        ]
        for b, backend in enumerate(items(rule.get("backendRefs"))):
            filters += [
                (("spec", "rules", i, "backendRefs", b, "filters", k), f)
                for k, f in enumerate(items(get(backend, "filters")))
            ]
        backend = get(rule, "backendRefs", 0)
        backend = backend if isinstance(backend, dict) else {}
        service, port = backend.get("name"), backend.get("port")
        upstream = f"{service}:{port}" if service else None
        is_grpc = is_grpc_route or grpc_backend(index, route.namespace, service, port)
        matches = rule.get("matches") or [{}]
        for j, match in enumerate(matches):
            match_path = ("spec", "rules", i, "matches", j) if rule.get("matches") else ("spec", "rules", i)
            text, prefix = _match(match, is_grpc_route)
            strip, rewrite_loc = _rewrite(route, filters, prefix)
            found.append(
                Route(
                    loc=route.at(*match_path),
                    resource=f"{route.resource} rule {i + 1}",
                    match=text,
                    match_prefix=prefix,
                    is_grpc=is_grpc,
                    upstream=upstream,
                    # GRPCRoute backends are spoken to in HTTP/2; for HTTPRoute the implementation picks
                    # the protocol from the Service port (appProtocol kubernetes.io/h2c, port name).
                    upstream_protocol=Protocol.GRPC if is_grpc_route else Protocol.AUTO,
                    strip_prefix=strip,
                    rewrite_loc=rewrite_loc,
                    request_headers=_headers(route, filters, "RequestHeaderModifier", "requestHeaderModifier"),
                    response_headers=_headers(route, filters, "ResponseHeaderModifier", "responseHeaderModifier"),
                )
            )
    return found


def _match(match: Any, is_grpc_route: bool) -> tuple[str, str | None]:
    """(the match as written, the literal prefix it matches when it is one)."""
    if is_grpc_route:
        method = get(match, "method")
        method = method if isinstance(method, dict) else {}
        return f"/{method.get('service') or '*'}/{method.get('method') or '*'}", None
    kind = get(match, "path", "type") or "PathPrefix"
    value = str(get(match, "path", "value") or "/")
    if kind == "PathPrefix":
        return value, value
    return (f"= {value}", None) if kind == "Exact" else (f"~ {value}", None)


def _rewrite(
    route: K8sObject, filters: list[tuple[tuple[str | int, ...], Any]], prefix: str | None
) -> tuple[str | None, Location | None]:
    """URLRewrite ``ReplacePrefixMatch``: ``/prometheus`` -> ``/`` strips "/prometheus"."""
    for path, spec in filters:
        replacement = get(spec, "urlRewrite", "path", "replacePrefixMatch")
        if get(spec, "type") != "URLRewrite" or get(spec, "urlRewrite", "path", "type") != "ReplacePrefixMatch":
            continue
        if prefix is None or not isinstance(replacement, str):
            return None, None
        kept = replacement.rstrip("/")
        matched = prefix.rstrip("/")
        if matched.endswith(kept) and len(matched) > len(kept):
            stripped = matched[: len(matched) - len(kept)].rstrip("/")
            return stripped or None, route.at(*path, "urlRewrite", "path", "replacePrefixMatch")
        return None, None
    return None, None


def _headers(
    route: K8sObject, filters: list[tuple[tuple[str | int, ...], Any]], kind: str, field: str
) -> tuple[Header, ...]:
    headers = []
    for path, spec in filters:
        if get(spec, "type") != kind:
            continue
        for action in ("set", "add"):
            for k, header in enumerate(items(get(spec, field, action))):
                if isinstance(header, dict) and header.get("name"):
                    headers.append(
                        Header(
                            str(header["name"]).lower(),
                            str(header.get("value") or ""),
                            route.at(*path, field, action, k),
                        )
                    )
    return tuple(headers)
