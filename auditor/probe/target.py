"""What to probe: ``HOST[:PORT]`` targets, ``--resolve NAME=ADDR[:PORT]`` overrides, and jobs.

A target is what the user named; a job is one target probed with one SNI name. Probing only ever
connects to targets the user wrote on the command line or that the configurations they pointed
``--from-config`` at name: nothing is discovered or scanned by surprise.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

DEFAULT_PORT = 443


@dataclass(frozen=True, slots=True)
class Target:
    host: str  # a DNS name or an IP literal (IPv6 without brackets), as the user wrote it
    port: int
    connect: str | None = None  # an address to connect to instead of resolving ``host``

    @property
    def label(self) -> str:
        return f"{bracket(self.host)}:{self.port}"

    @property
    def uri(self) -> str:
        """The file part of every location a probe reports."""
        return f"probe://{self.label}"

    @property
    def dial(self) -> str:
        return self.connect or self.host


@dataclass(frozen=True, slots=True)
class Job:
    """One target asked with one SNI name."""

    target: Target
    sni: str | None  # the server_name sent in the ClientHello; None sends no SNI
    # The name a client checks the certificate against: the SNI, or the host/IP it connects to;
    # None when nothing says which name clients use (a configured listener without server_name).
    name: str | None

    @property
    def shown(self) -> str:
        return self.sni or self.target.host

    @property
    def label(self) -> str:
        return f"{self.target.label} SNI {self.sni}" if self.sni else f"{self.target.label} (no SNI)"


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def split_host_port(text: str, default_port: int | None = DEFAULT_PORT) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``1.2.3.4:port``, ``[::1]:port``, ``[::1]`` or a bare ``::1``."""
    value = text.strip()
    if "://" in value:  # https://host:port/path, as pasted from a browser
        value = value.split("://", 1)[1].split("/", 1)[0]
    if not value:
        raise ValueError("empty host")
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep:
            raise ValueError(f"{text!r}: missing ']' after the IPv6 address")
        if not is_ip(host):
            raise ValueError(f"{text!r}: {host!r} is not an IPv6 address")
        if rest and not rest.startswith(":"):
            raise ValueError(f"{text!r}: expected ':PORT' after ']'")
        return host, _port(rest[1:], text) if rest else default_port
    if value.count(":") > 1:  # a bare IPv6 address has no port
        if not is_ip(value):
            raise ValueError(f"{text!r} is not a host name or an IP address (write IPv6 with a port as [::1]:443)")
        return value, default_port
    host, sep, port = value.partition(":")
    if not host:
        raise ValueError(f"{text!r}: no host before ':'")
    return host, _port(port, text) if sep else default_port


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{whole!r}: port must be a number from 1 to 65535")
    return int(text)


def parse_target(text: str) -> Target:
    host, port = split_host_port(text)
    assert port is not None
    return Target(host, port)


@dataclass(frozen=True, slots=True)
class Override:
    """``--resolve NAME=ADDR[:PORT]``: connect to ADDR (and PORT) when probing NAME."""

    address: str
    port: int | None


def parse_resolve(items: list[str]) -> dict[str, Override]:
    overrides: dict[str, Override] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"--resolve {item!r}: expected NAME=ADDR or NAME=ADDR:PORT")
        address, port = split_host_port(value, default_port=None)
        overrides[name.strip().lower()] = Override(address, port)
    return overrides
