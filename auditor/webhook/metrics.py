"""Prometheus metrics for ``/metrics``.

With several worker processes (``--workers``), prometheus_client's multiprocess mode is used: the
parent sets ``PROMETHEUS_MULTIPROC_DIR`` before the workers start, every worker writes its values
there, and whichever worker answers a scrape sums them all.
"""

from __future__ import annotations

import os
from typing import Any

REVIEW_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter(
            "confaudit_webhook_requests", "HTTP requests by path and status code", ["path", "code"], registry=registry
        )
        self.latency = Histogram(
            "confaudit_webhook_review_seconds",
            "Time to answer an AdmissionReview",
            buckets=REVIEW_BUCKETS,
            registry=registry,
        )
        self.decisions = Counter(
            "confaudit_webhook_decisions",
            "Admission decisions: allowed, denied, excluded, skipped, timeout, error",
            ["decision", "mode", "dry_run"],
            registry=registry,
        )
        self.findings = Counter(
            "confaudit_webhook_findings",
            "Findings by rule; state is active, suppressed or preexisting (--only-new)",
            ["rule", "severity", "state"],
            registry=registry,
        )
        self.lookups = Counter(
            "confaudit_webhook_secret_lookups",
            "Secret reads for --lookup: found, not-found, denied, error, cached, backoff",
            ["result"],
            registry=registry,
        )
        self.tls_reloads = Counter(
            "confaudit_webhook_tls_reloads",
            "Certificate reloads after the files changed",
            ["result"],
            registry=registry,
        )

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        registry: Any = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
