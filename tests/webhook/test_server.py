"""The real server (``python -m auditor webhook``) over TLS on 127.0.0.1, with certificates made
here: AdmissionReviews for allowed, warned and refused objects, bad and oversized bodies, Secret
lookups against a stand-in API server (no real one can run here), time budgets, certificate
rotation with real handshakes, metrics, JSON logs, and SIGTERM with a request in flight."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.webhook.support import (
    CERTS,
    Pki,
    StandInApi,
    WebhookProcess,
    body,
    free_port,
    kubeconfig,
    manifest,
    tls_secret,
)

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")
pytest.importorskip("prometheus_client")
pytest.importorskip("kubernetes")


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("webhook")


@pytest.fixture(scope="module")
def pki(tmp: Path) -> Pki:
    return Pki(tmp / "pki")


@pytest.fixture(scope="module")
def api(pki: Pki, tmp: Path) -> Iterator[StandInApi]:
    stand_in = StandInApi(pki, tmp)
    stand_in.add(tls_secret("shop-tls", "shop", "api.fullchain.crt", "api.key"))  # covers api.example.com only
    stand_in.add(tls_secret("api-tls", "shop", "api.fullchain.crt", "api.key"))
    stand_in.add(tls_secret("slow-tls", "shop", "api.fullchain.crt", "api.key"))
    yield stand_in
    stand_in.close()


@pytest.fixture(scope="module")
def deny(tmp: Path, pki: Pki, api: StandInApi) -> Iterator[WebhookProcess]:
    server = WebhookProcess(
        tmp,
        pki,
        "--mode",
        "deny",
        "--fail-on",
        "medium",
        "--lookup",
        "--kubeconfig",
        str(api.kubeconfig),
        "--lookup-timeout",
        "3",
        "--review-timeout",
        "1",
        "--max-body-bytes",
        "65536",
        name="deny",
    )
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="module")
def warn(tmp: Path, pki: Pki) -> Iterator[WebhookProcess]:
    # --lookup against a port where nothing listens: the unreachable API server.
    unreachable = tmp / "unreachable.kubeconfig"
    unreachable.write_text(kubeconfig(f"https://127.0.0.1:{free_port()}", pki.ca_file, StandInApi.TOKEN))
    server = WebhookProcess(
        tmp,
        pki,
        "--mode",
        "warn",
        "--fail-on",
        "medium",
        "--workers",
        "2",
        "--lookup",
        "--kubeconfig",
        str(unreachable),
        name="warn",
    )
    yield server
    assert server.stop() == 0


def ingress(name: str, host: str, secret: str) -> dict[str, object]:
    obj = manifest("ingress-api.yaml")
    obj["metadata"]["name"] = name  # type: ignore[index]
    obj["spec"]["tls"] = [{"hosts": [host], "secretName": secret}]  # type: ignore[index]
    obj["spec"]["rules"][0]["host"] = host  # type: ignore[index]
    return obj


def test_deployment_refused_in_deny_mode(deny: WebhookProcess) -> None:
    status, answer = deny.post(body(manifest("deployment-shell.yaml"), uid="0b6f3c1e-8f8e-4a44-9d4f-5f1d2c3b4a59"))
    assert status == 200
    assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["kind"] == "AdmissionReview"
    response = answer["response"]
    assert response["uid"] == "0b6f3c1e-8f8e-4a44-9d4f-5f1d2c3b4a59"
    assert response["allowed"] is False
    assert response["status"]["message"].startswith("confaudit refused Deployment shop/api: 2 findings")
    assert "shutdown-shell-pid1" in response["status"]["message"]


@pytest.mark.parametrize("name", ["deployment-good.yaml", "configmap.yaml"])
def test_clean_objects_allowed(deny: WebhookProcess, name: str) -> None:
    status, answer = deny.post(body(manifest(name), uid="u-1"))
    assert status == 200 and answer["response"] == {"uid": "u-1", "allowed": True}


def test_ingress_checked_against_its_secret_through_the_api(deny: WebhookProcess, api: StandInApi) -> None:
    status, answer = deny.post(body(ingress("shop", "shop.example.com", "shop-tls")))
    assert status == 200 and answer["response"]["allowed"] is False
    assert "cert-san-mismatch (high)" in answer["response"]["status"]["message"]
    assert "does not cover server name 'shop.example.com'" in answer["response"]["status"]["message"]
    assert "/api/v1/namespaces/shop/secrets/shop-tls" in api.requests
    status, answer = deny.post(body(ingress("api", "api.example.com", "api-tls")))
    assert status == 200 and answer["response"]["allowed"] is True
    # A Secret the API does not have: the checks that need it are skipped, with a warning
    status, answer = deny.post(body(ingress("new", "new.example.com", "not-yet-created")))
    assert answer["response"]["allowed"] is True
    assert answer["response"]["warnings"] == ["TLS checks for Secret shop/not-yet-created skipped: it does not exist"]


def test_secret_refused_by_rbac(deny: WebhookProcess, api: StandInApi) -> None:
    api.forbidden.add("locked-tls")
    status, answer = deny.post(body(ingress("locked", "locked.example.com", "locked-tls")))
    assert status == 200 and answer["response"]["allowed"] is True
    assert answer["response"]["warnings"] == [
        "TLS checks for Secret shop/locked-tls skipped: forbidden by RBAC (see deploy/lookup)"
    ]
    # A refusal is about that Secret: the next Ingress's Secret is still read
    status, answer = deny.post(body(ingress("shop2", "shop.example.com", "shop-tls")))
    assert "cert-san-mismatch" in answer["response"]["status"]["message"]


def test_tls_secret_itself(deny: WebhookProcess) -> None:
    status, answer = deny.post(body(tls_secret("legacy-tls", "shop", "expired.crt", "expired.key")))
    assert status == 200 and answer["response"]["allowed"] is False
    assert "cert-expired" in answer["response"]["status"]["message"]


def test_time_budget_allows_with_a_warning(deny: WebhookProcess, api: StandInApi) -> None:
    # The stand-in API answers after 2 s; the review budget is 1 s (the lookup timeout 3 s).
    api.delay = 2.0
    try:
        started = time.monotonic()
        status, answer = deny.post(body(ingress("slow", "slow.example.com", "slow-tls")))
        elapsed = time.monotonic() - started
    finally:
        api.delay = 0.0
    assert status == 200 and answer["response"]["allowed"] is True
    assert answer["response"]["warnings"] == ["confaudit did not finish within 1 s: allowed unchecked"]
    assert elapsed < 1.9


def test_delete_and_dry_run(deny: WebhookProcess) -> None:
    status, answer = deny.post(body(None, old=manifest("deployment-shell.yaml"), operation="DELETE", uid="d"))
    assert status == 200 and answer["response"] == {"uid": "d", "allowed": True}
    status, answer = deny.post(body(manifest("deployment-shell.yaml"), dry_run=True))
    assert answer["response"]["allowed"] is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": ', "request body is not JSON"),
        (b'{"apiVersion": "v1", "kind": "ConfigMap"}', "expected kind AdmissionReview, got 'ConfigMap'"),
        (b"", "request body is not JSON"),
        (b'"\\ud800"', "not a JSON object"),
    ],
)
def test_malformed_bodies_get_400_with_a_reason(deny: WebhookProcess, data: bytes, message: str) -> None:
    status, answer = deny.post(data)
    assert status == 400
    assert isinstance(answer, dict) and message in answer["error"], answer
    assert "Traceback" not in json.dumps(answer)


def test_other_methods_and_paths(deny: WebhookProcess) -> None:
    assert deny.get("/validate")[0] == 405
    assert deny.get("/nothing-here")[0] == 404
    assert deny.get("/healthz") == (200, b"ok")
    assert deny.get("/readyz") == (200, b"ready")


def test_oversized_bodies_get_413(deny: WebhookProcess) -> None:
    big = body(manifest("configmap.yaml")).replace(b'"info"', b'"' + b"x" * 70000 + b'"')
    status, answer = deny.post(big)
    assert status == 413 and "over 65536 bytes" in answer["error"]
    # Without a Content-Length (chunked), the body is cut off as soon as it passes the limit
    connection = deny.connection()
    try:
        connection.putrequest("POST", "/validate")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.putheader("Content-Type", "application/json")
        connection.endheaders()
        for offset in range(0, len(big), 16384):
            chunk = big[offset : offset + 16384]
            try:
                connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:  # the server may answer and close before the last chunks
                break
        else:
            connection.send(b"0\r\n\r\n")
        assert connection.getresponse().status == 413
    finally:
        connection.close()


def test_metrics(deny: WebhookProcess) -> None:
    deny.post(body(manifest("deployment-shell.yaml")))
    status, data = deny.get("/metrics")
    text = data.decode()
    assert status == 200
    assert 'confaudit_webhook_decisions_total{decision="denied",dry_run="false",mode="deny"}' in text
    assert 'confaudit_webhook_findings_total{rule="shutdown-shell-pid1",severity="high",state="active"}' in text
    assert 'confaudit_webhook_requests_total{code="413",path="/validate"}' in text
    assert "confaudit_webhook_review_seconds_bucket" in text
    assert 'confaudit_webhook_secret_lookups_total{result="found"}' in text


def test_logs_are_json_lines_without_key_material(deny: WebhookProcess) -> None:
    deny.post(body(manifest("deployment-shell.yaml"), uid="log-check"))
    deadline = time.monotonic() + 5
    entries: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        entries = [json.loads(line) for line in deny.log_lines()]  # every line is one JSON object
        if any(e.get("uid") == "log-check" for e in entries):
            break
        time.sleep(0.1)
    review = next(e for e in entries if e.get("uid") == "log-check")
    assert review["decision"] == "denied" and review["kind"] == "Deployment" and review["user"] == "alice@example.com"
    assert {f["rule_id"] for f in review["findings"]} == {"shutdown-shell-pid1", "shutdown-no-prestop"}  # type: ignore[attr-defined]
    text = deny.log_text()
    assert "PRIVATE KEY" not in text
    secret_data = tls_secret("x", "x", "api.fullchain.crt", "api.key")["data"]["tls.key"]
    assert secret_data[:40] not in text


def test_warn_mode_with_two_workers(warn: WebhookProcess) -> None:
    status, answer = warn.post(body(manifest("deployment-shell.yaml"), uid="w"))
    response = answer["response"]
    assert status == 200 and response["allowed"] is True
    assert [w.split(" ")[0] for w in response["warnings"]] == ["shutdown-shell-pid1", "shutdown-no-prestop"]
    assert all(len(w) <= 120 for w in response["warnings"])
    # Each worker counts; a scrape sums them (prometheus multiprocess mode)
    for _ in range(6):
        warn.post(body(manifest("deployment-good.yaml")))
    text = warn.get("/metrics")[1].decode()
    line = next(
        x
        for x in text.splitlines()
        if x.startswith('confaudit_webhook_decisions_total{decision="allowed",dry_run="false",mode="warn"}')
    )
    assert float(line.split()[-1]) == 7.0


def test_unreachable_api_server_skips_with_a_warning(warn: WebhookProcess) -> None:
    started = time.monotonic()
    status, answer = warn.post(body(ingress("shop", "shop.example.com", "shop-tls")))
    assert time.monotonic() - started < 1.9
    assert status == 200 and answer["response"]["allowed"] is True
    assert answer["response"]["warnings"] == ["TLS checks for Secret shop/shop-tls skipped: connection refused"]


def test_fail_closed_refuses_what_it_could_not_evaluate(tmp: Path, pki: Pki) -> None:
    slow = StandInApi(pki, tmp)
    slow.add(tls_secret("shop-tls", "shop", "api.fullchain.crt", "api.key"))
    slow.delay = 3.0
    server = WebhookProcess(
        tmp,
        pki,
        "--mode",
        "deny",
        "--fail-closed",
        "--lookup",
        "--kubeconfig",
        str(slow.kubeconfig),
        "--review-timeout",
        "0.5",
        name="closed",
    )
    try:
        status, answer = server.post(body(ingress("shop", "shop.example.com", "shop-tls"), uid="late"))
        assert status == 200 and answer["response"]["uid"] == "late"
        assert answer["response"]["allowed"] is False
        assert answer["response"]["status"]["message"] == (
            "confaudit did not finish within 0.5 s; refused (--fail-closed)"
        )
    finally:
        assert server.stop() == 0
        slow.close()


def peer_serial(server: WebhookProcess) -> int:
    from cryptography import x509

    connection = server.connection()
    connection.connect()
    try:
        return x509.load_der_x509_certificate(connection.sock.getpeercert(binary_form=True)).serial_number
    finally:
        connection.close()


def test_certificate_rotation_without_restart(tmp_path: Path, pki: Pki) -> None:
    server = WebhookProcess(tmp_path, pki, "--mode", "warn", name="rotating")
    try:
        first = peer_serial(server)
        kept = server.connection()
        kept.request("GET", "/healthz")
        assert kept.getresponse().read() == b"ok"
        # When cert-manager renews the Secret, the kubelet swaps both files
        renewed = pki.issue(server.cert, server.key, serial=first + 1)
        assert peer_serial(server) == renewed
        # The connection opened before keeps working with the certificate it was opened with
        kept.request("GET", "/healthz")
        assert kept.getresponse().read() == b"ok"
        from cryptography import x509

        assert x509.load_der_x509_certificate(kept.sock.getpeercert(binary_form=True)).serial_number == first
        kept.close()
        # A half-written rotation (a key that does not match) keeps the previous certificate
        server.key.write_bytes((CERTS / "other.key").read_bytes())
        assert peer_serial(server) == renewed
        status, answer = server.post(body(manifest("deployment-good.yaml")))
        assert status == 200 and answer["response"]["allowed"] is True
        text = server.get("/metrics")[1].decode()
        assert 'confaudit_webhook_tls_reloads_total{result="ok"} 1.0' in text
        assert 'confaudit_webhook_tls_reloads_total{result="failed"} 1.0' in text
        assert "PRIVATE KEY" not in server.log_text()
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_finishes_requests_in_flight(tmp_path: Path, pki: Pki, workers: str) -> None:
    server = WebhookProcess(tmp_path, pki, "--mode", "deny", "--workers", workers, name="term")
    data = body(manifest("deployment-shell.yaml"), uid="in-flight")
    # Given a request whose body is still arriving, and an idle keep-alive connection
    busy = server.connection(timeout=20)
    busy.putrequest("POST", "/validate")
    busy.putheader("Content-Type", "application/json")
    busy.putheader("Content-Length", str(len(data)))
    busy.endheaders()
    busy.send(data[:100])
    idle = server.connection()
    idle.request("GET", "/healthz")
    assert idle.getresponse().read() == b"ok"
    # When the server gets SIGTERM
    server.terminate()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                pass
            time.sleep(0.05)
        except OSError:
            break
    else:
        pytest.fail("the server still accepts connections 10 s after SIGTERM")
    # Then the request in flight is answered in full, and the process exits cleanly
    busy.send(data[100:])
    answer = busy.getresponse()
    assert answer.status == 200
    review = json.loads(answer.read())
    assert review["response"]["uid"] == "in-flight" and review["response"]["allowed"] is False
    busy.close()
    idle.close()
    server.process.wait(timeout=20)
    assert server.process.returncode == 0
    assert any("Shutting down" in line or "Stopping parent" in line for line in server.log_lines())
