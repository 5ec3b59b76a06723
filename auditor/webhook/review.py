"""AdmissionReview in, verdict out: the object goes through the same parsers and rules as a scan.

``parse_review`` checks the request body (``admission.k8s.io/v1`` only) and raises ``BadReview``
with a message fit for a 400 answer. ``Reviewer.review`` turns the object into an in-memory
document, runs ``api.audit_documents`` on it (plus, with ``--lookup``, the TLS Secrets an Ingress
names), keeps the findings about the object itself and decides:

- ``deny``: refuse when an active finding is at or above ``--fail-on``; the status message lists
  them with their fixes. Findings below the threshold come back as warnings.
- ``warn``: allow, with one short warning per finding at or above ``--warn-on``.
- ``audit``: allow silently; findings go to the log and the metrics only.

Findings of webhook objects are located at ``admission:<Kind>/<namespace>/<name>`` with no line:
the object was sent as JSON by the API server, not read from a file the user has.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.api import AuditOptions, audit_documents
from auditor.engine import problem_finding
from auditor.model import Finding, Location, Problem, Severity, Suppression
from auditor.parsers.yamlfiles import Document
from auditor.webhook.exclusions import ANNOTATION, Selector, parse_annotation
from auditor.webhook.lookup import SecretLookup

API_VERSION = "admission.k8s.io/v1"
MODES = ("deny", "warn", "audit")
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
class ReviewSettings:
    mode: str = "deny"
    fail_on: Severity = Severity.HIGH
    warn_on: Severity = Severity.LOW
    only_new: bool = False
    exclude_namespaces: frozenset[str] = frozenset({"kube-system"})
    exclude_selector: Selector | None = None
    options: AuditOptions = field(default_factory=AuditOptions)
    # The configuration file's severities and exceptions, applied to the object's findings.
    adjust: Callable[[list[Finding]], list[Finding]] | None = None


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


def object_label(kind: str, namespace: str | None, name: str) -> str:
    return f"admission:{kind}/{namespace}/{name}" if namespace else f"admission:{kind}/{name}"


class Reviewer:
    def __init__(self, settings: ReviewSettings, lookup: SecretLookup | None = None) -> None:
        if settings.mode not in MODES:
            raise ValueError(f"unknown mode {settings.mode!r} (expected one of: {', '.join(MODES)})")
        self.settings = settings
        self.lookup = lookup
        self._root = Path.cwd()  # only reported; asked once, not per review

    def review(self, request: AdmissionRequest) -> Verdict:
        obj = request.obj
        if request.operation not in ("CREATE", "UPDATE") or obj is None:
            return Verdict(True, "skipped", reason=f"{request.operation} is not checked")
        metadata = _mapping(obj.get("metadata"))
        namespace = request.namespace or _text(metadata.get("namespace"))
        name = _text(metadata.get("name")) or request.name or _text(metadata.get("generateName"))
        kind = _text(obj.get("kind")) or request.kind
        label = object_label(kind, namespace, name)
        resource = f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
        if namespace and namespace in self.settings.exclude_namespaces:
            return Verdict(True, "excluded", resource, reason=f"namespace {namespace} is excluded")
        labels = {str(k): _text(v) for k, v in _mapping(metadata.get("labels")).items()}
        selector = self.settings.exclude_selector
        if selector is not None and selector.matches(labels):
            return Verdict(True, "excluded", resource, reason=f"labels match --exclude-selector {selector.text}")
        owner = _controller(metadata)
        if owner is not None:
            # Pods of a ReplicaSet, ReplicaSets of a Deployment...: their owner was checked when it
            # was applied, and refusing a controller's write only shows up as a stuck rollout.
            return Verdict(True, "skipped", resource, reason=f"managed by {owner}: checked at its owner")
        obj = _with_namespace(obj, namespace)
        findings, notes, errors = self._evaluate(obj, label)
        preexisting: list[Finding] = []
        if self.settings.only_new and request.operation == "UPDATE" and request.old_obj is not None:
            old, _, _ = self._evaluate(_with_namespace(request.old_obj, namespace), label)
            before = {_fingerprint(f) for f in old}
            preexisting = [f for f in findings if _fingerprint(f) in before]
            findings = [f for f in findings if _fingerprint(f) not in before]
        findings = self._suppress(findings, metadata, label, resource)
        active = tuple(f for f in findings if f.suppression is None)
        suppressed = tuple(f for f in findings if f.suppression is not None)
        return self._decide(resource, active, suppressed, tuple(preexisting), tuple(notes), tuple(errors))

    # -- evaluation ---------------------------------------------------------------------------

    def _evaluate(self, obj: dict[str, Any], label: str) -> tuple[list[Finding], list[str], list[str]]:
        documents = [object_document(obj, label)]
        notes: list[str] = []
        available: set[str] = set()
        if self.lookup is not None:
            for namespace, name in tls_secret_references(obj):
                found = self.lookup.get(namespace, name)
                if found.secret is None:
                    notes.append(f"TLS checks for Secret {namespace}/{name} skipped: {found.reason}")
                    continue
                documents.append(object_document(found.secret, object_label("Secret", namespace, name), "cluster"))
                available.add(f"{namespace}/{name}")
        result = audit_documents(documents, self.settings.options, self._root)
        own = []
        for finding in result.findings:
            # Findings about the Secrets read for context belong to their own reviews.
            if finding.loc.file != label or _absent_secret(finding, available):
                continue
            own.append(dataclasses.replace(finding, loc=Location(label, None)))
        return own, notes, [f"{e.rule_id}: {e.message}" for e in result.internal_errors]

    def _suppress(
        self, findings: Iterable[Finding], metadata: dict[str, Any], label: str, resource: str
    ) -> list[Finding]:
        value = _mapping(metadata.get("annotations")).get(ANNOTATION)
        by_annotation: Suppression | None = None
        result = []
        if isinstance(value, str):
            parsed = parse_annotation(value, Location(label, None), resource)
            if isinstance(parsed, Problem):
                result.append(problem_finding(parsed, self.settings.options.severities.get(parsed.rule_id)))
            else:
                by_annotation = parsed
        for finding in findings:
            if by_annotation is not None and finding.rule_id in by_annotation.rule_ids:
                finding = dataclasses.replace(finding, suppression=by_annotation)
            result.append(finding)
        return self.settings.adjust(result) if self.settings.adjust is not None else result

    # -- decision -----------------------------------------------------------------------------

    def _decide(
        self,
        resource: str,
        active: tuple[Finding, ...],
        suppressed: tuple[Finding, ...],
        preexisting: tuple[Finding, ...],
        notes: tuple[str, ...],
        errors: tuple[str, ...],
    ) -> Verdict:
        settings = self.settings
        ordered = tuple(sorted(active, key=lambda f: (-f.severity.rank, f.rule_id, f.message)))
        blocking = tuple(f for f in ordered if f.severity.rank >= settings.fail_on.rank)
        verdict = Verdict(
            True,
            "allowed",
            resource=resource,
            findings=ordered,
            suppressed=suppressed,
            preexisting=preexisting,
            notes=notes,
            internal_errors=errors,
        )
        if settings.mode == "audit":
            return verdict
        warned = [f for f in ordered if f.severity.rank >= settings.warn_on.rank]
        if settings.mode == "deny" and blocking:
            warned = [f for f in warned if f not in blocking]
            return dataclasses.replace(
                verdict,
                allowed=False,
                decision="denied",
                blocking=blocking,
                message=denial_message(resource, blocking, settings),
                warnings=warning_lines(warned, notes),
            )
        return dataclasses.replace(verdict, warnings=warning_lines(warned, notes))


def denial_message(resource: str, blocking: tuple[Finding, ...], settings: ReviewSettings) -> str:
    count = len(blocking)
    lines = [
        f"confaudit refused {resource}: {count} finding{'s' if count != 1 else ''} at or above {settings.fail_on.value}"
    ]
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


# -- objects ------------------------------------------------------------------------------------


def object_document(obj: dict[str, Any], label: str, origin: str = "admission") -> Document:
    """An in-memory object as a document for the parsers. It has no lines (every value is at line 1):
    findings are relocated to the object's label without a line."""
    if origin != "admission":
        label = label.replace("admission:", f"{origin}:", 1)
    return Document(label, 0, None, obj)


def tls_secret_references(obj: dict[str, Any]) -> list[tuple[str, str]]:
    """(namespace, name) of the TLS Secrets an Ingress or a Gateway names."""
    namespace = _text(_mapping(obj.get("metadata")).get("namespace")) or "default"
    spec = _mapping(obj.get("spec"))
    found: list[tuple[str, str]] = []

    def add(ref_namespace: Any, name: Any) -> None:
        key = (_text(ref_namespace) or namespace, _text(name))
        if key[1] and key not in found:
            found.append(key)

    if obj.get("kind") == "Ingress":
        for entry in spec.get("tls") or ():
            add(None, _mapping(entry).get("secretName"))
    elif obj.get("kind") == "Gateway":
        for listener in spec.get("listeners") or ():
            for ref in _mapping(_mapping(listener).get("tls")).get("certificateRefs") or ():
                ref = _mapping(ref)
                if (ref.get("kind") or "Secret") == "Secret" and (ref.get("group") or "") in ("", "core"):
                    add(ref.get("namespace"), ref.get("name"))
    return found


_SECRET_NAMED = re.compile(r"Secret '([^']+/[^']+)' does not exist")


def _absent_secret(finding: Finding, available: set[str]) -> bool:
    """A finding that only says a Secret is not among the review's objects. One object is not the
    cluster (and an Ingress is often applied before its Secret, in the same apply): without the
    Secret, the checks that need it are skipped instead."""
    if finding.rule_id != "cert-missing":
        return False
    match = _SECRET_NAMED.search(finding.message)
    return match is not None and match.group(1) not in available


def _with_namespace(obj: dict[str, Any], namespace: str | None) -> dict[str, Any]:
    """The API server may send a namespaced object without metadata.namespace (it is in the URL)."""
    metadata = obj.get("metadata")
    if not namespace or not isinstance(metadata, dict) or metadata.get("namespace"):
        return obj
    return {**obj, "metadata": {**metadata, "namespace": namespace}}


def _controller(metadata: dict[str, Any]) -> str | None:
    for owner in metadata.get("ownerReferences") or ():
        if isinstance(owner, dict) and owner.get("controller") is True:
            return f"{owner.get('kind')} {owner.get('name')}"
    return None


def _fingerprint(finding: Finding) -> tuple[str, str, str]:
    return (finding.rule_id, finding.resource, finding.message)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
