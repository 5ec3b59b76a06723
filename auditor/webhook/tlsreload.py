"""A server TLS context that picks up a renewed certificate without a restart.

cert-manager renews the serving certificate into the Secret mounted in the pod; the kubelet swaps
the files (a symlink flip, so ``os.stat`` sees a new inode). At every TLS handshake the listening
context's SNI callback (OpenSSL calls it for every ClientHello, with or without SNI) compares the
files' identity with the last one loaded; when they changed it builds a fresh context with
``load_cert_chain`` and hands the handshake to it. Connections already open keep the certificate
they were established with. A pair that fails to load (a half-written rotation: new certificate,
old key) is logged and the previous context stays in use until the files change again.

Log lines name the certificate (subject, serial, expiry), never the key.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Callable

log = logging.getLogger("confaudit.webhook")

Stamp = tuple[tuple[int, int, int, int], ...] | None


class ReloadingContext:
    def __init__(self, cert_file: str, key_file: str, on_reload: Callable[[str], None] | None = None) -> None:
        self.cert_file = cert_file
        self.key_file = key_file
        self.on_reload = on_reload
        self._stamp = self._files_stamp()
        self.current = self._build()  # raises ssl.SSLError / OSError: a startup error
        self.listening = self._build()
        self.listening.sni_callback = self._select
        log.info("serving certificate loaded", extra={"fields": {"certificate": describe(self.cert_file)}})

    def _build(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def _files_stamp(self) -> Stamp:
        try:
            stats = [os.stat(self.cert_file), os.stat(self.key_file)]
        except OSError:
            return None
        return tuple((s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns) for s in stats)

    def refresh(self) -> None:
        """Reload when the files changed since the last attempt."""
        stamp = self._files_stamp()
        if stamp is None or stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            fresh = self._build()
        except (ssl.SSLError, OSError) as exc:
            log.warning(
                "new certificate files could not be loaded; still serving the previous certificate",
                extra={"fields": {"error": f"{type(exc).__name__}: {exc.strerror or exc}"}},
            )
            if self.on_reload:
                self.on_reload("failed")
            return
        self.current = fresh
        log.info("serving certificate reloaded", extra={"fields": {"certificate": describe(self.cert_file)}})
        if self.on_reload:
            self.on_reload("ok")

    def _select(self, connection: ssl.SSLObject, server_name: str | None, context: ssl.SSLContext) -> None:
        self.refresh()
        connection.context = self.current


def describe(cert_file: str) -> dict[str, str]:
    """Subject, serial and validity of the first certificate in the file (for logs)."""
    from cryptography import x509

    try:
        with open(cert_file, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
    except (OSError, ValueError) as exc:
        return {"error": str(exc)[:120]}
    return {
        "subject": cert.subject.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }


def context_factory(cert_file: str, key_file: str, *_: object) -> ssl.SSLContext:
    """uvicorn ``ssl_context_factory`` (module level, so worker processes can unpickle it)."""
    from auditor.webhook import server

    reloading = ReloadingContext(cert_file, key_file, server.record_tls_reload)
    return reloading.listening
