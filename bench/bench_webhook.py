#!/usr/bin/env python3
"""Load-test `confaudit webhook` on loopback: reviews per second, p50/p99 latency and errors.

    python bench/bench_webhook.py [--seconds 20] [--connections 16] [--rate N] [--workers 2] [--client auto|wrk|python]

Starts the real server (`python -m auditor webhook --workers 2 --mode deny --fail-on medium`, TLS
with a certificate made here) on 127.0.0.1, then posts the AdmissionReview of a typical Deployment
(two containers, probes, resources, volumes, managedFields as the API server sends them: ~7 KB)
over HTTP/1.1 keep-alive connections for --seconds. The client is `wrk` (Debian package wrk, with a
Lua script for the POST body) when installed, else an asyncio client on httpx. Every response is
checked by the Python client; wrk counts non-2xx answers and socket errors.

Target (issue #5): at least 300 reviews/s with p99 under 25 ms and zero errors, 2 workers, 2 cores.
Check it at an offered rate (`--connections 8 --rate 400`: wrk pauses between requests, which gives
about 320-380 reviews/s); without --rate the connections send as fast as answers come back, which
measures the ceiling, and its latency is mostly time spent queued. The machine's load average is
printed with the figures: the numbers mean little without it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from tests.webhook.support import Pki, review  # noqa: E402 - the tests' PKI and review builder


def typical_deployment() -> dict[str, Any]:
    """A production-looking Deployment as the API server sends it on UPDATE/CREATE."""
    labels = {
        "app.kubernetes.io/name": "checkout",
        "app.kubernetes.io/part-of": "shop",
        "app.kubernetes.io/version": "5.12.3",
        "team": "payments",
    }
    app = {
        "name": "checkout",
        "image": "registry.example.com/shop/checkout:5.12.3@sha256:" + "ab" * 32,
        "command": ["/app/checkout"],
        "args": ["--config=/etc/checkout/config.yaml", "--port=8080"],
        "ports": [
            {"name": "http", "containerPort": 8080, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
        ],
        "env": [{"name": f"CHECKOUT_SETTING_{i}", "value": f"value-{i}"} for i in range(12)]
        + [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5, "failureThreshold": 2},
        "livenessProbe": {
            "httpGet": {"path": "/live", "port": "http"},
            "periodSeconds": 10,
            "failureThreshold": 3,
            "initialDelaySeconds": 10,
        },
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "10"]}}},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/checkout"}, {"name": "tmp", "mountPath": "/tmp"}],
        "securityContext": {
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    sidecar = {
        "name": "log-shipper",
        "image": "registry.example.com/infra/log-shipper:2.1.0",
        "args": ["--input=/var/log/app", "--output=stdout"],
        "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "checkout",
            "namespace": "shop",
            "labels": labels,
            "uid": "5f0c3c2e-8d11-4f7e-9a57-2f1c1c2a9e41",
            "resourceVersion": "918273645",
            "generation": 42,
            "creationTimestamp": "2026-03-02T10:11:12Z",
            "annotations": {
                "deployment.kubernetes.io/revision": "41",
                "argocd.argoproj.io/tracking-id": "shop:apps/Deployment:shop/checkout",
            },
            "managedFields": [
                {
                    "manager": "argocd-controller",
                    "operation": "Apply",
                    "apiVersion": "apps/v1",
                    "time": "2026-11-20T08:00:00Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {f"f:field{i}": {} for i in range(60)}},
                },
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "apiVersion": "apps/v1",
                    "time": "2026-11-20T08:00:05Z",
                    "fieldsType": "FieldsV1",
                    "subresource": "status",
                    "fieldsV1": {"f:status": {f"f:cond{i}": {} for i in range(20)}},
                },
            ],
        },
        "spec": {
            "replicas": 6,
            "revisionHistoryLimit": 5,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "checkout"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
            "template": {
                "metadata": {"labels": labels, "annotations": {"prometheus.io/scrape": "true"}},
                "spec": {
                    "serviceAccountName": "checkout",
                    "terminationGracePeriodSeconds": 45,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                    "containers": [app, sidecar],
                    "volumes": [
                        {"name": "config", "configMap": {"name": "checkout-config"}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
        "status": {"replicas": 6, "readyReplicas": 6, "updatedReplicas": 6, "observedGeneration": 41},
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(tmp: Path, pki: Pki, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    cert, key = tmp / "server.crt", tmp / "server.key"
    pki.issue(cert, key, serial=77)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    log = open(tmp / "server.log", "wb")  # kept open for the server's lifetime
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "auditor",
            "webhook",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
            "--workers",
            str(workers),
            "--mode",
            "deny",
            "--fail-on",
            "medium",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    context = pki.client_context()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=1) as raw,
                context.wrap_socket(raw, server_hostname="localhost") as tls,
            ):
                tls.sendall(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                if tls.recv(100).startswith(b"HTTP/1.1 200"):
                    return process, port
        except (OSError, ssl.SSLError):
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server did not start:\n{(tmp / 'server.log').read_text()}")


def run_wrk(port: int, payload: bytes, tmp: Path, seconds: int, connections: int, rate: int) -> dict[str, Any]:
    script = tmp / "post.lua"
    (tmp / "review.json").write_bytes(payload)
    lua = (
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'local f = io.open("{tmp / "review.json"}", "rb")\n'
        'wrk.body = f:read("*a")\nf:close()\n'
    )
    if rate:
        # Each connection waits about connections/rate between its requests (jittered so they do not
        # synchronise): the offered load is close to --rate instead of as fast as the server answers.
        pause = connections * 1000.0 / rate
        lua += f"function delay() return math.random({pause * 0.5:.1f}, {pause * 1.5:.1f}) end\n"
    script.write_text(lua)
    output = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
            str(script),
            f"https://127.0.0.1:{port}/validate",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if match is None:
            return float("nan")
        return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]

    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return {
        "client": "wrk",
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "errors": errors,
        "raw": output,
    }


def run_python(port: int, payload: bytes, pki: Pki, seconds: int, connections: int) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0

    async def client(session: httpx.AsyncClient, stop: float) -> None:
        nonlocal errors
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                answer = await session.post("/validate", content=payload, headers={"Content-Type": "application/json"})
                ok = answer.status_code == 200 and "response" in answer.json()
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not ok

    async def main() -> float:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(
            base_url=f"https://127.0.0.1:{port}", verify=pki.client_context(), limits=limits, timeout=5.0
        ) as session:
            started = time.monotonic()
            stop = started + seconds
            await asyncio.gather(*(client(session, stop) for _ in range(connections)))
            return time.monotonic() - started

    elapsed = asyncio.run(main())
    latencies.sort()
    return {
        "client": "python (httpx)",
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[int(len(latencies) * 0.99)],
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--rate", type=int, default=0, help="offered reviews/s (wrk only; default 0: as fast as the server answers)"
    )
    args = parser.parse_args()
    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "python")
    payload = json.dumps(review(typical_deployment())).encode()
    with tempfile.TemporaryDirectory(prefix="confaudit-bench-") as folder:
        tmp = Path(folder)
        pki = Pki(tmp / "pki")
        process, port = start_server(tmp, pki, args.workers)
        try:
            load_before = os.getloadavg()
            if client == "wrk":
                result = run_wrk(port, payload, tmp, args.seconds, args.connections, args.rate)
            else:
                result = run_python(port, payload, pki, args.seconds, args.connections)
            load_after = os.getloadavg()
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    meets = result["rps"] >= 300 and result["p99_ms"] < 25 and result["errors"] == 0
    offered = f"offered about {args.rate}/s" if args.rate and client == "wrk" else "as fast as answered"
    print(
        f"confaudit webhook, {args.workers} workers, {os.cpu_count()} cores, {args.connections} keep-alive "
        f"connections for {args.seconds} s, {offered}, client {result['client']}"
    )
    print(f"review body: {len(payload)} bytes (a Deployment with 2 containers, managedFields)")
    print(f"load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    print(
        f"requests: {result['requests']}  reviews/s: {result['rps']:.0f}  p50: {result['p50_ms']:.2f} ms  "
        f"p99: {result['p99_ms']:.2f} ms  errors: {result['errors']}"
    )
    print(f"target (>= 300 reviews/s, p99 < 25 ms, 0 errors): {'met' if meets else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
