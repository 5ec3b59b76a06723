"""Turn what the handshakes showed into the same model objects the static parsers build.

A probed endpoint becomes a ``Listener`` (source_kind "probe") whose ``TlsSettings`` hold the
versions the server accepted and the ALPN preference it showed, and whose ``CertificateRef``
holds the served chain, parsed by ``auditor.parsers.certs`` like any certificate file. Its
location is the endpoint: file ``probe://host:port``, no line. Endpoints that could not be probed
become problems of the ``probe-*`` pseudo-rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from auditor.model import (
    Certificate,
    CertificateBundle,
    CertificateRef,
    Listener,
    Location,
    Model,
    Problem,
    Protocol,
    RefStatus,
    Route,
    TlsSettings,
)
from auditor.probe.network import Failure, FailureKind
from auditor.probe.session import Facts
from auditor.probe.target import bracket

_FAILURE_RULES = {
    FailureKind.DNS: "probe-connect-failed",
    FailureKind.REFUSED: "probe-connect-failed",
    FailureKind.UNREACHABLE: "probe-connect-failed",
    FailureKind.CONNECT_TIMEOUT: "probe-connect-failed",
    FailureKind.HANDSHAKE_TIMEOUT: "probe-handshake-failed",
    FailureKind.CLOSED: "probe-handshake-failed",
    FailureKind.ALERT: "probe-handshake-failed",
    FailureKind.LOCAL: "probe-handshake-failed",
    FailureKind.VERIFY: "probe-cert-untrusted",
    FailureKind.NOT_TLS: "probe-not-tls",
}


@dataclass(frozen=True, slots=True)
class Extras:
    """What a probe cannot see but the caller knows: gRPC routes and codec from a static listener,
    or ``--grpc`` on the command line. ``alpn-h2-missing`` needs them to know h2 is required."""

    routes: tuple[Route, ...] = ()
    codec: Protocol = Protocol.AUTO


@dataclass(slots=True)
class Built:
    model: Model = field(default_factory=Model)
    listeners: dict[int, Listener] = field(default_factory=dict)  # index in the facts list -> listener
    chains_complete: bool = True


def build(facts: list[Facts], extras: list[Extras] | None = None, trust_store: str = "the system trust store") -> Built:
    built = Built()
    bundles = _bundles(facts, built)
    for index, item in enumerate(facts):
        extra = extras[index] if extras else Extras()
        listener = _listener(item, extra, built, bundles, trust_store)
        if listener is not None:
            built.listeners[index] = listener
            built.model.listeners.append(listener)
    built.model.certificates.extend(b for b in bundles.values() if b is not None)
    return built


_ChainKey = tuple[str, tuple[bytes, ...]]


def _bundles(facts: list[Facts], built: Built) -> dict[_ChainKey, CertificateBundle | None]:
    """One bundle per chain an endpoint serves, named after every SNI name it was served for, so a
    certificate served for several names is reported once."""
    names: dict[_ChainKey, list[str]] = {}
    for item in facts:
        if item.failure is None and item.baseline is not None and item.baseline.chain:
            names.setdefault((item.job.target.uri, item.baseline.chain), []).append(item.job.shown)
            built.chains_complete &= item.baseline.chain_complete
    bundles: dict[_ChainKey, CertificateBundle | None] = {}
    for (uri, chain), served_for in names.items():
        loc = Location(uri, None)
        label = f"probe {uri.removeprefix('probe://')} SNI {', '.join(dict.fromkeys(served_for))}"
        certs = [
            c
            for position, der in enumerate(chain, start=1)
            if (c := _describe(der, loc, f"{label}: certificate {position} of {len(chain)}", built)) is not None
        ]
        bundles[(uri, chain)] = (
            CertificateBundle(loc, f"{uri} chain for {', '.join(served_for)}", tuple(certs)) if certs else None
        )
    return bundles


def _loc(item: Facts) -> Location:
    return Location(item.job.target.uri, None)


def _resource(item: Facts) -> str:
    return f"probe {item.job.label}"


def problem(item: Facts, failure: Failure) -> Problem:
    if failure.kind.is_connect:
        # The SNI name plays no part before the handshake: one finding per endpoint, not per name.
        target = item.job.target
        return Problem(
            _FAILURE_RULES[failure.kind], _loc(item), f"probe {target.label}", f"{target.label}: {failure.message}"
        )
    return Problem(_FAILURE_RULES[failure.kind], _loc(item), _resource(item), f"{item.job.label}: {failure.message}")


def _listener(
    item: Facts, extra: Extras, built: Built, bundles: dict[_ChainKey, CertificateBundle | None], trust_store: str
) -> Listener | None:
    target = item.job.target
    fields: dict[str, object] = dict(
        loc=_loc(item),
        resource=_resource(item),
        source_kind="probe",
        instance=target.uri,
        address=bracket(target.host),
        port=target.port,
        server_names=(item.job.name,) if item.job.name else (),
        tls_expected=True,
        routes=extra.routes,
        codec=extra.codec,
    )
    if item.failure is not None:
        built.model.problems.append(problem(item, item.failure))
        if item.failure.kind is FailureKind.NOT_TLS:
            # The port answers, but not with TLS: the same listener a config without `ssl` gives.
            return Listener(tls=None, http2=False, http2_explicit=False, **fields)  # type: ignore[arg-type]
        return None
    baseline = item.baseline
    assert baseline is not None
    loc = _loc(item)
    ref = _certificates(item, bundles)
    alpn, ordered = _alpn_preference(item)
    tls = TlsSettings(
        loc=loc,
        protocols=item.accepted(),
        protocols_explicit=True,
        protocols_note=protocols_note(item),
        cipher_spec=None,
        ciphers=(),
        ciphers_loc=None,
        alpn=alpn,
        alpn_explicit=ordered,
        alpn_loc=loc,
        certificates=(ref,) if ref is not None else (),
    )
    if item.verify is not None and item.verify.failure is not None and item.verify.failure.kind is FailureKind.VERIFY:
        built.model.problems.append(
            Problem(
                "probe-cert-untrusted",
                loc,
                _resource(item),
                f"the chain served for {item.job.shown!r} does not verify against {trust_store}: "
                f"{item.verify.failure.message}",
            )
        )
    http2 = "h2" in alpn
    return Listener(tls=tls, http2=http2, http2_explicit=http2, **fields)  # type: ignore[arg-type]


def protocols_note(item: Facts) -> str:
    accepted = ", ".join(v.value for v in item.accepted()) or "none"
    refused = ", ".join(v.value for v in item.refused())
    return f"probed: accepts {accepted}" + (f"; refuses {refused}" if refused else "")


def _alpn_preference(item: Facts) -> tuple[tuple[str, ...], bool]:
    """The server's ALPN list as far as the answers show it: the protocol it picks from the offered
    list first, then the other protocols it accepts when offered alone, in the offered order.
    Ordered (explicit) when it supports two or more: then its preference has been observed."""
    if not item.alpn:
        return (), False
    first = item.alpn[0]
    alone = item.alpn[1:] or item.alpn[:1]
    supported = [a.question.alpn[0] for a in alone if a.ok and a.alpn == a.question.alpn[0]]
    if first.ok and first.alpn and first.alpn not in supported:
        supported.append(first.alpn)
    if first.ok and first.alpn in supported:
        supported.remove(first.alpn)
        supported.insert(0, first.alpn)
    return tuple(supported), len(supported) > 1


def _certificates(item: Facts, bundles: dict[_ChainKey, CertificateBundle | None]) -> CertificateRef | None:
    assert item.baseline is not None
    bundle = bundles.get((item.job.target.uri, item.baseline.chain))
    if bundle is None:
        return None
    return CertificateRef(_loc(item), None, None, RefStatus.OK, RefStatus.EXTERNAL, bundle)


def _describe(der: bytes, loc: Location, label: str, built: Built) -> Certificate | None:
    from auditor.parsers.certs import parse_bytes

    parsed = parse_bytes(der, loc.file, resource=label)
    built.model.problems.extend(
        Problem(p.rule_id, loc, label, f"served certificate: {p.message}") for p in parsed.problems
    )
    if parsed.bundle is None or not parsed.bundle.certificates:
        return None
    # parse_bytes gives a DER file line 1; a served certificate has no line.
    return replace(parsed.bundle.certificates[0], loc=loc)
