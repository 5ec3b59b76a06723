"""TLS protocol versions, cipher suites and listeners that should be TLS but are not."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Model, Protocol, Severity, TlsVersion
from auditor.policies.data import tls_policy, weak_suites
from auditor.policies.registry import RuleContext, rule


@rule(
    id="tls-legacy-protocol",
    severity=Severity.HIGH,
    title="Listener accepts SSLv3, TLS 1.0 or TLS 1.1",
    rationale="TLS 1.0 and 1.1 were deprecated by RFC 8996 (2021) and SSLv3 is broken (POODLE). "
    "Current browsers and gRPC clients refuse them, PCI DSS forbids them, and keeping them "
    "enabled only helps downgrade attacks. Servers linked with OpenSSL 3 negotiate TLS 1.0/1.1 "
    "only when the cipher list lowers the security level to 0 (`@SECLEVEL=0`), so `confaudit "
    "probe` may find them refused live; the same config on an OpenSSL 1.1.1 build or a legacy "
    "crypto policy accepts them, and the config still says it wants them.",
    fix="Allow only TLS 1.2 and TLS 1.3 (nginx: `ssl_protocols TLSv1.2 TLSv1.3;`; Envoy: "
    "`tls_minimum_protocol_version: TLSv1_2`; AWS: an ELBSecurityPolicy-TLS13-1-2-* policy).",
)
def tls_legacy_protocol(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    legacy = tls_policy().legacy_protocols
    for listener, tls, endpoint in model.tls_endpoints():
        enabled = [v.value for v in tls.protocols if v in legacy]
        if enabled:
            yield ctx.finding(listener, f"{endpoint} accepts {', '.join(enabled)} ({tls.protocols_note})", loc=tls.loc)


@rule(
    id="tls13-disabled",
    severity=Severity.MEDIUM,
    title="Listener does not offer TLS 1.3",
    rationale="TLS 1.3 saves a round trip on every new connection, removes the legacy ciphers and "
    "is what current clients prefer; some clients (and FIPS profiles) are moving to TLS 1.3 only. "
    "A protocol list that stops at TLS 1.2 is usually a copy of an old template.",
    fix="Add TLSv1.3 to the allowed protocols (nginx: `ssl_protocols TLSv1.2 TLSv1.3;`; Envoy: "
    "`tls_maximum_protocol_version: TLSv1_3` or leave it unset).",
)
def tls13_disabled(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for listener, tls, endpoint in model.tls_endpoints():
        if tls.protocols and TlsVersion.TLS1_3 not in tls.protocols:
            offered = ", ".join(v.value for v in tls.protocols)
            yield ctx.finding(listener, f"{endpoint} offers only {offered} ({tls.protocols_note})", loc=tls.loc)


@rule(
    id="tls-weak-cipher",
    severity=Severity.HIGH,
    title="Listener enables weak or broken cipher suites",
    rationale="NULL, anonymous, export, RC4, DES, 3DES, IDEA and MD5 suites are broken or have "
    "practical attacks (FREAK, Logjam, SWEET32, RFC 7465): these findings are high or critical. "
    "Static RSA key exchange has no forward secrecy, so a stolen key decrypts recorded traffic: "
    "those findings are low, and only reported for cipher lists that are configured, not for a "
    "server's default list, nor for that default written out (nginx's `HIGH:!aNULL:!MD5`): OpenSSL 3 "
    "expands it to no broken suite and puts ECDHE first, so whether the client's order (nginx's "
    "default) or the server's applies, its static RSA suites are chosen only by clients without "
    "ECDHE. The suites are what the local OpenSSL expands the configured string to, not a keyword "
    "match.",
    fix="Use an ECDHE + AEAD list such as Mozilla's intermediate profile: "
    "`ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305`.",
)
def tls_weak_cipher(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for listener, tls, endpoint in model.tls_endpoints():
        if not tls.protocols or all(v is TlsVersion.TLS1_3 for v in tls.protocols):
            continue  # TLS 1.3 only: the <= 1.2 cipher list is never used
        for weak, names in weak_suites(tls.ciphers):
            is_default = tls.cipher_spec is None or tls.ciphers_default
            if is_default and weak.severity.rank < Severity.MEDIUM.rank:
                continue  # a server's own default list: only what is actually broken
            shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            spec = tls.cipher_spec or "the server default"
            yield ctx.finding(
                listener,
                f"{endpoint} enables {shown}: {weak.why} (from {spec})",
                loc=tls.ciphers_loc or listener.loc,
                severity=weak.severity,
            )


@rule(
    id="tls-port-without-tls",
    severity=Severity.HIGH,
    title="Port 443 served without TLS",
    rationale="A listener on 443 without TLS answers a TLS ClientHello with plain HTTP: clients fail "
    "with 'wrong version number' or 'packet length too long'. In nginx this is a `listen 443;` that "
    "forgot the `ssl` parameter.",
    fix="Enable TLS on the listener (nginx: `listen 443 ssl;` plus ssl_certificate and "
    "ssl_certificate_key), or move the plain-text service to another port.",
)
def tls_port_without_tls(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for listener in model.listeners:
        # A TCP proxy (nginx stream, TLS passthrough with ssl_preread) forwards the client's TLS
        # untouched: it never answers a ClientHello itself.
        if (
            listener.port == 443
            and listener.tls is None
            and listener.codec is not Protocol.TCP
            and not listener.tls_passthrough
        ):
            yield ctx.finding(listener, f"{listener.endpoint} is port 443 but does not use TLS")


@rule(
    id="tls-no-certificate",
    severity=Severity.HIGH,
    title="TLS listener has no certificate configured",
    rationale="A TLS listener without a certificate fails every handshake; nginx only reports it "
    "when the first client connects ('no ssl_certificate is defined for server').",
    fix="Configure a certificate and key for the listener (nginx: ssl_certificate and "
    "ssl_certificate_key in the server or http block).",
)
def tls_no_certificate(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for listener, tls, endpoint in model.tls_endpoints():
        # A server that rejects every handshake (the usual catch-all for unknown SNI names) needs none.
        if not tls.certificates and not tls.rejects_handshake:
            yield ctx.finding(listener, f"{endpoint} uses TLS but no certificate is configured")
