"""``@type`` URLs an Envoy 1.40 does not know: the v2 API, and names it cannot resolve.

Envoy looks every ``@type`` up in its compiled-in descriptor pool and refuses the whole
configuration when one is missing ("could not find @type ..."). We do not carry that pool; we
know (1) the v2 API packages, which Envoy stopped accepting in 2021 (1.17 made them opt-in,
later releases removed them), (2) the namespaces Envoy's messages live in, each with a
version segment, and (3) the full message list of the packages whose settings we read, where a
misspelled name would otherwise silently drop a listener's TLS or routes. Tests check with the
real Envoy that what we call unknown is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from auditor.model import Location, Problem

if TYPE_CHECKING:
    from auditor.parsers.yamlfiles import Document

_V2 = re.compile(
    r"^envoy\.(api\.v2|config\.filter|config\.(?:\w+\.)*v2(?:alpha)?\.|service\.\w+\.v2)|"
    r"\.v2(?:alpha\d*)?\.[A-Z]\w*$"
)
_VERSIONED = re.compile(r"^(?:envoy|xds|udpa)\.[a-z0-9_.]+\.v\d+(?:alpha\d*)?\.[A-Z]\w*(?:\.[A-Z]\w*)*$")
_OTHER_NAMESPACES = ("google.protobuf.", "xds.type.", "udpa.type.", "io.prometheus.")

# Messages of the packages whose settings confaudit reads (envoy/api v3 protos, Envoy 1.40).
KNOWN: dict[str, frozenset[str]] = {
    "envoy.config.bootstrap.v3": frozenset(
        {
            "Bootstrap",
            "Admin",
            "ClusterManager",
            "Watchdogs",
            "Watchdog",
            "FatalAction",
            "Runtime",
            "RuntimeLayer",
            "LayeredRuntime",
            "CustomInlineHeader",
            "MemoryAllocatorManager",
        }
    ),
    "envoy.config.listener.v3": frozenset(
        {
            "Listener",
            "ListenerCollection",
            "Filter",
            "FilterChain",
            "FilterChainMatch",
            "ListenerFilter",
            "ListenerFilterChainMatchPredicate",
            "ApiListener",
            "UdpListenerConfig",
            "ActiveRawUdpListenerConfig",
            "QuicProtocolOptions",
            "AdditionalAddress",
        }
    ),
    "envoy.config.cluster.v3": frozenset(
        {
            "Cluster",
            "ClusterCollection",
            "LoadBalancingPolicy",
            "UpstreamConnectionOptions",
            "TrackClusterStats",
            "Filter",
            "OutlierDetection",
            "CircuitBreakers",
        }
    ),
    "envoy.config.route.v3": frozenset(
        {
            "RouteConfiguration",
            "ScopedRouteConfiguration",
            "VirtualHost",
            "Route",
            "RouteList",
            "Vhds",
            "ClusterSpecifierPlugin",
            "WeightedCluster",
            "RouteMatch",
            "CorsPolicy",
            "RouteAction",
            "RetryPolicy",
            "HedgePolicy",
            "RedirectAction",
            "DirectResponseAction",
            "FilterAction",
            "NonForwardingAction",
            "Decorator",
            "Tracing",
            "VirtualCluster",
            "RateLimit",
            "HeaderMatcher",
            "QueryParameterMatcher",
            "InternalRedirectPolicy",
            "FilterConfig",
        }
    ),
    "envoy.extensions.filters.network.http_connection_manager.v3": frozenset(
        {
            "HttpConnectionManager",
            "LocalReplyConfig",
            "ResponseMapper",
            "Rds",
            "ScopedRouteConfigurationsList",
            "ScopedRoutes",
            "ScopedRds",
            "HttpFilter",
            "RequestIDExtension",
            "EnvoyMobileHttpConnectionManager",
        }
    ),
    "envoy.extensions.transport_sockets.tls.v3": frozenset(
        {
            "DownstreamTlsContext",
            "UpstreamTlsContext",
            "CommonTlsContext",
            "TlsParameters",
            "TlsCertificate",
            "PrivateKeyProvider",
            "TlsSessionTicketKeys",
            "CertificateValidationContext",
            "SdsSecretConfig",
            "Secret",
            "GenericSecret",
            "CertificateProviderPluginInstance",
            "SubjectAltNameMatcher",
            "TlsKeyLog",
            "SPIFFECertValidatorConfig",
        }
    ),
    "envoy.extensions.upstreams.http.v3": frozenset({"HttpProtocolOptions"}),
    "envoy.extensions.filters.listener.tls_inspector.v3": frozenset({"TlsInspector"}),
}


def check_types(doc: Document) -> list[Problem]:
    """One ``config-api-removed`` problem per file that uses the v2 API, a ``parse-error`` per
    unknown ``@type``."""
    problems: list[Problem] = []
    v2_first: tuple[int, str] | None = None
    v2_count = 0
    for path, url in _type_urls(doc.data, ()):
        name = url.rsplit("/", 1)[-1]
        reason = unknown_reason(name)
        if reason == "v2":
            v2_count += 1
            line = doc.line(*path)
            if v2_first is None or line < v2_first[0]:
                v2_first = (line, name)
        elif reason is not None:
            problems.append(
                Problem(
                    "parse-error",
                    doc.at(*path),
                    doc.file,
                    f"unknown @type {name!r}: {reason}; Envoy refuses the configuration",
                )
            )
    if v2_first is not None:
        line, name = v2_first
        more = f" and {v2_count - 1} more" if v2_count > 1 else ""
        problems.append(
            Problem(
                "config-api-removed",
                Location(doc.file, line),
                doc.file,
                f"Envoy v2 API type {name!r}{more}: current Envoy (checked with 1.40) refuses v2 configuration",
            )
        )
    return problems


def unknown_reason(name: str) -> str | None:
    """None for a type Envoy can know, "v2" for the removed API, else why it is unknown."""
    if _V2.search(name):
        return "v2"
    package, _, message = name.rpartition(".")
    # Nested messages (Outer.Inner) are named by their outer message's package.
    while package and package.rsplit(".", 1)[-1][:1].isupper():
        package, _, outer = package.rpartition(".")
        message = outer
    known = KNOWN.get(package)
    if known is not None:
        return None if message in known else f"package {package} has no message {message}"
    if name.startswith(_OTHER_NAMESPACES):
        return None
    if _VERSIONED.match(name):
        return None
    return "not a versioned Envoy, xDS or protobuf message name"


def _type_urls(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, dict):
            url = current.get("@type")
            if isinstance(url, str):
                yield (*where, "@type"), url
            for key, child in current.items():
                if isinstance(child, (dict, list)) and isinstance(key, str):
                    stack.append((child, (*where, key)))
        elif isinstance(current, list):
            stack.extend((child, (*where, i)) for i, child in enumerate(current) if isinstance(child, (dict, list)))
