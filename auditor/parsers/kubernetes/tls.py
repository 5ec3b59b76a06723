"""TLS Secrets into certificates, and what an Ingress or Gateway reference to a Secret resolves to.

A ``kubernetes.io/tls`` Secret's ``tls.crt`` and ``tls.key`` (``data``, base64, or ``stringData``)
are parsed like certificate files; every certificate, key and problem found in them is located at
the line of the ``tls.crt`` / ``tls.key`` key (a base64 blob has no lines of its own).

In GitOps repositories TLS Secrets are often not committed: cert-manager issues them, or they are
sealed (SealedSecret) or synced from a vault (ExternalSecret). A referenced Secret that is absent
is therefore only *missing* when nothing in the namespace would create it; otherwise the reference
is external and its certificate is not checked, except for the names a cert-manager Certificate
requests, which are compared with the hosts served.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Any

from auditor.model import Certificate, CertificateRef, CertificateRequest, Location, Model, Problem, RefStatus
from auditor.parsers.certs import CertFile, parse_bytes
from auditor.parsers.kubernetes import Index, K8sObject, get, items

_CERT_MANAGER_ANNOTATIONS = ("cert-manager.io/issuer", "cert-manager.io/cluster-issuer")


class SecretStore:
    """Parses each TLS Secret once and resolves references to Secrets by namespace and name.

    ``shared`` holds the Secrets (and their creators) of the other batches of the scan: a Secret
    found there is used for the reference but reported by its own batch, not this one."""

    def __init__(self, index: Index, shared: Index | None = None) -> None:
        self.index = index
        self.shared = shared if shared is not None else Index()
        self._parsed: dict[tuple[str, str], tuple[CertFile, CertFile | None]] = {}
        self._borrowed: dict[tuple[str, str], tuple[CertFile, CertFile | None]] = {}
        self._requests: dict[tuple[str, str], K8sObject] = {}
        for certificate in (*index.of_kind("Certificate"), *self.shared.of_kind("Certificate")):
            secret_name = certificate.spec.get("secretName")
            if certificate.group == "cert-manager.io" and isinstance(secret_name, str):
                self._requests.setdefault((certificate.namespace, secret_name), certificate)
        for secret in index.of_kind("Secret"):
            if secret.doc.data.get("type") == "kubernetes.io/tls":
                self._parse(secret)

    def reference(self, loc: Location, namespace: str, name: str, consumer: K8sObject) -> CertificateRef:
        """The certificate an Ingress/Gateway names at ``loc``."""
        path = f"{namespace}/{name}"
        request = self._requests.get((namespace, name))
        requested = _request(request) if request is not None else None
        secret = self.index.get("Secret", namespace, name)
        borrowed = secret is None
        if secret is None:
            secret = self.shared.get("Secret", namespace, name)
        if secret is not None:
            cert_file, key_file = self._parse(secret, self._borrowed if borrowed else self._parsed)
            bundle = cert_file.bundle
            key = key_file.keys[0] if key_file is not None and key_file.keys else None
            cert_status = RefStatus.OK if bundle is not None else RefStatus.UNREADABLE
            key_status = RefStatus.OK if key is not None else RefStatus.UNREADABLE
            return CertificateRef(
                loc,
                path,
                path,
                cert_status,
                key_status,
                bundle,
                key,
                origin="Secret",
                note=f"defined at {secret.at('metadata', 'name')}",
                requested=requested,
            )
        note = self._creator(namespace, name, consumer, request)
        if note is not None:
            return CertificateRef(
                loc, path, path, RefStatus.EXTERNAL, RefStatus.EXTERNAL, origin="Secret", note=note, requested=requested
            )
        note = (
            f"no Secret, cert-manager Certificate, SealedSecret or ExternalSecret named {name!r} in "
            f"namespace {namespace} in the scanned tree"
        )
        # The key lives in the same Secret: one finding for the missing Secret is enough.
        return CertificateRef(loc, path, path, RefStatus.MISSING, RefStatus.EXTERNAL, origin="Secret", note=note)

    def _creator(self, namespace: str, name: str, consumer: K8sObject, request: K8sObject | None) -> str | None:
        """What creates a Secret that is not in the tree, if anything in it does."""
        if request is not None:
            return f"issued by cert-manager {request.resource} at {request.at('spec', 'secretName')}"
        for sealed in (*self.index.of_kind("SealedSecret"), *self.shared.of_kind("SealedSecret")):
            target = get(sealed.spec, "template", "metadata", "name") or sealed.name
            if sealed.namespace == namespace and target == name:
                return f"unsealed from {sealed.resource}"
        for external in (*self.index.of_kind("ExternalSecret"), *self.shared.of_kind("ExternalSecret")):
            target = get(external.spec, "target", "name") or external.name
            if external.namespace == namespace and target == name:
                return f"synced by {external.resource}"
        for annotation in _CERT_MANAGER_ANNOTATIONS:
            if annotation in consumer.annotations:
                return f"created by cert-manager from the {annotation} annotation"
        return None

    def _parse(
        self, secret: K8sObject, into: dict[tuple[str, str], tuple[CertFile, CertFile | None]] | None = None
    ) -> tuple[CertFile, CertFile | None]:
        """``into``: ``_parsed`` (reported by ``populate``) or ``_borrowed`` (another batch's)."""
        parsed = self._parsed if into is None else into
        key = (secret.namespace, secret.name)
        cached = parsed.get(key)
        if cached is None:
            cached = (self._member(secret, "tls.crt"), self._member(secret, "tls.key"))
            parsed[key] = cached
        return cached

    def _member(self, secret: K8sObject, item: str) -> CertFile:
        """Parse ``tls.crt`` or ``tls.key`` of a Secret; everything is located at its key's line."""
        data = secret.doc.data
        label = f"{secret.resource} {item}"
        raw: bytes | None = None
        for section in ("stringData", "data"):  # stringData wins, as the API server merges it last
            value = get(data, section, item)
            if value is None:
                continue
            loc = secret.at(section, item)
            if section == "stringData":
                raw = str(value).encode()
            else:
                try:
                    raw = base64.b64decode("".join(str(value).split()), validate=True)
                except (binascii.Error, ValueError):
                    return CertFile(problems=[Problem("parse-error", loc, label, f"{item} is not valid base64")])
            break
        if raw is None:
            loc = secret.at("data") if "data" in data else secret.at("metadata", "name")
            return CertFile(problems=[Problem("parse-error", loc, label, f"TLS Secret has no {item}")])
        return _relocate(
            parse_bytes(raw, secret.doc.file, loc.line or 1, label), loc, f"{secret.doc.file} ({secret.resource})"
        )

    def populate(self, model: Model) -> None:
        for cert_file, key_file in self._parsed.values():
            for part in (cert_file, key_file):
                if part is None:
                    continue
                if part.bundle is not None:
                    model.certificates.append(part.bundle)
                model.keys.extend(part.keys)
                model.problems.extend(part.problems)


def _relocate(parsed: CertFile, loc: Location, path: str) -> CertFile:
    certs = tuple(dataclasses.replace(c, loc=loc) for c in parsed.bundle.certificates) if parsed.bundle else ()
    bundle = dataclasses.replace(parsed.bundle, loc=loc, path=path, certificates=certs) if parsed.bundle else None
    return CertFile(
        bundle,
        [dataclasses.replace(k, loc=loc) for k in parsed.keys],
        [dataclasses.replace(p, loc=loc) for p in parsed.problems],
    )


def _request(certificate: K8sObject) -> CertificateRequest:
    spec = certificate.spec
    names = [str(n) for n in items(spec.get("dnsNames")) if n]
    common_name = spec.get("commonName")
    if isinstance(common_name, str) and common_name and common_name not in names:
        names.append(common_name)  # cert-manager copies commonName into the SANs
    return CertificateRequest(
        certificate.at("spec", "dnsNames") if "dnsNames" in spec else certificate.at("spec"),
        f"cert-manager {certificate.resource}",
        tuple(names),
        tuple(str(a) for a in items(spec.get("ipAddresses"))),
    )


def leaf_of(ref: CertificateRef) -> Certificate | None:
    return ref.bundle.leaf if ref.bundle else None


def secret_reference(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
