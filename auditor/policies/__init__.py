"""The rule catalogue. Families are imported by name: adding one is one line here."""

from __future__ import annotations

from auditor.policies import (
    alpn,
    availability,
    certs,
    cors,
    directives,
    envoy,
    forwarding,
    headers,
    probe,
    shutdown,
    sources,
    tls,
)
from auditor.policies.registry import REGISTRY, Registry, Rule, RuleContext

__all__ = [
    "REGISTRY",
    "Registry",
    "Rule",
    "RuleContext",
    "alpn",
    "availability",
    "certs",
    "cors",
    "directives",
    "envoy",
    "forwarding",
    "headers",
    "probe",
    "shutdown",
    "sources",
    "tls",
]
