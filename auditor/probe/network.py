"""Reaching an endpoint: name resolution and TCP connect, each bounded in time, and the kinds of
failure a probe reports."""

from __future__ import annotations

import enum
import socket
import threading
from dataclasses import dataclass
from typing import Any


class FailureKind(enum.Enum):
    DNS = "dns"  # the name does not resolve
    REFUSED = "refused"  # nothing listens (TCP RST)
    UNREACHABLE = "unreachable"  # no route, network down, address not available
    CONNECT_TIMEOUT = "connect-timeout"  # SYN unanswered
    HANDSHAKE_TIMEOUT = "handshake-timeout"  # TCP accepted, no (complete) TLS answer in time
    CLOSED = "closed"  # the server closed or reset the connection during the handshake
    NOT_TLS = "not-tls"  # the server answered with something that is not TLS
    ALERT = "alert"  # a TLS-level refusal: alert, no common version, cipher or protocol
    VERIFY = "verify"  # certificate verification failed (the verify question only)
    LOCAL = "local"  # the local OpenSSL cannot ask this question

    @property
    def is_connect(self) -> bool:
        return self in (FailureKind.DNS, FailureKind.REFUSED, FailureKind.UNREACHABLE, FailureKind.CONNECT_TIMEOUT)


@dataclass(frozen=True, slots=True)
class Failure:
    kind: FailureKind
    message: str


Address = tuple[int, tuple[Any, ...]]  # (address family, sockaddr) from getaddrinfo


def resolve(host: str, port: int, timeout: float) -> list[Address] | Failure:
    """Addresses for a host, in the resolver's order. Bounded by ``timeout`` even when the system
    resolver is not (getaddrinfo has no timeout of its own): the lookup runs in a daemon thread,
    which neither blocks the answer nor the interpreter's exit when the resolver hangs."""
    outcome: list[object] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome.append(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
            outcome.append(exc)
        done.set()

    threading.Thread(target=lookup, name="confaudit-dns", daemon=True).start()
    if not done.wait(timeout):
        return Failure(FailureKind.DNS, f"resolving {host!r} took longer than {timeout:g} s")
    result = outcome[0]
    if isinstance(result, socket.gaierror):
        return Failure(FailureKind.DNS, f"cannot resolve {host!r}: {result.strerror or result}")
    if isinstance(result, Exception):
        return Failure(FailureKind.DNS, f"cannot resolve {host!r}: {result}")
    seen: list[Address] = []
    for family, _type, _proto, _name, sockaddr in result:  # type: ignore[attr-defined]
        item = (int(family), tuple(sockaddr))
        if item not in seen:
            seen.append(item)
    return seen or Failure(FailureKind.DNS, f"{host!r} has no address")


def show_address(address: Address) -> str:
    host = str(address[1][0])
    return f"[{host}]" if ":" in host else host


def connect(sock: socket.socket, sockaddr: tuple[Any, ...], timeout: float) -> Failure | None:
    where = f"{show_address((sock.family, sockaddr))} port {sockaddr[1]}"
    sock.settimeout(timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # handshake flights are small writes
    try:
        sock.connect(sockaddr)
    except ConnectionRefusedError:
        return Failure(FailureKind.REFUSED, f"connection refused: nothing listens on {where}")
    except TimeoutError:
        return Failure(FailureKind.CONNECT_TIMEOUT, f"TCP connect to {where} timed out after {timeout:g} s")
    except OSError as exc:
        return Failure(FailureKind.UNREACHABLE, f"cannot connect to {where}: {exc.strerror or exc}")
    return None
