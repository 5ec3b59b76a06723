"""Generate the confaudit certificate test fixtures.

Usage::

    python tests/certs/make_certs.py OUTDIR

Writes a fixed catalogue of certificates and keys (see ``README.md`` next to this
script) into OUTDIR. Validity dates and serial numbers are fixed so every
regeneration has the same meaning; the keys themselves are random on each run.
Only the ``cryptography`` package (plus the standard library) is used.
"""

from __future__ import annotations

import datetime
import ipaddress
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
SanEntry = x509.DNSName | x509.IPAddress

ORG = "confaudit tests"
ENCRYPTED_KEY_PASSWORD = b"hunter2"
GARBAGE_SEED = 7
GARBAGE_SIZE = 2048

# DER-encoded AlgorithmIdentifier OIDs (same length, so one can replace the other in place).
OID_SHA256_WITH_RSA = bytes.fromhex("06092a864886f70d01010b")
OID_SHA1_WITH_RSA = bytes.fromhex("06092a864886f70d010105")


def utc(year: int, month: int = 1, day: int = 1) -> datetime.datetime:
    return datetime.datetime(year, month, day, tzinfo=datetime.UTC)


CA_VALIDITY = (utc(2020), utc(2045))
LEAF_VALIDITY = (utc(2024), utc(2044))
EXPIRED_VALIDITY = (utc(2018), utc(2020))
EXPIRING_VALIDITY = (utc(2025), utc(2026, 12, 20))


@dataclass
class Issued:
    """A certificate together with its private key."""

    cert: x509.Certificate
    key: PrivateKey


# --------------------------------------------------------------------------- keys


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def ec_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def signing_hash(issuer_key: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | None:
    """Hash to sign with: SHA-384 for P-384 issuers, none for Ed25519, else SHA-256."""
    if isinstance(issuer_key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(issuer_key, ec.EllipticCurvePrivateKey) and issuer_key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


# --------------------------------------------------------------------------- certificates


def name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def san(entries: Sequence[str]) -> list[SanEntry]:
    """Turn strings into GeneralNames: IP literals become IPAddress, the rest DNSName."""
    result: list[SanEntry] = []
    for entry in entries:
        try:
            result.append(x509.IPAddress(ipaddress.ip_address(entry)))
        except ValueError:
            result.append(x509.DNSName(entry))
    return result


def make_ca(
    common_name: str,
    key: PrivateKey,
    serial: int,
    issuer: Issued | None = None,
    path_length: int | None = None,
) -> Issued:
    """A CA certificate; self-signed when ``issuer`` is None."""
    signer_key = issuer.key if issuer else key
    issuer_name = issuer.cert.subject if issuer else name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(common_name))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(CA_VALIDITY[0])
        .not_valid_after(CA_VALIDITY[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    cert = builder.sign(signer_key, signing_hash(signer_key))
    return Issued(cert=cert, key=key)


def leaf_builder(
    key: PrivateKey,
    serial: int,
    common_name: str,
    sans: Sequence[str] | None,
    validity: tuple[datetime.datetime, datetime.datetime],
    issuer: Issued | None,
) -> x509.CertificateBuilder:
    """Builder for a TLS server leaf; self-signed (but not a CA) when ``issuer`` is None."""
    signer_key = issuer.key if issuer else key
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(common_name))
        .issuer_name(issuer.cert.subject if issuer else name(common_name))
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=is_rsa,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()),
            critical=False,
        )
    )
    if sans is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(san(sans)), critical=False)
    return builder


def make_leaf(
    key: PrivateKey,
    serial: int,
    sans: Sequence[str] | None,
    issuer: Issued | None,
    common_name: str | None = None,
    validity: tuple[datetime.datetime, datetime.datetime] = LEAF_VALIDITY,
) -> Issued:
    """A server leaf; CN defaults to the first SAN."""
    cn = common_name or (sans[0] if sans else "unnamed")
    builder = leaf_builder(key, serial, cn, sans, validity, issuer)
    signer_key = issuer.key if issuer else key
    return Issued(cert=builder.sign(signer_key, signing_hash(signer_key)), key=key)


# --------------------------------------------------------------------------- SHA-1 workaround


def der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def der_tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + der_length(len(value)) + value


def resign_with_sha1(cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey) -> x509.Certificate:
    """Re-sign an RSA/SHA-256 certificate as sha1WithRSAEncryption.

    ``cryptography`` (50.x) refuses SHA-1 in ``CertificateBuilder.sign``, but still signs raw data
    with SHA-1. So take the TBSCertificate, swap its signature AlgorithmIdentifier OID for
    sha1WithRSAEncryption (same encoded length), sign it with PKCS#1 v1.5 + SHA-1 and assemble the
    outer Certificate SEQUENCE by hand.
    """
    tbs = cert.tbs_certificate_bytes
    if tbs.count(OID_SHA256_WITH_RSA) != 1:
        raise RuntimeError("expected exactly one sha256WithRSAEncryption OID in the TBSCertificate")
    tbs = tbs.replace(OID_SHA256_WITH_RSA, OID_SHA1_WITH_RSA)
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    algorithm = der_tlv(0x30, OID_SHA1_WITH_RSA + b"\x05\x00")
    der = der_tlv(0x30, tbs + algorithm + der_tlv(0x03, b"\x00" + signature))
    result = x509.load_der_x509_certificate(der)
    issuer_key.public_key().verify(result.signature, tbs, padding.PKCS1v15(), hashes.SHA1())
    return result


# --------------------------------------------------------------------------- output


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


def key_bytes(
    key: PrivateKey,
    fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8,
    password: bytes | None = None,
) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption)


def garbage_pem() -> bytes:
    return (
        b"-----BEGIN CERTIFICATE-----\n"
        b"This is not a certificate!\n"
        b"It is a few lines of plain text (with spaces & punctuation),\n"
        b"so it is neither valid base64 nor DER.\n"
        b"-----END CERTIFICATE-----\n"
    )


def build_catalogue() -> dict[str, bytes]:
    """Return {file name: contents} for every fixture, in a fixed order."""
    files: dict[str, bytes] = {}
    trad = serialization.PrivateFormat.TraditionalOpenSSL

    root = make_ca("confaudit Test Root CA", ec_key(), serial=0x1001)
    inter = make_ca("confaudit Test Intermediate CA", ec_key(), serial=0x1002, issuer=root, path_length=0)
    legacy = make_ca("confaudit Test Legacy RSA CA", rsa_key(), serial=0x1003)
    files["ca.crt"] = pem(root.cert)
    files["ca.key"] = key_bytes(root.key)
    files["intermediate.crt"] = pem(inter.cert)
    files["intermediate.key"] = key_bytes(inter.key)
    files["legacy-ca.crt"] = pem(legacy.cert)
    files["legacy-ca.key"] = key_bytes(legacy.key)

    api = make_leaf(rsa_key(), 0x2001, ["api.example.com", "www.example.com"], inter)
    files["api.crt"] = pem(api.cert)
    files["api.fullchain.crt"] = pem(api.cert, inter.cert)
    files["api.badorder.crt"] = pem(inter.cert, api.cert)
    files["api.der"] = api.cert.public_bytes(serialization.Encoding.DER)
    files["api.key"] = key_bytes(api.key, trad)

    wildcard = make_leaf(ec_key(), 0x2002, ["*.example.com", "example.com"], inter)
    files["wildcard.crt"] = pem(wildcard.cert, inter.cert)
    files["wildcard.key"] = key_bytes(wildcard.key, trad)

    def chained(stem: str, leaf: Issued) -> None:
        files[f"{stem}.crt"] = pem(leaf.cert, inter.cert)
        files[f"{stem}.key"] = key_bytes(leaf.key)

    chained("grpc", make_leaf(ec_key(ec.SECP384R1()), 0x2003, ["grpc.example.com"], inter))
    chained("nosan", make_leaf(rsa_key(), 0x2004, None, inter, common_name="legacy.example.com"))
    chained("expired", make_leaf(rsa_key(), 0x2005, ["old.example.com"], inter, validity=EXPIRED_VALIDITY))
    chained("expiring", make_leaf(ec_key(), 0x2006, ["soon.example.com"], inter, validity=EXPIRING_VALIDITY))
    chained("weakkey", make_leaf(rsa_key(1024), 0x2007, ["weak.example.com"], inter))
    chained("ed25519", make_leaf(ed25519.Ed25519PrivateKey.generate(), 0x2008, ["ed.example.com"], inter))
    chained("ip", make_leaf(ec_key(), 0x2009, ["127.0.0.1", "::1", "localhost"], inter, common_name="localhost"))
    chained("idn", make_leaf(ec_key(), 0x200A, ["xn--bcher-kva.example", "www.xn--bcher-kva.example"], inter))
    chained("localhost", make_leaf(ec_key(), 0x200B, ["localhost", "127.0.0.1"], inter))
    # A wildcard issued without its apex name: covers shop.example.com, not example.com.
    chained("wildcard-only", make_leaf(ec_key(), 0x200C, ["*.example.com"], inter))

    sha1_key = rsa_key()
    sha256_draft = make_leaf(sha1_key, 0x2101, ["sha1.example.com"], legacy)
    assert isinstance(legacy.key, rsa.RSAPrivateKey)
    sha1_cert = resign_with_sha1(sha256_draft.cert, legacy.key)
    files["sha1.crt"] = pem(sha1_cert, legacy.cert)
    files["sha1.key"] = key_bytes(sha1_key)

    selfsigned = make_leaf(rsa_key(), 0x3001, ["self.example.com"], issuer=None)
    files["selfsigned.crt"] = pem(selfsigned.cert)
    files["selfsigned.key"] = key_bytes(selfsigned.key)

    files["other.key"] = key_bytes(rsa_key())
    files["encrypted.key"] = key_bytes(ec_key(), password=ENCRYPTED_KEY_PASSWORD)
    files["garbage.pem"] = garbage_pem()
    files["binary.crt"] = random.Random(GARBAGE_SEED).randbytes(GARBAGE_SIZE)
    return files


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: make_certs.py OUTDIR", file=sys.stderr)
        return 2
    outdir = Path(argv[0])
    outdir.mkdir(parents=True, exist_ok=True)
    for filename, content in build_catalogue().items():
        (outdir / filename).write_bytes(content)
        print(f"wrote {outdir / filename}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
