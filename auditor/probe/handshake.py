"""One TLS handshake per question, with Python's ``ssl`` module, bounded in time.

The handshake runs over memory BIOs on a socket we drive ourselves, so that one deadline covers
connect and handshake, and so that the bytes a server sends back are kept: a server that answers
a ClientHello with ``HTTP/1.1 400 Bad Request`` is reported as plain HTTP, not as OpenSSL's
"wrong version number".

Certificates are never verified while probing (a probe must see what is served, valid or not);
the separate ``verify`` question asks what a verifying client would say.
"""

from __future__ import annotations

import functools
import socket
import ssl
import time
import warnings
from dataclasses import dataclass

from auditor.hostnames import to_ascii
from auditor.model import TlsVersion
from auditor.probe.network import Address, Failure, FailureKind, connect

# Offer every suite the local OpenSSL has (but no anonymous ones), at security level 0: OpenSSL 3
# refuses TLS 1.0/1.1 and SHA-1 signatures at its default level, so without this a probe could
# not tell whether a server accepts them.
PROBE_CIPHERS = "ALL:!aNULL:@SECLEVEL=0"
_RECEIVED_KEPT = 512
_TLS_RECORD_TYPES = frozenset({0x14, 0x15, 0x16, 0x17})

_SSL_VERSIONS: dict[TlsVersion, ssl.TLSVersion] = {
    TlsVersion.SSL3: ssl.TLSVersion.SSLv3,
    TlsVersion.TLS1_0: ssl.TLSVersion.TLSv1,
    TlsVersion.TLS1_1: ssl.TLSVersion.TLSv1_1,
    TlsVersion.TLS1_2: ssl.TLSVersion.TLSv1_2,
    TlsVersion.TLS1_3: ssl.TLSVersion.TLSv1_3,
}
_NAMES = {
    "TLSv1": TlsVersion.TLS1_0,
    "TLSv1.1": TlsVersion.TLS1_1,
    "TLSv1.2": TlsVersion.TLS1_2,
    "TLSv1.3": TlsVersion.TLS1_3,
    "SSLv3": TlsVersion.SSL3,
}


def testable_versions() -> tuple[TlsVersion, ...]:
    """The protocol versions the local OpenSSL can offer (SSLv3 is compiled out of OpenSSL 3)."""
    available = {
        TlsVersion.SSL3: ssl.HAS_SSLv3,
        TlsVersion.TLS1_0: ssl.HAS_TLSv1,
        TlsVersion.TLS1_1: ssl.HAS_TLSv1_1,
        TlsVersion.TLS1_2: ssl.HAS_TLSv1_2,
        TlsVersion.TLS1_3: ssl.HAS_TLSv1_3,
    }
    return tuple(v for v in TlsVersion if available.get(v, False))


def version_of(name: str | None) -> TlsVersion | None:
    return _NAMES.get(name or "")


@dataclass(frozen=True, slots=True)
class Question:
    name: str  # "baseline", "TLSv1.1", "ALPN h2,http/1.1", "verify"
    min_version: TlsVersion
    max_version: TlsVersion
    alpn: tuple[str, ...] = ()
    verify: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    question: Question
    version: TlsVersion | None = None
    alpn: str | None = None
    cipher: str | None = None
    chain: tuple[bytes, ...] = ()  # DER, as the server sent it (leaf first when well formed)
    chain_complete: bool = True  # False: this Python exposes only the leaf
    failure: Failure | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failure is None


def handshake(
    address: Address, sni: str | None, question: Question, timeout: float, cafile: str | None = None
) -> Answer:
    start = time.monotonic()
    deadline = start + timeout
    try:
        context = _context(question, cafile)
    except (ssl.SSLError, ValueError, OSError) as exc:
        return Answer(question, failure=Failure(FailureKind.LOCAL, f"the local OpenSSL cannot ask this: {exc}"))
    family, sockaddr = address
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        failure = connect(sock, sockaddr, timeout)
        if failure is not None:
            return Answer(question, failure=failure, seconds=time.monotonic() - start)
        return _handshake(sock, context, sni, question, deadline, timeout, start)
    finally:
        sock.close()


@functools.lru_cache(maxsize=64)
def _context(question: Question, cafile: str | None) -> ssl.SSLContext:
    """One context per kind of question, shared by every connection and thread that asks it: with
    OpenSSL 3 creating a context (and loading the system trust store) costs far more than a
    handshake on a local network."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # host names are cert-san-mismatch's job, for every --sni
    if question.verify:
        context.verify_mode = ssl.CERT_REQUIRED
        if cafile:
            context.load_verify_locations(cafile=cafile)
        else:
            context.load_default_certs()
    else:
        context.verify_mode = ssl.CERT_NONE
    context.set_ciphers(PROBE_CIPHERS)
    with warnings.catch_warnings():
        # ssl deprecates TLSVersion.TLSv1/TLSv1_1: asking whether a server accepts them is the point.
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = _SSL_VERSIONS[question.min_version]
        context.maximum_version = _SSL_VERSIONS[question.max_version]
    if question.alpn:
        context.set_alpn_protocols(list(question.alpn))
    return context


def _handshake(
    sock: socket.socket,
    context: ssl.SSLContext,
    sni: str | None,
    question: Question,
    deadline: float,
    timeout: float,
    start: float,
) -> Answer:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    try:
        # SNI goes out in its A-label form (RFC 6066): bücher.example -> xn--bcher-kva.example.
        tls = context.wrap_bio(incoming, outgoing, server_side=False, server_hostname=to_ascii(sni) if sni else None)
    except (ValueError, UnicodeError) as exc:
        return Answer(question, failure=Failure(FailureKind.LOCAL, f"cannot send {sni!r} as SNI: {exc}"))
    received = bytearray()
    failure: Failure | None = None
    while True:
        try:
            tls.do_handshake()
            _send_last(sock, outgoing)
            break
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLCertVerificationError as exc:
            failure = Failure(FailureKind.VERIFY, str(exc.verify_message or _reason(exc)))
            break
        except ssl.SSLError as exc:
            failure = _not_tls(received) or _tls_failure(exc, received)
            break
        try:
            sock.sendall(outgoing.read())
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
            data = sock.recv(16384)
        except TimeoutError:
            failure = _not_tls(received) or _timeout(received, timeout)
            break
        except OSError as exc:
            failure = _not_tls(received) or Failure(
                FailureKind.CLOSED, f"the server reset the connection during the TLS handshake ({exc.strerror or exc})"
            )
            break
        if data:
            if len(received) < _RECEIVED_KEPT:
                received += data[: _RECEIVED_KEPT - len(received)]
            incoming.write(data)
        else:
            incoming.write_eof()
    elapsed = time.monotonic() - start
    if failure is not None:
        return Answer(question, failure=failure, seconds=elapsed)
    chain, complete = peer_chain(tls)
    cipher = tls.cipher()
    return Answer(
        question,
        version=version_of(tls.version()),
        alpn=tls.selected_alpn_protocol(),
        cipher=cipher[0] if cipher else None,
        chain=chain,
        chain_complete=complete,
        seconds=elapsed,
    )


def _send_last(sock: socket.socket, outgoing: ssl.MemoryBIO) -> None:
    # Our Finished message: the handshake is complete on our side, so a server that hangs up
    # now changes nothing we report.
    try:
        sock.sendall(outgoing.read())
    except OSError:
        pass


def peer_chain(tls: ssl.SSLObject) -> tuple[tuple[bytes, ...], bool]:
    """The certificates the server sent, as DER, and whether that is the whole chain.

    ``SSLObject.get_unverified_chain()`` is public from Python 3.13; 3.10-3.12 have the same
    method on the private ``_sslobj`` (CPython bpo-18233), returning ``_ssl.Certificate``
    objects. Where neither exists only the leaf can be read (``getpeercert(binary_form=True)``).
    """
    getter = getattr(tls, "get_unverified_chain", None) or getattr(
        getattr(tls, "_sslobj", None), "get_unverified_chain", None
    )
    if getter is not None:
        items = getter() or []
        encoding = getattr(ssl, "ENCODING_DER", 2)  # _ssl.ENCODING_DER
        chain = tuple(item if isinstance(item, bytes) else bytes(item.public_bytes(encoding)) for item in items)
        if chain:
            return chain, True
    leaf = tls.getpeercert(binary_form=True)
    return ((leaf,) if leaf else ()), False


def _reason(exc: ssl.SSLError) -> str:
    """``[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1006)`` ->
    ``tlsv1 alert protocol version``."""
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    if "] " in text:
        text = text.split("] ", 1)[1]
    return text.split(" (_ssl.c", 1)[0].strip() or type(exc).__name__


def _tls_failure(exc: ssl.SSLError, received: bytearray) -> Failure:
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        what = "after its first TLS records" if received else "without answering the ClientHello"
        return Failure(FailureKind.CLOSED, f"the server closed the connection {what}")
    return Failure(FailureKind.ALERT, _reason(exc))


def _timeout(received: bytearray, timeout: float) -> Failure:
    if received:
        return Failure(FailureKind.HANDSHAKE_TIMEOUT, f"the TLS handshake did not complete within {timeout:g} s")
    return Failure(
        FailureKind.HANDSHAKE_TIMEOUT,
        f"the server accepted the TCP connection but sent nothing for {timeout:g} s after the ClientHello",
    )


def _not_tls(received: bytearray) -> Failure | None:
    if not received or received[0] in _TLS_RECORD_TYPES:
        return None
    data = bytes(received)
    if data.startswith(b"HTTP/"):
        status = data.split(b"\r\n", 1)[0].split(b"\n", 1)[0].decode("latin-1")
        return Failure(FailureKind.NOT_TLS, f"the server answered the TLS ClientHello with plain HTTP ({status!r})")
    excerpt = data[:32].decode("latin-1")
    return Failure(FailureKind.NOT_TLS, f"the server answered the TLS ClientHello with non-TLS data ({excerpt!r})")
