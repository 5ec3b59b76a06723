"""The ASGI app (Starlette) each worker process serves; ``process`` runs it on uvicorn.

Routes: ``POST /validate`` (AdmissionReview), ``GET /healthz`` (the process answers),
``GET /readyz`` (started and not shutting down), ``GET /metrics`` (Prometheus).

Reliability choices, each bounded:
- Bodies over ``max_body_bytes`` get 413 before they are read in full; a body that is not an
  ``admission.k8s.io/v1`` AdmissionReview gets 400 with the reason, as JSON.
- Each review runs in a worker thread with a time budget (``review_timeout``, well under the
  API server's ``timeoutSeconds``). Past it, and on an unexpected error, the answer follows
  ``fail_closed``: allowed with a warning by default (like ``failurePolicy: Ignore``), refused in
  deny mode when ``fail_closed`` is set (like ``failurePolicy: Fail``).
- Shutdown, workers and TLS: see ``process`` and ``tlsreload``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.webhook.admission import AdmissionRequest, BadReview, Verdict, parse_review, response
from auditor.webhook.review import Reviewer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from auditor.webhook.metrics import Metrics

log = logging.getLogger("confaudit.webhook")

WARM_UP = AdmissionRequest(
    uid="warm-up",
    api_version="admission.k8s.io/v1",
    operation="CREATE",
    kind="Deployment",
    namespace="warm-up",
    name="warm-up",
    dry_run=True,
    old_obj=None,
    user=None,
    obj={
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "warm-up", "namespace": "warm-up"},
        "spec": {
            "template": {"spec": {"containers": [{"name": "app", "image": "app", "ports": [{"containerPort": 80}]}]}}
        },
    },
)


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything a worker process needs to build its app (picklable: sent to spawned workers)."""

    mode: str = "deny"
    fail_on: str | None = None  # None: the configuration file's, else high
    warn_on: str = "low"
    only_new: bool = False
    exclude_namespaces: tuple[str, ...] = ("kube-system",)
    exclude_selector: str | None = None
    rules: tuple[str, ...] = ()
    skip_rules: tuple[str, ...] = ()
    cert_expiry_days: int | None = None  # None: the configuration file's, else 30
    config_file: str | None = None
    lookup: bool = False
    kubeconfig: str | None = None
    lookup_timeout: float = 1.0
    lookup_ttl: float = 30.0
    review_timeout: float = 2.0
    fail_closed: bool = False
    max_body_bytes: int = 8 * 1024 * 1024
    review_threads: int = 4


@functools.cache
def process_metrics() -> Metrics:
    """This process's metrics (one set per worker process; summed across workers at scrape time)."""
    from auditor.webhook.metrics import Metrics

    return Metrics()


def record_tls_reload(result: str) -> None:
    process_metrics().tls_reloads.labels(result).inc()


def build_reviewer(settings: ServerSettings) -> Reviewer:
    from auditor.webhook.settings import reviewer

    return reviewer(settings, lambda result: process_metrics().lookups.labels(result).inc())


class WebhookApp:
    """The ASGI app handed to uvicorn: picklable, it builds the Starlette app inside each worker."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self._app: Starlette | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.settings = state["settings"]
        self._app = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            self._app = create_app(self.settings)
        await self._app(scope, receive, send)


def create_app(settings: ServerSettings, reviewer: Reviewer | None = None) -> Starlette:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    reviewer = reviewer or build_reviewer(settings)
    metrics = process_metrics()
    executor = ThreadPoolExecutor(max_workers=settings.review_threads, thread_name_prefix="review")
    state = {"ready": False}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The first review imports the parsers and rules (~0.1 s): pay that before reporting ready.
        await asyncio.get_running_loop().run_in_executor(executor, reviewer.review, WARM_UP)
        state["ready"] = True
        log.info(
            "webhook ready",
            extra={
                "fields": {"mode": settings.mode, "fail_on": reviewer.settings.fail_on.value, "lookup": settings.lookup}
            },
        )
        yield
        state["ready"] = False
        executor.shutdown(wait=False, cancel_futures=True)
        log.info("webhook stopped")

    def answer(path: str, status: int, payload: dict[str, Any]) -> Response:
        metrics.requests.labels(path, str(status)).inc()
        return JSONResponse(payload, status_code=status)

    async def validate(request: Request) -> Response:
        started = time.perf_counter()
        body = await _read_body(request, settings.max_body_bytes)
        if body is None:
            log.warning("request body too large", extra={"fields": {"limit": settings.max_body_bytes}})
            return answer("/validate", 413, {"error": f"request body is over {settings.max_body_bytes} bytes"})
        try:
            admission = parse_review(body)
        except BadReview as exc:
            log.warning("bad request", extra={"fields": {"error": str(exc)}})
            return answer("/validate", 400, {"error": str(exc)})
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(executor, reviewer.review, admission)
        verdict: Verdict | None = None
        try:
            verdict = await asyncio.wait_for(future, settings.review_timeout)
            payload = response(admission.uid, verdict)
            decision = verdict.decision
        except asyncio.TimeoutError:
            decision = "timeout"
            payload = _unfinished(admission, settings, f"confaudit did not finish within {settings.review_timeout:g} s")
        except Exception:  # our bug must not fail the API server's request: logged, answered
            log.exception("review failed", extra={"fields": {"uid": admission.uid}})
            decision = "error"
            payload = _unfinished(admission, settings, "confaudit could not evaluate this object (internal error)")
        elapsed = time.perf_counter() - started
        _record(metrics, settings, admission, verdict, decision, payload, elapsed)
        return answer("/validate", 200, payload)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        if state["ready"]:
            return PlainTextResponse("ready")
        return PlainTextResponse("not ready", status_code=503)

    async def metrics_page(request: Request) -> Response:
        data, content_type = metrics.render()
        return PlainTextResponse(data, media_type=content_type)

    routes = [
        Route("/validate", validate, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_page, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed ``limit`` (Content-Length or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            return None
    return bytes(chunks)


def _unfinished(admission: AdmissionRequest, settings: ServerSettings, reason: str) -> dict[str, Any]:
    if settings.fail_closed and settings.mode == "deny":
        return response(admission.uid, None, allowed=False, message=f"{reason}; refused (--fail-closed)")
    return response(admission.uid, None, allowed=True, warnings=[f"{reason}: allowed unchecked"])


def _record(
    metrics: Metrics,
    settings: ServerSettings,
    admission: AdmissionRequest,
    verdict: Verdict | None,
    decision: str,
    payload: dict[str, Any],
    elapsed: float,
) -> None:
    dry_run = "true" if admission.dry_run else "false"
    metrics.latency.observe(elapsed)
    metrics.decisions.labels(decision, settings.mode, dry_run).inc()
    fields: dict[str, Any] = {
        "event": "review",
        "uid": admission.uid,
        "operation": admission.operation,
        "kind": admission.kind,
        "namespace": admission.namespace,
        "name": admission.name,
        "user": admission.user,
        "dry_run": admission.dry_run,
        "mode": settings.mode,
        "decision": decision,
        "allowed": payload["response"]["allowed"],
        "duration_ms": round(elapsed * 1000, 2),
    }
    if verdict is not None:
        for state, findings in (
            ("active", verdict.findings),
            ("suppressed", verdict.suppressed),
            ("preexisting", verdict.preexisting),
        ):
            for finding in findings:
                metrics.findings.labels(finding.rule_id, finding.severity.value, state).inc()
        fields["resource"] = verdict.resource or None
        if verdict.reason:
            fields["reason"] = verdict.reason
        fields["findings"] = [
            {"rule_id": f.rule_id, "severity": f.severity.value, "message": f.message} for f in verdict.findings
        ]
        if verdict.suppressed:
            fields["suppressed"] = [
                {
                    "rule_id": f.rule_id,
                    "message": f.message,
                    "reason": f.suppression.reason if f.suppression else None,
                    "by": f.suppression.kind if f.suppression else None,
                }
                for f in verdict.suppressed
            ]
        if verdict.preexisting:
            fields["preexisting"] = [{"rule_id": f.rule_id, "message": f.message} for f in verdict.preexisting]
        if verdict.notes:
            fields["notes"] = list(verdict.notes)
        if verdict.internal_errors:
            fields["internal_errors"] = list(verdict.internal_errors)
    level = logging.WARNING if decision in ("timeout", "error") else logging.INFO
    log.log(level, "admission review", extra={"fields": fields})
