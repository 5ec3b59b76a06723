"""AdmissionReview -> verdict, in process: modes, thresholds, exclusions, annotations, --only-new,
lookups (with a fetch function standing in for the API), limits of warnings, bad bodies."""

from __future__ import annotations

import json

import pytest

from auditor.api import AuditOptions, audit, audit_documents
from auditor.model import Severity
from auditor.webhook.admission import WARNING_CHARS, BadReview, parse_review, response, warning_lines
from auditor.webhook.exclusions import parse_selector
from auditor.webhook.lookup import Lookup, SecretLookup
from auditor.webhook.review import Reviewer, ReviewSettings, object_document
from tests.conftest import NOW
from tests.webhook.support import OBJECTS, body, manifest, review, tls_secret

OPTIONS = AuditOptions(now=NOW, strict=True)


def reviewer(
    mode: str = "deny", fail_on: str = "medium", lookup: SecretLookup | None = None, **kwargs: object
) -> Reviewer:
    return Reviewer(ReviewSettings(mode=mode, fail_on=Severity.parse(fail_on), options=OPTIONS, **kwargs), lookup)  # type: ignore[arg-type]


def verdict_for(obj: dict[str, object] | None, rev: Reviewer | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    return (rev or reviewer()).review(parse_review(body(obj, **kwargs)))  # type: ignore[arg-type]


def test_same_findings_as_the_scan() -> None:
    # Given the Deployment, scanned from its file with its Service and reviewed alone as an
    # admission object (whose Services are in the cluster: a declared port stands for them)
    scanned = audit([OBJECTS / "deployment-shell.yaml", OBJECTS / "service-api.yaml"], OPTIONS)
    verdict = verdict_for(manifest("deployment-shell.yaml"))
    # Then the rule ids, severities and messages are the same; only the location differs
    assert sorted((f.rule_id, f.severity, f.message) for f in scanned.active) == sorted(
        (f.rule_id, f.severity, f.message) for f in verdict.findings
    )
    assert {f.rule_id for f in verdict.findings} == {"shutdown-shell-pid1", "shutdown-no-prestop"}
    assert {str(f.loc) for f in verdict.findings} == {"admission:Deployment/shop/api"}
    assert all(f.loc.line is None for f in verdict.findings)


def test_deny_at_fail_on_lists_findings_and_fixes() -> None:
    request = review(manifest("deployment-shell.yaml"), uid="c0ffee")
    verdict = reviewer().review(parse_review(json.dumps(request).encode()))
    answer = response("c0ffee", verdict)["response"]
    assert answer["uid"] == "c0ffee"
    assert answer["allowed"] is False
    assert answer["status"]["code"] == 403
    message = answer["status"]["message"]
    assert message.startswith("confaudit refused Deployment shop/api: 2 findings at or above medium")
    assert "shutdown-shell-pid1 (high): container 'api' runs `sh -c` as PID 1" in message
    assert "shutdown-no-prestop (medium)" in message and "Fix: Add a preStop hook" in message
    assert "confaudit.io/ignore" in message
    assert "warnings" not in answer  # both findings are in the refusal already


def test_deny_below_threshold_allows_with_warnings() -> None:
    verdict = verdict_for(manifest("deployment-shell.yaml"), reviewer(fail_on="critical"))
    assert verdict.allowed and verdict.decision == "allowed"
    assert [w.split(":")[0] for w in verdict.warnings] == ["shutdown-shell-pid1 (high)", "shutdown-no-prestop (medium)"]


def test_warn_mode_allows_with_one_short_warning_per_finding() -> None:
    verdict = verdict_for(manifest("deployment-shell.yaml"), reviewer(mode="warn"))
    answer = response("u", verdict)["response"]
    assert answer["allowed"] is True and "status" not in answer
    assert len(answer["warnings"]) == 2
    assert all(len(w) <= WARNING_CHARS for w in answer["warnings"])
    assert answer["warnings"][0].endswith("...")  # the long shell message, clipped
    assert answer["auditAnnotations"] == {"findings": "shutdown-no-prestop,shutdown-shell-pid1"}


def test_warn_on_threshold() -> None:
    settings = {"warn_on": Severity.HIGH}
    verdict = verdict_for(manifest("deployment-shell.yaml"), reviewer(mode="warn", **settings))
    assert [w.split(" ")[0] for w in verdict.warnings] == ["shutdown-shell-pid1"]


def test_audit_mode_only_counts() -> None:
    verdict = verdict_for(manifest("deployment-shell.yaml"), reviewer(mode="audit"))
    answer = response("u", verdict)["response"]
    assert answer["allowed"] is True and "warnings" not in answer
    assert len(verdict.findings) == 2  # logged and counted by the server


def test_clean_object_and_configmap_are_allowed_silently() -> None:
    for name in ("deployment-good.yaml", "configmap.yaml"):
        verdict = verdict_for(manifest(name))
        assert verdict.allowed and not verdict.findings and not verdict.warnings, name
        assert response("u", verdict)["response"] == {"uid": "u", "allowed": True}


def test_delete_is_allowed_without_evaluation() -> None:
    verdict = verdict_for(None, old=manifest("deployment-shell.yaml"), operation="DELETE")
    assert verdict.allowed and verdict.decision == "skipped"


def test_dry_run_gets_the_same_verdict() -> None:
    real = verdict_for(manifest("deployment-shell.yaml"))
    dry = verdict_for(manifest("deployment-shell.yaml"), dry_run=True)
    assert parse_review(body(manifest("deployment-shell.yaml"), dry_run=True)).dry_run is True
    assert (dry.allowed, dry.message, dry.findings) == (real.allowed, real.message, real.findings)


def test_namespace_missing_from_object_is_taken_from_the_request() -> None:
    obj = manifest("deployment-shell.yaml")
    del obj["metadata"]["namespace"]
    request = review(obj)
    request["request"]["namespace"] = "shop"
    verdict = reviewer().review(parse_review(json.dumps(request).encode()))
    assert verdict.resource == "Deployment shop/api"
    assert {str(f.loc) for f in verdict.findings} == {"admission:Deployment/shop/api"}


def test_excluded_namespaces() -> None:
    obj = manifest("deployment-shell.yaml")
    obj["metadata"]["namespace"] = "kube-system"
    assert verdict_for(obj).decision == "excluded"
    obj["metadata"]["namespace"] = "confaudit"
    rev = reviewer(exclude_namespaces=frozenset({"kube-system", "confaudit"}))
    verdict = verdict_for(obj, rev)
    assert verdict.allowed and verdict.decision == "excluded" and "confaudit" in verdict.reason


@pytest.mark.parametrize(
    ("selector", "excluded"),
    [
        ("app=api", True),
        ("app==api", True),
        ("app!=api", False),
        ("app", True),
        ("!app", False),
        ("app=api,tier=web", False),
        ("app=api,!tier", True),
    ],
)
def test_exclude_selector(selector: str, excluded: bool) -> None:
    rev = reviewer(exclude_selector=parse_selector(selector))
    assert (verdict_for(manifest("deployment-shell.yaml"), rev).decision == "excluded") is excluded


@pytest.mark.parametrize("text", ["", "app in (a,b)", "Bad Key=x", "app=not valid"])
def test_bad_selectors_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="selector"):
        parse_selector(text)


def test_objects_owned_by_a_controller_are_checked_at_their_owner() -> None:
    obj = manifest("deployment-shell.yaml")
    obj["metadata"]["ownerReferences"] = [
        {"apiVersion": "example.com/v1", "kind": "Shop", "name": "main", "uid": "1", "controller": True}
    ]
    verdict = verdict_for(obj)
    assert verdict.allowed and verdict.decision == "skipped" and "Shop main" in verdict.reason


def test_ignore_annotation_with_reason_suppresses() -> None:
    obj = manifest("deployment-shell.yaml")
    obj["metadata"]["annotations"] = {
        "confaudit.io/ignore": "shutdown-shell-pid1,shutdown-no-prestop -- batch consumer, drains on its own"
    }
    verdict = verdict_for(obj)
    assert verdict.allowed and not verdict.findings
    assert {(f.rule_id, f.suppression.kind, f.suppression.reason) for f in verdict.suppressed} == {
        ("shutdown-shell-pid1", "annotation", "batch consumer, drains on its own"),
        ("shutdown-no-prestop", "annotation", "batch consumer, drains on its own"),
    }


def test_ignore_annotation_without_reason_ignores_nothing_and_is_reported() -> None:
    obj = manifest("deployment-shell.yaml")
    obj["metadata"]["annotations"] = {"confaudit.io/ignore": "shutdown-shell-pid1"}
    verdict = verdict_for(obj, reviewer(fail_on="high"))
    assert not verdict.allowed
    assert {f.rule_id for f in verdict.findings} == {
        "shutdown-shell-pid1",
        "shutdown-no-prestop",
        "suppression-invalid",
    }
    invalid = next(f for f in verdict.findings if f.rule_id == "suppression-invalid")
    assert "has no reason after '--'" in invalid.message
    assert any(w.startswith("suppression-invalid (low): annotation confaudit.io/ignore") for w in verdict.warnings)


def test_only_new_skips_findings_the_old_object_had() -> None:
    old = manifest("deployment-shell.yaml")
    new = manifest("deployment-shell.yaml")
    new["spec"]["replicas"] = 5
    rev = reviewer(only_new=True)
    verdict = verdict_for(new, rev, operation="UPDATE", old=old)
    assert verdict.allowed and not verdict.findings
    assert {f.rule_id for f in verdict.preexisting} == {"shutdown-shell-pid1", "shutdown-no-prestop"}
    # A finding the change introduces is still refused
    without_shell = manifest("deployment-shell.yaml")
    without_shell["spec"]["template"]["spec"]["containers"][0]["command"] = ["python", "-m", "api"]
    verdict = verdict_for(new, rev, operation="UPDATE", old=without_shell)
    assert not verdict.allowed and [f.rule_id for f in verdict.blocking] == ["shutdown-shell-pid1"]
    # Without --only-new, the old object changes nothing
    assert not verdict_for(new, reviewer(), operation="UPDATE", old=old).allowed


class FakeApi:
    """Stands in for the Kubernetes API inside the process (the HTTP path is tested in test_server)."""

    def __init__(self, *secrets: dict[str, object]) -> None:
        self.secrets = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in secrets}  # type: ignore[index]
        self.calls = 0
        self.down = False

    def __call__(self, namespace: str, name: str) -> Lookup:
        self.calls += 1
        if self.down:
            return Lookup("error", None, "connection refused")
        secret = self.secrets.get((namespace, name))
        if secret is None:
            return Lookup("not-found", None, "it does not exist")
        return Lookup("found", json.loads(json.dumps(secret)), "")


def test_ingress_without_lookup_skips_the_secret_checks() -> None:
    verdict = verdict_for(manifest("ingress-shop.yaml"))
    assert verdict.allowed and not verdict.findings and not verdict.notes


def test_ingress_with_lookup_checks_the_secret_certificate() -> None:
    api = FakeApi(
        tls_secret("shop-tls", "shop", "api.fullchain.crt", "api.key"),
        tls_secret("api-tls", "shop", "api.fullchain.crt", "api.key"),
    )
    rev = reviewer(lookup=SecretLookup(api))
    verdict = verdict_for(manifest("ingress-shop.yaml"), rev)
    assert not verdict.allowed
    assert [f.rule_id for f in verdict.blocking] == ["cert-san-mismatch"]
    assert "does not cover server name 'shop.example.com'" in verdict.blocking[0].message
    assert all(str(f.loc) == "admission:Ingress/shop/shop" for f in verdict.findings)
    # The matching certificate passes, and the cache answers the second read of the same Secret
    assert verdict_for(manifest("ingress-api.yaml"), rev).allowed
    assert verdict_for(manifest("ingress-api.yaml"), rev).allowed
    assert api.calls == 2


def test_lookup_failures_skip_with_a_warning() -> None:
    api = FakeApi()
    rev = reviewer(lookup=SecretLookup(api, failure_backoff=60))
    verdict = verdict_for(manifest("ingress-shop.yaml"), rev)
    assert verdict.allowed and verdict.warnings == ("TLS checks for Secret shop/shop-tls skipped: it does not exist",)
    api.down = True
    verdict = verdict_for(manifest("ingress-api.yaml"), rev)
    assert verdict.allowed and "connection refused" in verdict.warnings[0]
    # After a failure the API is not asked again for a while
    calls = api.calls
    verdict = verdict_for(manifest("ingress-api.yaml"), rev)
    assert verdict.warnings == (
        "TLS checks for Secret shop/api-tls skipped: connection refused (API server not asked again for 60 s)",
    )
    assert verdict.allowed and api.calls == calls


def test_lookup_cache_expires() -> None:
    clock = [0.0]
    api = FakeApi(tls_secret("api-tls", "shop", "api.fullchain.crt", "api.key"))
    lookup = SecretLookup(api, ttl=30, clock=lambda: clock[0])
    assert lookup.get("shop", "api-tls").status == "found"
    assert lookup.get("shop", "api-tls").cached
    clock[0] = 31
    assert not lookup.get("shop", "api-tls").cached and api.calls == 2


def test_tls_secret_review() -> None:
    verdict = verdict_for(tls_secret("legacy-tls", "shop", "expired.crt", "expired.key"), reviewer(fail_on="high"))
    assert not verdict.allowed
    assert "cert-expired" in {f.rule_id for f in verdict.blocking}
    assert all(str(f.loc) == "admission:Secret/shop/legacy-tls" for f in verdict.findings)
    assert verdict_for(tls_secret("api-tls", "shop", "api.fullchain.crt", "api.key")).allowed


def test_gateway_certificate_refs_are_looked_up() -> None:
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "edge", "namespace": "shop"},
        "spec": {
            "gatewayClassName": "example",
            "listeners": [
                {
                    "name": "https",
                    "protocol": "HTTPS",
                    "port": 443,
                    "hostname": "shop.example.com",
                    "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "shop-tls"}]},
                }
            ],
        },
    }
    assert verdict_for(gateway).allowed
    api = FakeApi(tls_secret("shop-tls", "shop", "api.fullchain.crt", "api.key"))
    verdict = verdict_for(gateway, reviewer(lookup=SecretLookup(api)))
    assert [f.rule_id for f in verdict.blocking] == ["cert-san-mismatch"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "request body is not JSON"),
        (b"\xff\xfe", "request body is not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"[" * 100000, "request body is not JSON: nested too deeply"),
        (b'{"kind": "Pod", "apiVersion": "v1"}', "expected kind AdmissionReview, got 'Pod'"),
        (
            b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1beta1", "request": {}}',
            "expected apiVersion admission.k8s.io/v1",
        ),
        (b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1"}', "has no request"),
        (
            b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": {"operation": "CREATE"}}',
            "has no uid",
        ),
        (
            b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", '
            b'"request": {"uid": "1", "operation": "X"}}',
            "unknown operation 'X'",
        ),
        (
            b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", '
            b'"request": {"uid": "1", "operation": "CREATE", "object": [1]}}',
            "must be JSON objects or null",
        ),
    ],
)
def test_bad_reviews(data: bytes, message: str) -> None:
    with pytest.raises(BadReview, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_review(data)


def test_strange_objects_never_raise() -> None:
    # Whatever the shape of the object, the parsers turn it into findings or nothing
    for obj in (
        {"kind": "Deployment"},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": [], "spec": "x"},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": 5, "labels": []},
            "spec": {"template": {"spec": {"containers": [None, 3, {"name": []}]}}},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "x"},
            "spec": {"tls": [{"secretName": 7}, "x"], "rules": "x"},
        },
    ):
        verdict = verdict_for(obj, reviewer(lookup=SecretLookup(FakeApi())))
        assert verdict.decision in ("allowed", "denied")


def test_warning_limits() -> None:
    from auditor.model import Finding, Location

    findings = [
        Finding("cert-expired", Severity.HIGH, f"certificate {i} " + "x" * 300, Location("f", None), "r", "Fix it.")
        for i in range(80)
    ]
    lines = warning_lines(findings, ["a note"])
    assert all(len(line) <= WARNING_CHARS for line in lines)
    assert sum(len(line) for line in lines) <= 4096
    assert lines[-1].startswith("and ") and "more confaudit warnings" in lines[-1]


def test_reporters_render_webhook_findings() -> None:
    from auditor.report import renderer

    documents = [object_document(manifest("deployment-shell.yaml"), "admission:Deployment/shop/api")]
    result = audit_documents(documents, OPTIONS)
    assert {f.loc.file for f in result.findings} == {"admission:Deployment/shop/api"}
    for name in ("table", "json", "sarif"):
        text = renderer(name)(result)
        assert "admission:Deployment/shop/api" in text, name
