"""The wire format: AdmissionReview requests in, AdmissionReview responses out.

``parse_review`` checks a request body (``admission.k8s.io/v1`` only) and raises ``BadReview``
with a message fit for a 400 answer. ``response`` turns a ``Verdict`` into the answer: a refusal
lists the findings with their fixes; warnings are short, one per finding, within the limits the
Kubernetes API documents for ``AdmissionResponse.warnings``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from auditor.model import Finding, Severity
from auditor.webhook.exclusions import ANNOTATION

API_VERSION = "admission.k8s.io/v1"
# Kubernetes: "Limit warnings to 120 characters if possible. Warnings over 256 characters and large
# numbers of warnings may be truncated" (AdmissionResponse.warnings); past 4096 characters in all,
# further warnings are dropped (dynamic admission control docs).
WARNING_CHARS = 120
WARNINGS_TOTAL_CHARS = 4000
DENIAL_LISTED = 10


class BadReview(ValueError):
    """The body is not an AdmissionReview this webhook can answer (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class AdmissionRequest:
    uid: str
    api_version: str
    operation: str  # CREATE, UPDATE, DELETE, CONNECT
    kind: str
    namespace: str | None
    name: str
    dry_run: bool
    obj: dict[str, Any] | None
    old_obj: dict[str, Any] | None
    user: str | None


def parse_review(body: bytes) -> AdmissionRequest:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, nesting too deep
        raise BadReview(f"request body is not JSON: {_reason(exc)}") from None
    if not isinstance(data, dict):
        raise BadReview("request body is not a JSON object")
    if data.get("kind") != "AdmissionReview":
        raise BadReview(f"expected kind AdmissionReview, got {_shown(data.get('kind'))}")
    if data.get("apiVersion") != API_VERSION:
        raise BadReview(
            f"expected apiVersion {API_VERSION} (set admissionReviewVersions: [v1]), got "
            f"{_shown(data.get('apiVersion'))}"
        )
    request = data.get("request")
    if not isinstance(request, dict):
        raise BadReview("AdmissionReview has no request object")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise BadReview("AdmissionReview request has no uid")
    operation = request.get("operation")
    if operation not in ("CREATE", "UPDATE", "DELETE", "CONNECT"):
        raise BadReview(f"AdmissionReview request has an unknown operation {_shown(operation)}")
    obj, old = request.get("object"), request.get("oldObject")
    if (obj is not None and not isinstance(obj, dict)) or (old is not None and not isinstance(old, dict)):
        raise BadReview("AdmissionReview request object and oldObject must be JSON objects or null")
    kind = request.get("kind")
    kind_name = kind.get("kind") if isinstance(kind, dict) else None
    if not isinstance(kind_name, str):
        kind_name = str((obj or old or {}).get("kind") or "")
    namespace = request.get("namespace")
    user = request.get("userInfo")
    return AdmissionRequest(
        uid=uid,
        api_version=API_VERSION,
        operation=operation,
        kind=kind_name,
        namespace=namespace if isinstance(namespace, str) and namespace else None,
        name=str(request.get("name") or ""),
        dry_run=request.get("dryRun") is True,
        obj=obj,
        old_obj=old,
        user=user.get("username") if isinstance(user, dict) and isinstance(user.get("username"), str) else None,
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).splitlines()[0][:200]


def _shown(value: Any) -> str:
    return repr(value)[:80] if value is not None else "nothing"


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    decision: str  # "allowed", "denied", "excluded", "skipped" (the server adds "timeout", "error")
    resource: str = ""
    reason: str = ""  # why an object was excluded or skipped
    findings: tuple[Finding, ...] = ()  # active findings about the object
    suppressed: tuple[Finding, ...] = ()
    preexisting: tuple[Finding, ...] = ()  # dropped by --only-new
    blocking: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()  # what could not be checked (lookups)
    message: str | None = None  # the status message of a denial
    warnings: tuple[str, ...] = ()
    internal_errors: tuple[str, ...] = ()


def denial_message(resource: str, blocking: tuple[Finding, ...], fail_on: Severity) -> str:
    count = len(blocking)
    lines = [f"confaudit refused {resource}: {count} finding{'s' if count != 1 else ''} at or above {fail_on.value}"]
    for finding in blocking[:DENIAL_LISTED]:
        lines.append(f"- {finding.rule_id} ({finding.severity.value}): {finding.message}. Fix: {finding.fix}")
    if count > DENIAL_LISTED:
        lines.append(f"- and {count - DENIAL_LISTED} more")
    lines.append(f"To accept a finding, annotate the object: {ANNOTATION}: <rule-id> -- <reason>")
    return "\n".join(lines)


def warning_lines(findings: Iterable[Finding], notes: Iterable[str]) -> tuple[str, ...]:
    """One short warning per finding (and per note), within Kubernetes' limits."""
    lines = [_clip(f"{f.rule_id} ({f.severity.value}): {f.message}") for f in findings]
    lines += [_clip(note) for note in notes]
    kept: list[str] = []
    total = 0
    for index, line in enumerate(lines):
        rest = len(lines) - index
        if total + len(line) > WARNINGS_TOTAL_CHARS - 60:
            kept.append(f"and {rest} more confaudit warnings (see the webhook log)")
            break
        kept.append(line)
        total += len(line)
    return tuple(kept)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= WARNING_CHARS else text[: WARNING_CHARS - 3].rstrip() + "..."


def response(
    uid: str, verdict: Verdict | None, *, allowed: bool = True, message: str | None = None, warnings: Iterable[str] = ()
) -> dict[str, Any]:
    """The AdmissionReview answer. Without a verdict (timeouts, errors), ``allowed``/``message``/``warnings``."""
    if verdict is not None:
        allowed, message, warnings = verdict.allowed, verdict.message, verdict.warnings
    body: dict[str, Any] = {"uid": uid, "allowed": allowed}
    if not allowed:
        body["status"] = {"code": 403, "reason": "Forbidden", "message": message or "refused by confaudit"}
    warnings = list(warnings)
    if warnings:
        body["warnings"] = warnings
    if verdict is not None and verdict.findings:
        # Recorded in the Kubernetes audit log, prefixed by the webhook's name.
        rules = sorted({f.rule_id for f in verdict.findings})
        body["auditAnnotations"] = {"findings": ",".join(rules)[:1000]}
    return {"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": body}
