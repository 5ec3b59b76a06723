"""Turn protocol and cipher settings, as servers spell them, into model values.

Cipher strings are expanded with the local OpenSSL (``ssl.SSLContext.set_ciphers`` +
``get_ciphers``), so ``HIGH:!aNULL`` means exactly what OpenSSL makes of it. Suites that this
OpenSSL build no longer carries (RC4, 3DES, export...) cannot be expanded locally; they come from
the ``legacy_cipher_suites`` table in ``policies/tls.yaml`` so a config that enables them is still
caught.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from auditor.model import CipherSuite, TlsVersion
from auditor.policies.data import tls_policy

_PROTOCOL_NAMES = {
    "sslv2": TlsVersion.SSL2,
    "sslv3": TlsVersion.SSL3,
    "tlsv1": TlsVersion.TLS1_0,
    "tlsv1.0": TlsVersion.TLS1_0,
    "tls1.0": TlsVersion.TLS1_0,
    "tls1_0": TlsVersion.TLS1_0,
    "tlsv1_0": TlsVersion.TLS1_0,
    "tlsv1.1": TlsVersion.TLS1_1,
    "tls1.1": TlsVersion.TLS1_1,
    "tls1_1": TlsVersion.TLS1_1,
    "tlsv1_1": TlsVersion.TLS1_1,
    "tlsv1.2": TlsVersion.TLS1_2,
    "tls1.2": TlsVersion.TLS1_2,
    "tls1_2": TlsVersion.TLS1_2,
    "tlsv1_2": TlsVersion.TLS1_2,
    "tlsv1.3": TlsVersion.TLS1_3,
    "tls1.3": TlsVersion.TLS1_3,
    "tls1_3": TlsVersion.TLS1_3,
    "tlsv1_3": TlsVersion.TLS1_3,
}
_DESCRIPTION = re.compile(r"Kx=(\S+)\s+Au=(\S+)\s+Enc=(\S+)\s+Mac=(\S+)")


def protocol(name: str) -> TlsVersion | None:
    return _PROTOCOL_NAMES.get(name.strip().lower())


def version_range(low: TlsVersion, high: TlsVersion) -> tuple[TlsVersion, ...]:
    return tuple(v for v in TlsVersion if low.rank <= v.rank <= high.rank)


@functools.lru_cache(maxsize=256)
def expand_ciphers(spec: str) -> tuple[CipherSuite, ...]:
    """The TLS <= 1.2 suites an OpenSSL-style cipher string enables, in preference order."""
    import ssl

    tokens = [t for t in re.split(r"[:, ]+", spec.strip()) if t]
    suites: dict[str, CipherSuite] = {}
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        # SECLEVEL=0 so the expansion shows everything the string allows, not only what this
        # machine's OpenSSL security level would let through.
        context.set_ciphers(":".join(tokens) + ":@SECLEVEL=0")
        for info in context.get_ciphers():
            if info["protocol"] == "TLSv1.3":
                continue
            suites[info["name"]] = _suite(dict(info))
    except ssl.SSLError:
        pass  # nothing this OpenSSL knows; the legacy table below may still match
    for legacy in _legacy_enabled(tokens):
        suites.setdefault(legacy.name, legacy)
    return tuple(suites.values())


def _suite(info: Mapping[str, object]) -> CipherSuite:
    match = _DESCRIPTION.search(str(info.get("description", "")))
    name = str(info["name"])
    if match is None:
        return CipherSuite(name, "unknown", "unknown", "unknown", "unknown")
    kx, au, enc, mac = match.groups()
    return CipherSuite(name, kx, au, enc, mac, export="EXP" in name.split("-")[0])


def _legacy_enabled(tokens: list[str]) -> list[CipherSuite]:
    """Apply OpenSSL's add/remove semantics to the suites of the legacy table."""
    enabled: dict[str, CipherSuite] = {}
    removed: set[str] = set()
    for token in tokens:
        if token.startswith("@"):
            continue
        op = token[0] if token[0] in "!-+" else ""
        words = set(token.lstrip("!-+").split("+"))
        for legacy in tls_policy().legacy_suites:
            if not words <= legacy.classes:
                continue
            name = legacy.suite.name
            if op == "!":
                removed.add(name)
                enabled.pop(name, None)
            elif op == "-":
                enabled.pop(name, None)
            elif op == "" and name not in removed:
                enabled[name] = legacy.suite
    return list(enabled.values())
