"""Certificates and private keys: PEM bundles, DER files and PEM bytes from Kubernetes Secrets.

Private keys are only ever summarised (type, size, whether encrypted, the SHA-256 of their public
key); no key material is kept, logged or put into a message.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.model import Certificate, CertificateBundle, Location, PrivateKey, Problem

# cryptography warns, on stderr, about certificates it still accepts but will refuse in a later
# release (a serial number that is not positive, say). They are input, not our code: a scan's
# output stays the report. (Raised from this module's calls, so the filter names it.)
warnings.filterwarnings("ignore", module=r"auditor\.parsers\.certs\Z")

if TYPE_CHECKING:
    from cryptography import x509

CERT_SUFFIXES = (".pem", ".crt", ".cer", ".cert", ".key", ".der", ".chain")
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)
_KEY_LABELS = {
    b"PRIVATE KEY",
    b"RSA PRIVATE KEY",
    b"EC PRIVATE KEY",
    b"DSA PRIVATE KEY",
    b"ENCRYPTED PRIVATE KEY",
    b"OPENSSH PRIVATE KEY",
}
_IGNORED_LABELS = {
    b"PUBLIC KEY",
    b"CERTIFICATE REQUEST",
    b"NEW CERTIFICATE REQUEST",
    b"X509 CRL",
    b"DH PARAMETERS",
    b"EC PARAMETERS",
    b"TRUSTED CERTIFICATE",
}


@dataclass(slots=True)
class CertFile:
    """What one file (or one Secret key) holds."""

    bundle: CertificateBundle | None = None
    keys: list[PrivateKey] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def looks_like_pem(head: bytes) -> bool:
    return b"-----BEGIN " in head


def parse_bytes(data: bytes, file: str, first_line: int = 1, resource: str | None = None) -> CertFile:
    """Parse PEM (any number of blocks) or DER bytes. ``first_line`` offsets the reported lines."""
    result = CertFile()
    label = resource or file
    if b"-----BEGIN " in data:
        _parse_pem(data, file, first_line, label, result)
    elif data.strip():
        _parse_der(data, file, first_line, label, result)
    else:
        result.problems.append(Problem("parse-error", Location(file, first_line), label, "empty certificate file"))
    return result


def _parse_pem(data: bytes, file: str, first_line: int, label: str, result: CertFile) -> None:
    from cryptography import x509

    certs: list[Certificate] = []
    found_any = False
    for match in _PEM_BLOCK.finditer(data):
        found_any = True
        line = first_line + data.count(b"\n", 0, match.start())
        loc = Location(file, line)
        block_label = match.group(1)
        block = match.group(0)
        if block_label == b"CERTIFICATE":
            try:
                cert = x509.load_pem_x509_certificate(block)
                certs.append(describe_certificate(cert, loc, label))
            except Exception as exc:  # noqa: BLE001 - any library error is a parse problem
                result.problems.append(
                    Problem("parse-error", loc, label, f"unreadable certificate block: {_reason(exc)}")
                )
        elif block_label in _KEY_LABELS:
            result.keys.append(_describe_key_pem(block, block_label, loc, label, result))
        elif block_label not in _IGNORED_LABELS:
            result.problems.append(
                Problem("parse-error", loc, label, f"unsupported PEM block {block_label.decode(errors='replace')!r}")
            )
    if not found_any:
        begin = data.find(b"-----BEGIN ")
        line = first_line + data.count(b"\n", 0, begin)
        result.problems.append(
            Problem("parse-error", Location(file, line), label, "PEM block has no matching END line")
        )
    if certs:
        result.bundle = CertificateBundle(Location(file, certs[0].loc.line), file, tuple(certs))


def _parse_der(data: bytes, file: str, first_line: int, label: str, result: CertFile) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    loc = Location(file, first_line)
    try:
        cert = x509.load_der_x509_certificate(data)
    except Exception:  # noqa: BLE001 - not a certificate; maybe a key
        cert = None
    if cert is not None:
        result.bundle = CertificateBundle(loc, file, (describe_certificate(cert, loc, label),))
        return
    try:
        key = serialization.load_der_private_key(data, password=None, unsafe_skip_rsa_key_validation=True)
    except TypeError:
        result.keys.append(PrivateKey(loc, label, None, None, True, None))
        return
    except Exception:  # noqa: BLE001 - neither: garbage
        result.problems.append(
            Problem("parse-error", loc, label, "not a PEM or DER certificate or key (binary or corrupt file)")
        )
        return
    result.keys.append(_key_facts(key, loc, label))


def _describe_key_pem(block: bytes, block_label: bytes, loc: Location, label: str, result: CertFile) -> PrivateKey:
    from cryptography.hazmat.primitives import serialization

    if block_label == b"ENCRYPTED PRIVATE KEY" or b"Proc-Type: 4,ENCRYPTED" in block:
        return PrivateKey(loc, label, None, None, True, None)
    if block_label == b"OPENSSH PRIVATE KEY":
        try:
            key: Any = serialization.load_ssh_private_key(block, password=None)
        except Exception:  # noqa: BLE001 - encrypted or corrupt OpenSSH key
            return PrivateKey(loc, label, None, None, True, None)
        return _key_facts(key, loc, label)
    try:
        # Skipping RSA's private-key consistency check (~100 ms per 2048-bit key) is safe here:
        # we only read the public half and never sign with the key.
        key = serialization.load_pem_private_key(block, password=None, unsafe_skip_rsa_key_validation=True)
    except TypeError:  # "Password was not given but private key is encrypted"
        return PrivateKey(loc, label, None, None, True, None)
    except Exception:  # noqa: BLE001 - never echo the library message: it may quote key bytes
        result.problems.append(Problem("parse-error", loc, label, "unreadable private key block"))
        return PrivateKey(loc, label, None, None, False, None)
    return _key_facts(key, loc, label)


def _key_facts(key: Any, loc: Location, label: str) -> PrivateKey:
    public = key.public_key()
    key_type, bits = _key_type(public)
    return PrivateKey(loc, label, key_type, bits, False, _spki_sha256(public))


def _key_type(public: Any) -> tuple[str, int]:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    if isinstance(public, rsa.RSAPublicKey):
        return "RSA", public.key_size
    if isinstance(public, ec.EllipticCurvePublicKey):
        return "EC", public.curve.key_size
    if isinstance(public, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(public, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(public, dsa.DSAPublicKey):
        return "DSA", public.key_size
    return type(public).__name__, 0


def _spki_sha256(public: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def describe_certificate(cert: x509.Certificate, loc: Location, label: str) -> Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = tuple(san.get_values_for_type(x509.DNSName))
        ips = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
        has_san = True
    except x509.ExtensionNotFound:
        dns_names, ips, has_san = (), (), False
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    try:
        hash_algorithm = cert.signature_hash_algorithm
        signature_hash = hash_algorithm.name if hash_algorithm is not None else None
    except Exception:  # noqa: BLE001 - UnsupportedAlgorithm for exotic signatures
        signature_hash = cert.signature_algorithm_oid.dotted_string
    public = cert.public_key()
    key_type, bits = _key_type(public)
    common_names = tuple(str(attr.value) for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME))
    subject = cert.subject.rfc4514_string()
    issuer = cert.issuer.rfc4514_string()
    return Certificate(
        loc=loc,
        resource=label,
        subject=subject,
        common_names=common_names,
        dns_names=dns_names,
        ip_addresses=ips,
        has_san_extension=has_san,
        issuer=issuer,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_type=key_type,
        key_bits=bits,
        signature_hash=signature_hash,
        is_ca=is_ca,
        self_signed=subject == issuer,
        fingerprint_sha256=cert.fingerprint(_sha256()).hex(),
        spki_sha256=hashlib.sha256(
            public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        ).hexdigest(),
    )


def _sha256() -> Any:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
