"""Certificates: what is served against the names it is served for, validity, chain and keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from auditor.hostnames import checkable, covers, names_cover
from auditor.model import Certificate, Finding, Model, RefStatus, Severity
from auditor.policies.data import tls_policy
from auditor.policies.registry import RuleContext, rule


def _describe(cert: Certificate) -> str:
    name = cert.common_names[0] if cert.common_names else cert.subject
    return f"certificate {name!r} ({cert.loc})"


@rule(
    id="cert-san-mismatch",
    severity=Severity.HIGH,
    title="Served certificate does not cover a server name",
    rationale="Clients check the requested host name against the certificate's subjectAltName "
    "(RFC 6125): a name the certificate misses fails with 'certificate is not valid for' or "
    "'Hostname mismatch' for every client of that name, often only one of several names.",
    fix="Reissue the certificate with every served name in its SANs, or serve that name from a "
    "server block with a certificate that covers it.",
)
def cert_san_mismatch(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for listener, ref in model.served_certificates():
        leaf = ref.bundle.leaf if ref.bundle else None
        request = ref.requested
        for name in listener.server_names:
            if not checkable(name):
                continue
            if leaf is not None and leaf.has_san_extension and not covers(leaf, name):  # no SAN: cert-no-san
                sans = ", ".join([*leaf.dns_names, *leaf.ip_addresses]) or "none"
                yield ctx.finding(
                    listener, f"{_describe(leaf)} does not cover server name {name!r} (SANs: {sans})", loc=ref.loc
                )
            if request is not None and not names_cover(request.dns_names, request.ip_addresses, name):
                # The certificate is issued at deploy time: its request is the source of its names.
                listed = ", ".join([*request.dns_names, *request.ip_addresses]) or "none"
                yield ctx.finding(
                    listener,
                    f"{request.resource} ({request.loc}) requests a certificate "
                    f"that does not cover server name {name!r} (dnsNames: {listed})",
                    loc=ref.loc,
                )


@rule(
    id="cert-no-san",
    severity=Severity.HIGH,
    title="Certificate has no subjectAltName",
    rationale="Browsers (Chrome 58+, Firefox 48+), Go and Python ignore the subject CN and only match "
    "host names against subjectAltName; a CN-only certificate fails verification everywhere.",
    fix="Reissue the certificate with a subjectAltName extension listing every host name.",
)
def cert_no_san(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for cert, is_leaf, _ in model.all_certificates():
        if is_leaf and not cert.is_ca and not cert.has_san_extension:
            yield ctx.finding(cert, f"{_describe(cert)} has no subjectAltName extension (subject {cert.subject})")


def _expiry_applies(is_leaf: bool, served: bool, cert: Certificate) -> bool:
    # Unserved CA bundles (trust stores) hold old roots on purpose: only leaves and served chains.
    return served or (is_leaf and not cert.is_ca)


@rule(
    id="cert-expired",
    severity=Severity.CRITICAL,
    title="Certificate has expired",
    rationale="An expired certificate (or intermediate in the served chain) fails every handshake with strict clients.",
    fix="Renew the certificate and deploy it; automate renewal (ACME, cert-manager).",
)
def cert_expired(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for cert, is_leaf, served in model.all_certificates():
        if _expiry_applies(is_leaf, served, cert) and cert.not_after <= ctx.now:
            yield ctx.finding(cert, f"{_describe(cert)} expired on {cert.not_after:%Y-%m-%d}")


@rule(
    id="cert-expiring",
    severity=Severity.MEDIUM,
    title="Certificate expires soon",
    rationale="Certificates that expire within the warning window (--cert-expiry-days, default 30) "
    "are the ones an outage comes from when renewal silently failed.",
    fix="Renew the certificate now and check why automatic renewal did not.",
)
def cert_expiring(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    horizon = ctx.now + dt.timedelta(days=ctx.cert_expiry_days)
    for cert, is_leaf, served in model.all_certificates():
        if _expiry_applies(is_leaf, served, cert) and ctx.now < cert.not_after <= horizon:
            days = (cert.not_after - ctx.now).days
            yield ctx.finding(cert, f"{_describe(cert)} expires on {cert.not_after:%Y-%m-%d}, in {days} days")


@rule(
    id="cert-chain-incomplete",
    severity=Severity.HIGH,
    title="Served certificate file lacks the intermediate certificate",
    rationale="Servers send exactly the chain in the configured file. Browsers often paper over a "
    "missing intermediate (AIA fetching, caches), but curl, Go, Java, Python and gRPC clients "
    "fail with 'unable to get local issuer certificate'.",
    fix="Serve the full chain: leaf first, then each intermediate (e.g. Let's Encrypt fullchain.pem).",
)
def cert_chain_incomplete(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for _listener, ref in model.served_certificates():
        if ref.bundle is None or ref.bundle.leaf is None:
            continue
        leaf = ref.bundle.leaf
        chain = [*ref.bundle.certificates[1:], *ref.extra_chain]
        if leaf.self_signed or any(c.subject == leaf.issuer for c in chain):
            continue
        if any(c.issuer == leaf.subject for c in ref.bundle.certificates[1:]):
            continue  # the first certificate issued a later one: misordered (cert-chain-order), not incomplete
        yield ctx.finding(
            leaf,
            f"{_describe(leaf)} is issued by {leaf.issuer!r} but the served file does not contain that issuer",
            loc=ref.loc,
            resource=leaf.resource,
        )


@rule(
    id="cert-chain-order",
    severity=Severity.MEDIUM,
    title="Certificate chain is out of order",
    rationale="TLS requires the leaf first, each following certificate certifying the one before it "
    "(RFC 8446 4.4.2 relaxes this only for clients that rebuild chains). With an intermediate "
    "first, the server's key no longer matches the first certificate, or clients fail to build "
    "the path.",
    fix="Reorder the file: leaf, then intermediates, each followed by its issuer.",
)
def cert_chain_order(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for bundle in model.certificates:
        certs = bundle.certificates
        for index in range(len(certs) - 1):
            child, parent = certs[index], certs[index + 1]
            if child.issuer != parent.subject and not child.self_signed:
                if any(c.subject == child.issuer for c in certs[index + 1 :]) or (
                    index == 0 and child.is_ca and any(c.issuer == child.subject for c in certs[1:])
                ):
                    yield ctx.finding(
                        child,
                        f"{bundle.path}: certificate {index + 1} ({child.subject}) is not followed by its issuer",
                        resource=bundle.path,
                    )
                    break


@rule(
    id="cert-key-mismatch",
    severity=Severity.CRITICAL,
    title="Private key does not match the certificate",
    rationale="A server configured with a key that does not belong to the certificate refuses to start "
    "(nginx: 'key values mismatch') or fails every handshake.",
    fix="Configure the key generated with this certificate, or the certificate issued for this key.",
)
def cert_key_mismatch(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for listener, ref in model.served_certificates():
        leaf = ref.bundle.leaf if ref.bundle else None
        if leaf is None or ref.key is None or ref.key.spki_sha256 is None:
            continue
        if leaf.spki_sha256 != ref.key.spki_sha256:
            yield ctx.finding(
                listener, f"key {ref.key_path or ref.key.loc.file!r} does not match {_describe(leaf)}", loc=ref.loc
            )


@rule(
    id="cert-weak-key",
    severity=Severity.HIGH,
    title="Certificate key is too small",
    rationale="RSA keys below 2048 bits and EC keys below 256 bits are below every current baseline "
    "(CA/Browser Forum, NIST SP 800-131A). It is an outage, not only a weakness: OpenSSL 3 at "
    "security level 2 (the default of many distributions and nginx builds) refuses to load them "
    "('ee key too small'), and clients reject them. DSA is no longer supported.",
    fix="Issue a new certificate with an RSA 2048+ or ECDSA P-256+ key (or Ed25519 where clients allow).",
)
def cert_weak_key(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    minimum = tls_policy().min_key_bits
    for cert, is_leaf, served in model.all_certificates():
        floor = minimum.get(cert.key_type)
        if (is_leaf or served) and floor is not None and cert.key_bits < floor:
            yield ctx.finding(
                cert, f"{_describe(cert)} has a {cert.key_bits}-bit {cert.key_type} key (minimum {floor})"
            )


@rule(
    id="cert-weak-signature",
    severity=Severity.HIGH,
    title="Certificate signed with SHA-1 or MD5",
    rationale="SHA-1 and MD5 signatures are forgeable (SHAttered, Flame); browsers and TLS libraries "
    "reject them in certificate chains.",
    fix="Reissue the certificate with a SHA-256 (or stronger) signature.",
)
def cert_weak_signature(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    weak = tls_policy().weak_signature_hashes
    for cert, is_leaf, served in model.all_certificates():
        if (is_leaf or served) and not cert.self_signed and cert.signature_hash in weak:
            yield ctx.finding(cert, f"{_describe(cert)} is signed with {cert.signature_hash}")


_OBJECT_FIX = (
    "Add the {kind} to the same namespace, or what creates it (a cert-manager Certificate, "
    "SealedSecret or ExternalSecret), or correct the name that references it."
)


@rule(
    id="cert-missing",
    severity=Severity.HIGH,
    title="Referenced certificate or key file does not exist",
    rationale="A server that names a certificate or key file that is not there refuses to start or "
    "reload (nginx: 'cannot load certificate ... No such file or directory').",
    fix="Add the file to the repository/image, or correct the path (relative paths resolve from "
    "the nginx configuration directory, not from the including file).",
)
def cert_missing(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for listener, ref in model.served_certificates():
        for what, path, status, loc in (
            ("certificate", ref.cert_path, ref.cert_status, ref.loc),
            ("key", ref.key_path, ref.key_status, ref.key_loc or ref.loc),
        ):
            source = f"{what} {ref.origin} {path!r}" if ref.origin != "file" else f"{what} file {path!r}"
            detail = f" ({ref.note})" if ref.note else ""
            fix = None if ref.origin == "file" else _OBJECT_FIX.format(kind=ref.origin)
            if status is RefStatus.MISSING:
                text = f"{source} does not exist{detail}" if path else f"no {what} file is configured"
                yield ctx.finding(listener, text, loc=loc, fix=fix)
            elif status is RefStatus.UNREADABLE:
                yield ctx.finding(listener, f"{source} holds no usable {what}{detail}", loc=loc, fix=fix)


@rule(
    id="cert-key-encrypted",
    severity=Severity.MEDIUM,
    title="Private key is encrypted",
    rationale="An encrypted key makes the server prompt for a pass phrase at start-up, which blocks "
    "unattended restarts (nginx needs ssl_password_file, Envoy cannot load it). confaudit never asks "
    "for the pass phrase and never prints key material.",
    fix="Store the key unencrypted with strict file permissions or in a secret store, or configure "
    "the pass phrase file (nginx: ssl_password_file).",
)
def cert_key_encrypted(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for key in model.keys:
        if key.encrypted:
            yield ctx.finding(key, f"private key in {key.loc.file} is encrypted")
