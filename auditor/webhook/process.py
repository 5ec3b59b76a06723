"""Running the server: uvicorn with one process, or a supervisor and N worker processes.

- TLS comes from ``tlsreload.context_factory`` (reloaded when the files change).
- With ``workers > 1`` the supervisor binds the socket, spawns the workers (each builds its own
  app from the picklable ``WebhookApp``) and gives them a shared Prometheus directory.
- SIGTERM/SIGINT: the listening socket closes, requests in flight finish within
  ``graceful_timeout``, idle keep-alive connections close, and the process exits 0.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from auditor.webhook.server import ServerSettings, WebhookApp

log = logging.getLogger("confaudit.webhook")
KEEP_ALIVE_SECONDS = 120


def _stopped(signum: int, frame: object) -> None:
    log.info("stopped", extra={"fields": {"signal": signum}})


def _supervisor_class() -> Any:
    from uvicorn.supervisors import Multiprocess

    class Supervisor(Multiprocess):
        """uvicorn's process supervisor, closing its copy of the listening socket at SIGTERM/SIGINT so
        that new connections are refused at once (the workers close theirs when they stop)."""

        def handle_term(self) -> None:
            for sock in self.sockets:
                sock.close()
            super().handle_term()

        def handle_int(self) -> None:
            for sock in self.sockets:
                sock.close()
            super().handle_int()

    return Supervisor


def serve(
    settings: ServerSettings,
    *,
    cert_file: str,
    key_file: str,
    host: str = "0.0.0.0",  # noqa: S104
    port: int = 8443,
    workers: int = 1,
    graceful_timeout: float = 15.0,
    log_level: str = "info",
) -> int:
    """Run until SIGTERM/SIGINT. Returns the exit code."""
    import os
    import shutil
    import signal
    import tempfile

    from uvicorn.config import Config
    from uvicorn.server import Server

    from auditor.webhook.logs import log_config
    from auditor.webhook.tlsreload import context_factory

    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers are spawned after this and inherit it (see metrics.py).
        metrics_dir = tempfile.mkdtemp(prefix="confaudit-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    config = Config(
        WebhookApp(settings),
        host=host,
        port=port,
        workers=workers,
        interface="asgi3",
        lifespan="on",
        log_config=log_config(log_level),
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=max(1, round(graceful_timeout)),
        # Longer than the API server's idle timeout (Go's http.Transport: 90 s), so that the client, not
        # the server, closes idle keep-alive connections: a server-side close racing a new request is
        # the known source of webhook 'EOF' failures (kubernetes/kubernetes#127335, linkerd2#14096).
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        ssl_context_factory=functools.partial(context_factory, cert_file, key_file),
    )
    try:
        if workers > 1:
            _supervisor_class()(config, sockets=[config.bind_socket()]).run()
            return 0
        # uvicorn re-raises the signal that stopped it once it has shut down gracefully; with this
        # handler in place that is a no-op, and the process exits 0 after a clean SIGTERM.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, _stopped)
        server = Server(config)
        server.run()
        return 0 if server.started else 3
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
