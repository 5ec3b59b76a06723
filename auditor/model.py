"""The normalized model every parser produces and every rule reads.

Rules never know which file format an object came from: an nginx ``server`` block, an Envoy
listener, a Kubernetes Ingress and a Terraform load-balancer listener are all a ``Listener``.
Every object carries a ``Location`` and a ``resource`` label that reports print verbatim.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass, field


class Severity(enum.Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.lower())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}
_PORT_SUFFIX = re.compile(r":\d+$")


class TlsVersion(enum.Enum):
    SSL2 = "SSLv2"
    SSL3 = "SSLv3"
    TLS1_0 = "TLSv1"
    TLS1_1 = "TLSv1.1"
    TLS1_2 = "TLSv1.2"
    TLS1_3 = "TLSv1.3"

    @property
    def rank(self) -> int:
        return _TLS_RANK[self]

    @classmethod
    def ordered(cls) -> tuple[TlsVersion, ...]:
        return tuple(cls)


_TLS_RANK = {v: i for i, v in enumerate(TlsVersion)}


@dataclass(frozen=True, slots=True, order=True)
class Location:
    file: str  # relative to the scanned root, POSIX separators
    line: int | None  # 1-based; None only for objects not read from a file

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


# --- certificates ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Certificate:
    """One X.509 certificate as read from a file (PEM block, DER file or Secret)."""

    loc: Location
    resource: str
    subject: str
    common_names: tuple[str, ...]
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    has_san_extension: bool
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    key_type: str  # "RSA", "EC", "Ed25519", "Ed448", "DSA"
    key_bits: int
    signature_hash: str | None  # "sha256", "sha1", ... None for Ed25519
    is_ca: bool
    self_signed: bool
    fingerprint_sha256: str
    spki_sha256: str  # identifies the public key, to match a private key


@dataclass(frozen=True, slots=True)
class PrivateKey:
    """Facts about a private key: never the key material itself."""

    loc: Location
    resource: str
    key_type: str | None  # None when unknown (encrypted)
    key_bits: int | None
    encrypted: bool
    spki_sha256: str | None


@dataclass(frozen=True, slots=True)
class CertificateBundle:
    """The certificates in one file, in file order (leaf first when well formed)."""

    loc: Location
    path: str
    certificates: tuple[Certificate, ...]

    @property
    def leaf(self) -> Certificate | None:
        return self.certificates[0] if self.certificates else None


@dataclass(frozen=True, slots=True)
class CertificateRequest:
    """A certificate that an issuer creates at deploy time (a cert-manager Certificate): the names it
    will hold are known, its content is not in the tree."""

    loc: Location
    resource: str
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...] = ()


class RefStatus(enum.Enum):
    OK = "ok"
    MISSING = "missing"  # the referenced file does not exist in the scanned tree
    UNREADABLE = "unreadable"  # exists but holds no usable certificate/key (see problems)
    EXTERNAL = "external"  # outside the tree (absolute path, SDS, ACME...): not checked
    DYNAMIC = "dynamic"  # uses variables resolved at request time


@dataclass(frozen=True, slots=True)
class CertificateRef:
    """A certificate (and key) that a listener serves, as the config references it."""

    loc: Location  # the line that names the certificate
    cert_path: str | None
    key_path: str | None
    cert_status: RefStatus
    key_status: RefStatus
    bundle: CertificateBundle | None = None
    key: PrivateKey | None = None
    # Extra CA certificates configured next to the leaf (e.g. a separate chain file).
    extra_chain: tuple[Certificate, ...] = ()
    key_loc: Location | None = None  # the line that names the key, when it has its own
    origin: str = "file"  # what cert_path names: "file", or an object kind such as "Secret"
    note: str | None = None  # how a missing or external reference was judged (shown in messages)
    requested: CertificateRequest | None = None  # the issuer's request that fills this reference


# --- TLS, HTTP ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CipherSuite:
    """A TLS <= 1.2 cipher suite with the properties OpenSSL reports for it."""

    name: str  # OpenSSL name, e.g. "ECDHE-RSA-AES128-GCM-SHA256"
    kx: str  # key exchange: "ECDH", "DH", "RSA", ...
    au: str  # authentication: "RSA", "ECDSA", "None" (anonymous), ...
    enc: str  # "AESGCM(128)", "3DES(168)", "RC4(128)", "None", ...
    mac: str  # "AEAD", "SHA1", "SHA256", "MD5"
    export: bool = False


@dataclass(frozen=True, slots=True)
class TlsSettings:
    loc: Location
    protocols: tuple[TlsVersion, ...]
    protocols_explicit: bool  # False: the server's documented default is assumed
    protocols_note: str  # how the protocols were determined (shown in messages)
    cipher_spec: str | None  # as configured, None = server default
    ciphers: tuple[CipherSuite, ...]  # the spec expanded with the local OpenSSL (TLS <= 1.2)
    ciphers_loc: Location | None
    alpn: tuple[str, ...]  # protocols offered in ALPN, in preference order
    alpn_explicit: bool  # the format has an explicit, ordered ALPN list that was set
    alpn_loc: Location | None
    certificates: tuple[CertificateRef, ...] = ()
    # The configured cipher list is the server's own default written out (nginx's
    # "HIGH:!aNULL:!MD5"): it behaves exactly as if no list were configured.
    ciphers_default: bool = False

    @classmethod
    def by_implementation(cls, loc: Location, note: str, certificates: tuple[CertificateRef, ...]) -> TlsSettings:
        """TLS terminated by software confaudit does not model (a Gateway implementation, an
        unknown ingress controller): versions and ciphers unknown, so no protocol rule guesses;
        h2 and http/1.1 offered, as every current implementation does."""
        return cls(
            loc=loc,
            protocols=(),
            protocols_explicit=False,
            protocols_note=note,
            cipher_spec=None,
            ciphers=(),
            ciphers_loc=None,
            alpn=("h2", "http/1.1"),
            alpn_explicit=False,
            alpn_loc=None,
            certificates=certificates,
        )

    rejects_handshake: bool = False  # refuses every handshake on purpose (nginx ssl_reject_handshake)


class Protocol(enum.Enum):
    HTTP1 = "http/1.1"
    H2 = "h2"  # HTTP/2 (cleartext h2c or over TLS)
    GRPC = "grpc"  # gRPC, needs HTTP/2 end to end
    AUTO = "auto"  # negotiated (ALPN) or codec auto-detection
    TCP = "tcp"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Header:
    name: str  # lower-cased
    value: str
    loc: Location


@dataclass(frozen=True, slots=True)
class ConditionalHeaders:
    """A block inside a route that sets response headers of its own for some requests (nginx:
    ``if`` in a location is a nested location, so its ``add_header`` replaces the outer ones)."""

    loc: Location
    condition: str  # as written: "if ($request_method = OPTIONS)"
    dropped_headers: tuple[Header, ...] = ()
    dropped_trailers: tuple[Header, ...] = ()


@dataclass(frozen=True, slots=True)
class Upstream:
    loc: Location
    resource: str
    name: str
    protocol: Protocol  # what the proxy speaks to it
    protocol_explicit: bool
    tls: bool
    sni: str | None = None
    alpn: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    loc: Location
    resource: str
    match: str  # the path match as written ("/prometheus/", "~ ^/api/", "= /healthz")
    match_prefix: str | None  # literal prefix the route matches, when it is one
    is_grpc: bool  # the route carries gRPC (grpc_pass, grpc match, GRPC backend protocol)
    upstream: str | None  # upstream name or URL as written
    upstream_protocol: Protocol
    strip_prefix: str | None = None  # the path prefix a rewrite removes before proxying
    rewrite_loc: Location | None = None
    request_headers: tuple[Header, ...] = ()  # headers set on the upstream request
    response_headers: tuple[Header, ...] = ()  # headers added to the client response
    upstream_ref: Upstream | None = None
    # Headers an enclosing level sets that do not apply here (nginx: a level that sets any
    # proxy_set_header/add_header inherits none), each with the line that set it.
    dropped_headers: tuple[Header, ...] = ()
    dropped_trailers: tuple[Header, ...] = ()  # the same for nginx add_trailer
    conditional: tuple[ConditionalHeaders, ...] = ()  # blocks inside the route that drop more


@dataclass(frozen=True, slots=True)
class Listener:
    loc: Location
    resource: str
    source_kind: str  # "nginx", "envoy", "ingress", "gateway", "terraform"
    instance: str  # the config this listener belongs to (nginx entry file, Envoy bootstrap...)
    address: str  # "*", "0.0.0.0", "[::]", "10.0.0.1", "unix:/path"
    port: int | None
    tls: TlsSettings | None
    server_names: tuple[str, ...]
    http2: bool  # HTTP/2 offered to clients on this socket
    http2_explicit: bool  # this listener/server asked for HTTP/2 itself
    http2_loc: Location | None = None
    http2_via_listen_param: bool = False  # nginx `listen ... http2` (deprecated since 1.25.1)
    tls_expected: bool = False  # port 443 / "ssl" flag / TLS filter chain
    default_server: bool = False
    routes: tuple[Route, ...] = ()
    codec: Protocol = Protocol.AUTO
    tls_passthrough: bool = False  # TLS goes through untouched to the upstream (Envoy tcp_proxy chain)
    # Settings chosen per connection from the TLS ClientHello (Envoy filter_chain_match): what picks
    # them ("server_names", "transport_protocol tls", "application_protocols"), where, and whether
    # the proxy reads the ClientHello before choosing (Envoy: a tls_inspector listener filter).
    selected_by: tuple[str, ...] = ()
    selection_loc: Location | None = None
    client_hello_read: bool = True

    @property
    def endpoint(self) -> str:
        return f"{self.address}:{self.port}" if self.port is not None else self.address


# --- workloads ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Probe:
    loc: Location
    kind: str  # "httpGet", "tcpSocket", "exec", "grpc"
    target: str  # path:port, port, command
    period_seconds: int
    failure_threshold: int
    initial_delay_seconds: int
    timeout_seconds: int


@dataclass(frozen=True, slots=True)
class Container:
    loc: Location
    resource: str
    name: str
    command: tuple[str, ...]
    args: tuple[str, ...]
    ports: tuple[int, ...]
    pre_stop_kind: str | None  # "exec", "sleep", "httpGet", "tcpSocket"
    pre_stop_seconds: float | None  # the delay the hook causes, when it can be known
    pre_stop_loc: Location | None
    readiness: Probe | None
    liveness: Probe | None
    command_loc: Location | None = None
    port_names: tuple[str, ...] = ()  # the containerPorts' names, which a Service targetPort may name
    host_ports: tuple[int, ...] = ()  # ports opened on the node (hostPort, or hostNetwork's containerPorts)
    # The container the workload's Services send traffic to (see parsers/kubernetes/traffic.py).
    serving: bool = False


@dataclass(frozen=True, slots=True)
class Workload:
    loc: Location
    resource: str
    # Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod, Job, CronJob, Rollout, DeploymentConfig,
    # ReplicationController
    kind: str
    name: str
    namespace: str
    labels: tuple[tuple[str, str], ...]
    pod_labels: tuple[tuple[str, str], ...]
    replicas: int | None
    containers: tuple[Container, ...]
    termination_grace_seconds: int | None  # None = Kubernetes default (30 s)
    termination_grace_loc: Location | None
    runs_to_completion: bool
    selected_by_service: bool = False
    max_unavailable: str | None = None
    max_surge: str | None = None
    strategy_loc: Location | None = None
    has_disruption_budget: bool = False
    strategy: str | None = None  # "RollingUpdate", "Recreate", "OnDelete", "Canary", "BlueGreen"
    selected_by: tuple[str, ...] = ()  # the services that route to it, as resource labels
    # The scanned tree holds the manifests that govern the workload's namespace (a Namespace
    # object or other disruption budgets there), so a missing budget is not just managed elsewhere.
    namespace_managed: bool = False
    # A Service of the tree selects its pods, or an Ingress/Gateway route names its Service
    # (see parsers/kubernetes/traffic.py); a containerPort alone does not route anything to it.
    receives_traffic: bool = False


@dataclass(frozen=True, slots=True)
class UnknownDirective:
    loc: Location
    resource: str
    name: str
    hint: str | None  # what the user probably meant


# --- problems, suppressions, findings -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """Something a parser could not read; becomes a finding of a pseudo-rule."""

    rule_id: str  # "parse-error", "helm-render-failed", ...
    loc: Location
    resource: str
    message: str
    internal: bool = False  # a bug in confaudit, not in the input (auditor.parsers.guard)


@dataclass(frozen=True, slots=True)
class Suppression:
    loc: Location
    rule_ids: tuple[str, ...]
    reason: str
    kind: str = "inline"  # "inline", "annotation", "baseline", "config"


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    severity: Severity
    message: str
    loc: Location
    resource: str
    fix: str
    suppression: Suppression | None = None

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.loc.file, self.loc.line or 0, self.rule_id, self.message)


def merge_record(into: dict[str, set[str]], other: dict[str, set[str]]) -> None:
    for key, values in other.items():
        into.setdefault(key, set()).update(values)


@dataclass(slots=True)
class Model:
    """Everything the parsers found in one scan. Built by the loader, read-only to rules."""

    listeners: list[Listener] = field(default_factory=list)
    certificates: list[CertificateBundle] = field(default_factory=list)  # standalone files
    keys: list[PrivateKey] = field(default_factory=list)
    upstreams: list[Upstream] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    unknown_directives: list[UnknownDirective] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)
    files: set[str] = field(default_factory=set)
    # Dependency record for incremental scans (``auditor.gitops``), format-blind: file -> what its
    # results depend on besides its own content. A target is a path relative to the scan root
    # (a missing file counts: adding it must trigger a re-scan), a glob (``conf.d/*.conf``,
    # ``chart/**``) or a ``@symbol`` that some file ``provides`` (``@k8s/Secret/ns/name``).
    # Record what was looked for, not only what was found. See ``Model.depends``.
    reads: dict[str, set[str]] = field(default_factory=dict)
    provides: dict[str, set[str]] = field(default_factory=dict)  # file -> @symbols it defines

    def extend(self, other: Model) -> None:
        self.listeners.extend(other.listeners)
        self.certificates.extend(other.certificates)
        self.keys.extend(other.keys)
        self.upstreams.extend(other.upstreams)
        self.workloads.extend(other.workloads)
        self.unknown_directives.extend(other.unknown_directives)
        self.problems.extend(other.problems)
        self.suppressions.extend(other.suppressions)
        self.files |= other.files
        merge_record(self.reads, other.reads)
        merge_record(self.provides, other.provides)

    def depends(self, file: str, *targets: str) -> None:
        """Record that what ``file`` yields depends on ``targets`` (paths, globs or @symbols)."""
        self.reads.setdefault(file, set()).update(targets)

    def provide(self, file: str, *symbols: str) -> None:
        """Record that ``file`` defines ``symbols`` (``@kind/namespace/name``) other files look up."""
        self.provides.setdefault(file, set()).update(symbols)

    # Shared walks used by several rules.

    def tls_listeners(self) -> Iterator[tuple[Listener, TlsSettings]]:
        for listener in self.listeners:
            if listener.tls is not None:
                yield listener, listener.tls

    def tls_endpoints(self) -> Iterator[tuple[Listener, TlsSettings, str]]:
        """TLS listeners with one entry per server and setting: a server listening on IPv4 and
        IPv6 is reported once, naming both sockets."""
        groups: dict[tuple[str, Location], list[Listener]] = {}
        for listener, tls in self.tls_listeners():
            groups.setdefault((listener.resource, tls.loc), []).append(listener)
        for listeners in groups.values():
            first = listeners[0]
            assert first.tls is not None
            yield first, first.tls, " and ".join(dict.fromkeys(item.endpoint for item in listeners))

    def served_certificates(self) -> Iterator[tuple[Listener, CertificateRef]]:
        seen: set[tuple[str, tuple[str, ...], Location]] = set()
        for listener, tls in self.tls_listeners():
            for ref in tls.certificates:
                # One server block listening on several sockets serves the same certificate:
                # report it once per (server, certificate line). The resource keeps one chart
                # rendered by two Argo CD Applications apart (same template line, two releases).
                key = (_PORT_SUFFIX.sub("", listener.resource), listener.server_names, ref.loc)
                if key in seen:
                    continue
                seen.add(key)
                yield listener, ref

    def all_certificates(self) -> Iterator[tuple[Certificate, bool, bool]]:
        """Every distinct certificate: (certificate, is the first in its file, is served)."""
        served: set[str] = set()
        for _, ref in self.served_certificates():
            if ref.bundle is not None:
                served.add(ref.bundle.path)
        seen: set[tuple[str, int | None, str]] = set()
        for bundle in self.certificates:
            for index, cert in enumerate(bundle.certificates):
                key = (cert.loc.file, cert.loc.line, cert.fingerprint_sha256)
                if key not in seen:
                    seen.add(key)
                    yield cert, index == 0, bundle.path in served

    def routes(self) -> Iterator[tuple[Listener, Route]]:
        seen: set[tuple[str, Location]] = set()
        for listener in self.listeners:
            for route in listener.routes:
                if (route.resource, route.loc) not in seen:
                    seen.add((route.resource, route.loc))
                    yield listener, route

    def serving_workloads(self) -> Iterator[Workload]:
        for workload in self.workloads:
            if not workload.runs_to_completion:
                yield workload

    def serving_containers(self) -> Iterator[tuple[Workload, Container]]:
        """The containers traffic is sent to, in the workloads that receive traffic."""
        for workload in self.serving_workloads():
            if workload.receives_traffic:
                for container in workload.containers:
                    if container.serving:
                        yield workload, container
