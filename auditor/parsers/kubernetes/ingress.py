"""Ingress (networking.k8s.io/v1) into listeners and routes, with ingress-nginx semantics.

Each ``spec.tls`` entry becomes a TLS listener on 443 serving its hosts with the Secret it names;
hosts of ``spec.rules`` that no TLS entry covers share one plain listener on 80. Routes follow the
ingress-nginx annotations that change what reaches the backend
(https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/annotations/):

- ``rewrite-target`` (which makes paths regular expressions, like ``use-regex``) with a capture
  group that keeps the rest of the path: the literal prefix before it is stripped;
- ``x-forwarded-prefix``: sent upstream as the X-Forwarded-Prefix header;
- ``backend-protocol`` GRPC/GRPCS: gRPC over HTTP/2 to the backend (the default, HTTP, is
  HTTP/1.1, which breaks gRPC services: a backend port named or declared as gRPC/h2c marks them);
- ``enable-cors`` with ``cors-allow-origin`` (default ``*``) and ``cors-allow-credentials``
  (default true): ingress-nginx then answers ``Access-Control-Allow-Origin: *`` with credentials.

Ingresses of other controllers keep their hosts, certificates and routes, but no TLS protocol or
cipher facts: those belong to a controller we do not model. They are assumed to offer h2 (Traefik,
Contour, HAProxy, cloud load balancers all do), so no ALPN or HTTP/2 finding is guessed for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from auditor.model import (
    CertificateRef,
    Header,
    Listener,
    Location,
    Model,
    Protocol,
    RefStatus,
    Route,
    TlsSettings,
)
from auditor.parsers import tlsinfo
from auditor.parsers.kubernetes import Index, K8sObject, as_int, get, items
from auditor.parsers.kubernetes.ingress_nginx import ANNOTATION_PREFIX, Controllers, NginxSettings
from auditor.parsers.kubernetes.tls import SecretStore
from auditor.policies.data import ingress_nginx_defaults

_GRPC_APP_PROTOCOLS = {"grpc", "h2c", "kubernetes.io/h2c", "http2"}


def build(index: Index, secrets: SecretStore, model: Model) -> None:
    ingresses = list(index.of_kind("Ingress"))
    if not ingresses:
        return
    controllers = Controllers.find(index)
    for ingress in ingresses:
        if ingress.group not in ("networking.k8s.io", "extensions"):
            continue
        is_nginx, class_name = controllers.serves(ingress)
        settings = controllers.settings(class_name, ingress) if is_nginx else None
        _listeners(ingress, index, secrets, settings, class_name, model)


def _listeners(
    ingress: K8sObject,
    index: Index,
    secrets: SecretStore,
    settings: NginxSettings | None,
    class_name: str | None,
    model: Model,
) -> None:
    routes = _routes(ingress, index, settings is not None)
    instance = f"{'ingress-nginx' if settings else 'ingress'} class {class_name or '(none)'}"
    entries = [(p, e) for p, e in enumerate(items(ingress.spec.get("tls"))) if isinstance(e, dict)]
    covered = {str(h) for _, e in entries for h in items(e.get("hosts")) if h}
    # A TLS entry without hosts serves the rule hosts no other entry names (ingress-nginx picks its
    # Secret for them when the certificate matches, else serves its default certificate).
    leftover = tuple(dict.fromkeys(h for h, _ in routes if h and h not in covered))
    for position, entry in entries:
        hosts = tuple(str(h) for h in items(entry.get("hosts")) if h) or leftover
        covered.update(hosts)
        loc = ingress.at("spec", "tls", position)
        secret = entry.get("secretName")
        if isinstance(secret, str) and secret:
            ref = secrets.reference(
                ingress.at("spec", "tls", position, "secretName"), ingress.namespace, secret, ingress
            )
        else:  # ingress-nginx serves its default certificate (a self-signed one unless configured)
            ref = CertificateRef(
                loc,
                None,
                None,
                RefStatus.EXTERNAL,
                RefStatus.EXTERNAL,
                origin="Secret",
                note="no secretName: the controller's default certificate is served",
            )
        tls = _tls(loc, settings, ref)
        model.listeners.append(
            Listener(
                loc=loc,
                resource=f"{ingress.resource} {', '.join(hosts) or '*'}",
                source_kind="ingress",
                instance=instance,
                address="*",
                port=443,
                tls=tls,
                server_names=hosts,
                http2=bool(settings and settings.http2),
                http2_explicit=False,
                http2_loc=settings.http2_loc if settings else None,
                tls_expected=True,
                routes=tuple(r for host, r in routes if host in hosts),
            )
        )
    plain_hosts = tuple(dict.fromkeys(h for h, _ in routes if h not in covered and h))
    plain_routes = tuple(r for host, r in routes if host not in covered)
    if plain_routes:
        model.listeners.append(
            Listener(
                loc=ingress.at("spec", "rules") if "rules" in ingress.spec else ingress.at("spec"),
                resource=f"{ingress.resource} {', '.join(plain_hosts) or '*'}",
                source_kind="ingress",
                instance=instance,
                address="*",
                port=80,
                tls=None,
                server_names=plain_hosts,
                # ingress-nginx listens on 80 without HTTP/2 (no h2c); other controllers are not
                # modelled, and are not reported for it.
                http2=settings is None,
                http2_explicit=False,
                codec=Protocol.HTTP1 if settings else Protocol.AUTO,
                routes=plain_routes,
            )
        )


def _tls(loc: Location, settings: NginxSettings | None, ref: CertificateRef) -> TlsSettings:
    if settings is None:
        return TlsSettings.by_implementation(loc, "set by an ingress controller confaudit does not model", (ref,))
    spec = settings.ciphers or ingress_nginx_defaults().ssl_ciphers
    return TlsSettings(
        loc=settings.protocols_loc or loc,
        protocols=settings.protocols,
        protocols_explicit=settings.protocols_loc is not None,
        protocols_note=settings.protocols_note,
        cipher_spec=settings.ciphers,
        ciphers=tlsinfo.expand_ciphers(spec),
        ciphers_loc=settings.ciphers_loc,
        # nginx offers h2 in ALPN exactly when HTTP/2 is on (use-http2).
        alpn=("h2", "http/1.1") if settings.http2 else ("http/1.1",),
        alpn_explicit=False,
        alpn_loc=settings.http2_loc,
        certificates=(ref,),
    )


# -- routes --------------------------------------------------------------------------------------


def _routes(ingress: K8sObject, index: Index, is_nginx: bool) -> list[tuple[str, Route]]:
    """(host, route) for every path of every rule, and the default backend."""
    notes = ingress.annotations if is_nginx else {}

    def annotation(name: str) -> str | None:
        return notes.get(ANNOTATION_PREFIX + name)

    rewrite = annotation("rewrite-target")
    regex = rewrite is not None or annotation("use-regex") == "true"
    backend_protocol = (annotation("backend-protocol") or "HTTP").upper()
    prefix_header = annotation("x-forwarded-prefix")
    headers = (
        (Header("x-forwarded-prefix", prefix_header, _annotation_loc(ingress, "x-forwarded-prefix")),)
        if prefix_header is not None
        else ()
    )
    cors = _cors(ingress, annotation)
    found: list[tuple[str, Route]] = []

    def add(host: str, path_loc: Location, path: str, path_type: str, backend: Any) -> None:
        # networking.k8s.io/v1 names service.name and service.port; extensions/v1beta1 (Kubernetes
        # before 1.22, still in old repositories) serviceName and servicePort.
        service = get(backend, "service", "name") or get(backend, "serviceName")
        port = (
            get(backend, "service", "port", "number")
            or get(backend, "service", "port", "name")
            or get(backend, "servicePort")
        )
        upstream = f"{service}:{port}" if service else None
        is_grpc = backend_protocol in ("GRPC", "GRPCS") or grpc_backend(index, ingress.namespace, service, port)
        protocol = Protocol.GRPC if backend_protocol in ("GRPC", "GRPCS") else Protocol.HTTP1
        strip = _rewrite_strip(path, rewrite) if rewrite is not None else None
        literal = None if regex or path_type == "Exact" else path
        found.append(
            (
                host,
                Route(
                    loc=path_loc,
                    resource=f"{ingress.resource} {host or '*'}{path}",
                    match=path,
                    match_prefix=literal,
                    is_grpc=is_grpc,
                    upstream=upstream,
                    upstream_protocol=protocol if is_nginx else Protocol.UNKNOWN,
                    strip_prefix=strip,
                    rewrite_loc=_annotation_loc(ingress, "rewrite-target") if strip else None,
                    request_headers=headers,
                    response_headers=cors,
                ),
            )
        )

    for i, rule in enumerate(items(ingress.spec.get("rules"))):
        host = str(get(rule, "host") or "")
        for j, item in enumerate(items(get(rule, "http", "paths"))):
            if isinstance(item, dict):
                add(
                    host,
                    ingress.at("spec", "rules", i, "http", "paths", j),
                    str(item.get("path") or "/"),
                    str(item.get("pathType") or "ImplementationSpecific"),
                    item.get("backend"),
                )
    key = "defaultBackend" if "defaultBackend" in ingress.spec else "backend"
    default = ingress.spec.get(key)
    if isinstance(default, dict):
        add("", ingress.at("spec", key), "/", "Prefix", default)
    return found


def _annotation_loc(ingress: K8sObject, name: str) -> Location:
    return ingress.at("metadata", "annotations", ANNOTATION_PREFIX + name)


def _cors(ingress: K8sObject, annotation: Callable[[str], str | None]) -> tuple[Header, ...]:
    if annotation("enable-cors") != "true":
        return ()
    origin = annotation("cors-allow-origin") or "*"
    credentials = annotation("cors-allow-credentials") or "true"
    where = "cors-allow-origin" if annotation("cors-allow-origin") is not None else "enable-cors"
    loc = _annotation_loc(ingress, where)
    # A single "*" makes ingress-nginx set $http_origin to "*" and answer with it verbatim.
    value = "*" if origin.strip() == "*" else origin
    return (
        Header("access-control-allow-origin", value, loc),
        Header("access-control-allow-credentials", credentials, loc),
    )


def grpc_backend(index: Index, namespace: str, service: Any, port: Any) -> bool:
    """Does the backend Service port say it speaks gRPC (appProtocol, or a grpc-* port name)?"""
    target = index.get("Service", namespace, str(service)) if service else None
    if target is None:
        return False
    for entry in items(target.spec.get("ports")):
        if not isinstance(entry, dict):
            continue
        if as_int(port) is not None and as_int(entry.get("port")) != as_int(port):
            continue
        if as_int(port) is None and entry.get("name") != port:
            continue
        name = str(entry.get("name") or "")
        app_protocol = str(entry.get("appProtocol") or "").lower()
        return app_protocol in _GRPC_APP_PROTOCOLS or name == "grpc" or name.startswith(("grpc-", "grpcs"))
    return False


_GROUP = re.compile(r"\((?!\?)")


def _rewrite_strip(path: str, target: str) -> str | None:
    """``/api(/|$)(.*)`` rewritten to ``/$2`` sends ``/api/x`` upstream as ``/x``: "/api" is stripped.

    Only the shapes that remove a literal prefix and keep the rest count: the target must be the
    last capture group alone (``/$N`` or ``$N``), that group must take the rest of the path, and
    between the prefix and it there may only be the optional slash (``/``, ``/?`` or ``(/|$)``).
    """
    match = re.fullmatch(r"/?\$(\d)", target.strip())
    if match is None:
        return None
    wanted = int(match.group(1))
    literal = re.match(r"[^.^$*+?()\[\]{}|\\]*", path)
    prefix = literal.group(0) if literal else ""
    rest = path[len(prefix) :]
    groups = [m.start() for m in _GROUP.finditer(rest)]
    if len(groups) < wanted:
        return None
    start = groups[wanted - 1]
    between, tail = rest[:start], rest[start:]
    if re.fullmatch(r"(?:\(/\|\$\)|/\?|/)?", between) is None:
        return None
    if re.fullmatch(r"\((?:/?\.\*|/?\.\+|/\.\*)\)\$?", tail) is None:
        return None
    stripped = prefix.rstrip("/")
    return stripped or None
