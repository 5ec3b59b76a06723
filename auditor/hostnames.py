"""Host name matching against certificates, per RFC 6125 (and the CA/Browser Forum rules).

- A wildcard is only the whole left-most label (``*.example.com``); it matches exactly one label,
  never the apex (``example.com``) and never two labels (``a.b.example.com``).
- Names compare case-insensitively in their A-label (IDNA) form, so ``bücher.example`` matches a
  SAN ``xn--bcher-kva.example``.
- IP addresses match only IP SANs, never DNS SANs.
- With a subjectAltName extension present the subject CN is ignored (RFC 6125 section 6.4.4).
"""

from __future__ import annotations

import ipaddress

from auditor.model import Certificate


def to_ascii(name: str) -> str:
    name = name.strip().rstrip(".").lower()
    if name.isascii():
        return name
    try:
        import idna

        return str(idna.encode(name, uts46=True).decode("ascii"))
    except Exception:  # noqa: BLE001 - idna.IDNAError and friends: keep the name, it will not match
        return name


def ip_address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None


def dns_matches(pattern: str, name: str) -> bool:
    """Does a certificate name (maybe a wildcard) match a concrete host name?"""
    pattern, name = to_ascii(pattern), to_ascii(name)
    if "*" not in pattern:
        return pattern == name
    first, _, rest = pattern.partition(".")
    if first != "*" or "*" in rest or rest.count(".") < 1:
        return False  # partial or non-left-most wildcards, or "*.com": not honoured by clients
    label, _, name_rest = name.partition(".")
    return bool(label) and name_rest == rest


def covers(cert: Certificate, name: str) -> bool:
    """Does the certificate cover a server name as a config writes it?

    ``*.example.com`` (a wildcard server name) is covered only by the same wildcard;
    ``.example.com`` (nginx: the apex and every subdomain) needs both forms.
    """
    return names_cover(cert.dns_names if cert.has_san_extension else (), cert.ip_addresses, name)


def names_cover(dns_names: tuple[str, ...], ip_addresses: tuple[str, ...], name: str) -> bool:
    """``covers`` for a list of SANs (e.g. the dnsNames a cert-manager Certificate requests)."""
    ip = ip_address(name)
    if ip is not None:
        return any(ip_address(a) == ip for a in ip_addresses)
    if name.startswith("."):
        apex = name[1:]
        return names_cover(dns_names, ip_addresses, apex) and names_cover(dns_names, ip_addresses, "*." + apex)
    if name.startswith("*."):
        wanted = to_ascii(name)
        return any(to_ascii(n) == wanted for n in dns_names)
    return any(dns_matches(n, name) for n in dns_names)


def checkable(name: str) -> bool:
    """Server names we can check: not catch-alls, regexes or trailing wildcards."""
    if name in ("", "_", "*", "localhost") or name.startswith("~"):
        return False
    if name.endswith(".*") or "$" in name:
        return False
    return "." in name or ip_address(name) is not None
