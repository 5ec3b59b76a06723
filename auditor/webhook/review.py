"""An admission request's object -> a verdict, with the same parsers and rules as a scan.

``Reviewer.review`` turns the object into an in-memory
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
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.api import AuditOptions, audit_documents
from auditor.engine import problem_finding
from auditor.model import Finding, Location, Problem, Severity, Suppression
from auditor.parsers.yamlfiles import Document
from auditor.webhook.admission import AdmissionRequest, Verdict, denial_message, warning_lines
from auditor.webhook.exclusions import ANNOTATION, Selector, parse_annotation
from auditor.webhook.lookup import SecretLookup

MODES = ("deny", "warn", "audit")


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
                message=denial_message(resource, blocking, settings.fail_on),
                warnings=warning_lines(warned, notes),
            )
        return dataclasses.replace(verdict, warnings=warning_lines(warned, notes))


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
        for entry in _items(spec.get("tls")):
            add(None, _mapping(entry).get("secretName"))
    elif obj.get("kind") == "Gateway":
        for listener in _items(spec.get("listeners")):
            for ref in _items(_mapping(_mapping(listener).get("tls")).get("certificateRefs")):
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
    for owner in _items(metadata.get("ownerReferences")):  # `ownerReferences: 1` is no owner
        if isinstance(owner, dict) and owner.get("controller") is True:
            return f"{owner.get('kind')} {owner.get('name')}"
    return None


def _fingerprint(finding: Finding) -> tuple[str, str, str]:
    return (finding.rule_id, finding.resource, finding.message)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
