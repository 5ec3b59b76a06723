"""Helpers for the webhook tests: AdmissionReviews as the API server sends them, test PKI, the real
server as a subprocess, an HTTPS client, and a stand-in for the Kubernetes API (GET secret).

No Kubernetes API server can run here: ``StandInApi`` is a local HTTPS server that answers
``GET /api/v1/namespaces/{ns}/secrets/{name}`` the way the API server does (the Secret as JSON, or a
404 ``Status``), checks the bearer token, and can be told to answer slowly.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO, TESTS

OBJECTS = Path(__file__).resolve().parent / "objects"
CERTS = TESTS / "certs"


def manifest(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((OBJECTS / name).read_text())
    return data


def tls_secret(name: str, namespace: str, cert: str, key: str) -> dict[str, Any]:
    """A kubernetes.io/tls Secret as the API server holds it (base64 data) from tests/certs files."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": str(uuid.uuid4()),
            "resourceVersion": "4711",
            "managedFields": [{"manager": "kubectl-create", "operation": "Update"}],
        },
        "data": {
            "tls.crt": base64.b64encode((CERTS / cert).read_bytes()).decode(),
            "tls.key": base64.b64encode((CERTS / key).read_bytes()).decode(),
        },
    }


_RESOURCES = {
    "Deployment": ("apps", "v1", "deployments"),
    "Ingress": ("networking.k8s.io", "v1", "ingresses"),
    "Secret": ("", "v1", "secrets"),
    "ConfigMap": ("", "v1", "configmaps"),
    "Gateway": ("gateway.networking.k8s.io", "v1", "gateways"),
}


def review(
    obj: dict[str, Any] | None,
    operation: str = "CREATE",
    old: dict[str, Any] | None = None,
    dry_run: bool = False,
    uid: str | None = None,
) -> dict[str, Any]:
    """The AdmissionReview the API server posts for ``obj`` (admission.k8s.io/v1)."""
    subject = obj or old or {}
    kind = subject["kind"]
    group, version, resource = _RESOURCES[kind]
    metadata = subject.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid or str(uuid.uuid4()),
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": resource},
            "requestKind": {"group": group, "version": version, "kind": kind},
            "requestResource": {"group": group, "version": version, "resource": resource},
            "name": str(metadata.get("name", "")),
            "namespace": metadata.get("namespace"),
            "operation": operation,
            "userInfo": {"username": "alice@example.com", "groups": ["system:authenticated"]},
            "object": obj,
            "oldObject": old,
            "dryRun": dry_run,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": f"{operation.capitalize()}Options"},
        },
    }


def body(obj: dict[str, Any] | None, **kwargs: Any) -> bytes:
    return json.dumps(review(obj, **kwargs)).encode()


# -- PKI -------------------------------------------------------------------------------------------


@dataclass
class Pki:
    """A CA and serving certificates for 127.0.0.1/localhost, written under ``folder``."""

    folder: Path
    ca_key: Any = None
    ca_cert: Any = None
    serials: list[int] = field(default_factory=list)

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.crt"

    def __post_init__(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.folder.mkdir(parents=True, exist_ok=True)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "confaudit webhook test CA")])
        now = dt.datetime.now(dt.timezone.utc)
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_file.write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, cert_file: Path, key_file: Path, serial: int) -> int:
        """Write a leaf for localhost and 127.0.0.1 (replacing the files atomically, as the kubelet
        swaps a Secret volume); returns its serial."""
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"webhook-{serial}")]))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=7))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        for path, data in ((key_file, key_pem), (cert_file, cert.public_bytes(serialization.Encoding.PEM))):
            scratch = path.with_name(path.name + ".new")
            scratch.write_bytes(data)
            os.replace(scratch, path)
        self.serials.append(serial)
        return serial

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        return context


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- the server under test -------------------------------------------------------------------------


class WebhookProcess:
    """``python -m auditor webhook ...`` as a subprocess, with its JSON log on a file."""

    def __init__(self, tmp: Path, pki: Pki, *args: str, name: str = "webhook") -> None:
        self.pki = pki
        self.port = free_port()
        self.cert = tmp / f"{name}.crt"
        self.key = tmp / f"{name}.key"
        if not self.cert.exists():
            pki.issue(self.cert, self.key, serial=1000 + len(pki.serials))
        self.log_file = tmp / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "POD_NAMESPACE")}
        env["PYTHONPATH"] = str(REPO)
        env["PYTHONUNBUFFERED"] = "1"
        self.command = [
            sys.executable,
            "-m",
            "auditor",
            "webhook",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--tls-cert",
            str(self.cert),
            "--tls-key",
            str(self.key),
            *args,
        ]
        with open(self.log_file, "wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.wait_ready()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"webhook exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                status, _ = self.get("/readyz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"webhook not ready within {timeout} s:\n{self.log_text()}")

    def connection(self, timeout: float = 10.0) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.pki.client_context(), timeout=timeout)

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
        connection = self.connection(timeout)
        try:
            connection.request("GET", path)
            answer = connection.getresponse()
            return answer.status, answer.read()
        finally:
            connection.close()

    def post(
        self, data: bytes, path: str = "/validate", timeout: float = 10.0, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        connection = self.connection(timeout)
        try:
            connection.request("POST", path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
            answer = connection.getresponse()
            raw = answer.read()
        finally:
            connection.close()
        try:
            return answer.status, json.loads(raw)
        except ValueError:
            return answer.status, raw.decode(errors="replace")

    def log_lines(self) -> list[str]:
        return [line for line in self.log_text().splitlines() if line.strip()]

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace")

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


# -- a stand-in for the Kubernetes API (GET secret only) -------------------------------------------


class StandInApi:
    """HTTPS on 127.0.0.1 answering GET /api/v1/namespaces/{ns}/secrets/{name} like the API server."""

    TOKEN = "test-token-for-the-stand-in"  # not a credential: only this stand-in accepts it

    def __init__(self, pki: Pki, tmp: Path) -> None:
        self.secrets: dict[tuple[str, str], dict[str, Any]] = {}
        self.delay = 0.0
        self.forbidden: set[str] = set()  # Secret names RBAC refuses
        self.requests: list[str] = []
        cert, key = tmp / "apiserver.crt", tmp / "apiserver.key"
        pki.issue(cert, key, serial=9000)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in.requests.append(self.path)
                time.sleep(stand_in.delay)
                parts = self.path.split("?")[0].strip("/").split("/")
                if self.headers.get("Authorization") != f"Bearer {StandInApi.TOKEN}":
                    return self._send(401, _status(401, "Unauthorized", "Unauthorized"))
                if len(parts) == 6 and parts[5] in stand_in.forbidden:
                    message = f'secrets "{parts[5]}" is forbidden: User cannot get resource "secrets"'
                    return self._send(403, _status(403, "Forbidden", message))
                if len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "secrets":
                    secret = stand_in.secrets.get((parts[3], parts[5]))
                    if secret is not None:
                        return self._send(200, secret)
                    return self._send(404, _status(404, "NotFound", f'secrets "{parts[5]}" not found'))
                return self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))

            def _send(self, code: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        self.kubeconfig = tmp / "kubeconfig"
        self.kubeconfig.write_text(kubeconfig(f"https://127.0.0.1:{self.port}", pki.ca_file, self.TOKEN))

    def add(self, secret: dict[str, Any]) -> None:
        metadata = secret["metadata"]
        self.secrets[(metadata["namespace"], metadata["name"])] = secret

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def kubeconfig(server: str, ca_file: Path, token: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "test",
            "clusters": [{"name": "test", "cluster": {"server": server, "certificate-authority": str(ca_file)}}],
            "users": [{"name": "webhook", "user": {"token": token}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "webhook"}}],
        }
    )
