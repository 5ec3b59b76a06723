"""The parser-stage guard (auditor.parsers.guard): a bug of ours while reading one file or object
is a ``parse-error`` at that file and line, listed among the internal errors, and the scan goes on.

Every crash known so far is fixed, so these tests inject one: a parser function is replaced by
one that raises for a chosen input (monkeypatch), and the samples are scanned from the command
line as a user would. With ``strict`` (the tests' default elsewhere) the exception is re-raised.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor import cli
from auditor.api import AuditOptions, audit
from tests.conftest import NOW, REPO

SAMPLES = REPO / "samples"


class Injected(RuntimeError):
    """The bug we plant."""


def scan(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(["scan", str(path), "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def keys(report: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {(f["rule_id"], f["file"], f["line"]) for f in report["findings"]}


def internal(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if "internal error in confaudit" in f["message"]]


def failing_for(original: Callable[..., Any], when: Callable[..., bool]) -> Callable[..., Any]:
    def replacement(*args: Any, **kwargs: Any) -> Any:
        if when(*args, **kwargs):
            raise Injected("planted bug")
        return original(*args, **kwargs)

    return replacement


def test_kubernetes_bug_costs_only_its_document(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from auditor.parsers.kubernetes import workloads

    # Given a clean scan of the Kubernetes samples
    _, clean = scan(SAMPLES / "k8s", capsys)
    # When the workload builder crashes whenever the search Deployment is among its objects
    monkeypatch.setattr(
        workloads,
        "build",
        failing_for(workloads.build, lambda index, model: index.get("Deployment", "shop", "search") is not None),
    )
    code, report = scan(SAMPLES / "k8s", capsys)
    # Then the scan still ends with a report, the search document is an internal parse-error at
    # its first line, and every finding of the other objects is still there
    assert code in (0, 1)
    (planted,) = internal(report)
    assert (planted["rule_id"], planted["file"], planted["line"]) == ("parse-error", "apps/shop/search.yaml", 1)
    assert "Kubernetes parser" in planted["message"] and "Injected: planted bug" in planted["message"]
    assert report["internal_errors"] == [
        {"rule_id": "parse-error", "message": f"apps/shop/search.yaml:1: {planted['message']}"}
    ]
    lost = keys(clean) - keys(report)
    assert lost and all(file == "apps/shop/search.yaml" for _, file, _ in lost)
    assert keys(report) - keys(clean) == {("parse-error", "apps/shop/search.yaml", 1)}


def test_strict_mode_reraises(monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.parsers.kubernetes import workloads

    monkeypatch.setattr(workloads, "build", failing_for(workloads.build, lambda *_: True))
    with pytest.raises(Injected):
        audit([SAMPLES / "k8s"], AuditOptions(now=NOW, strict=True))


def test_nginx_bug_costs_only_its_entry_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from auditor.parsers.nginx import http

    _, clean = scan(SAMPLES, capsys, "--exclude", "gitops/**")
    monkeypatch.setattr(
        http.Builder,
        "build",
        failing_for(http.Builder.build, lambda builder, top: builder.instance == "nginx-edge/nginx.conf"),
    )
    code, report = scan(SAMPLES, capsys, "--exclude", "gitops/**")
    assert code in (0, 1)
    (planted,) = internal(report)
    assert (planted["file"], planted["line"]) == ("nginx-edge/nginx.conf", 1)
    assert "nginx parser" in planted["message"]
    # The other nginx tree (samples/nginx) and every other format are still checked
    kept = {k for k in keys(clean) if not k[1].startswith("nginx-edge/")}
    assert kept <= keys(report)
    assert any(file.startswith("nginx/sites-enabled/") for _, file, _ in keys(report))


def test_terraform_bug_costs_only_its_file(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from auditor.parsers import terraform

    crashes = REPO / "tests" / "robustness" / "crashes" / "terraform-redefined"
    monkeypatch.setattr(
        terraform, "_resources", failing_for(terraform._resources, lambda source, model: source.rel == "legacy.tf")
    )
    code, report = scan(crashes, capsys)
    assert code in (0, 1)
    (planted,) = internal(report)
    assert (planted["file"], planted["line"]) == ("legacy.tf", 1) and "Terraform parser" in planted["message"]
    assert ("parse-error", "listeners.tf", 10) in keys(report)


def test_certificate_bug_costs_only_its_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from auditor.parsers import base

    monkeypatch.setattr(
        base, "parse_bytes", failing_for(base.parse_bytes, lambda data, rel: rel.endswith("weakkey.crt"))
    )
    code, report = scan(SAMPLES / "nginx-edge", capsys)
    assert code in (0, 1)
    (planted,) = internal(report)
    assert (planted["file"], planted["line"]) == ("certs/weakkey.crt", 1)
    assert "certificate parser" in planted["message"]
    assert ("alpn-h2-missing", "conf.d/grpc-alpn.conf", 3) in keys(report)


def test_yaml_loader_bug_costs_only_its_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from auditor.parsers import yamlfiles

    monkeypatch.setattr(
        yamlfiles, "load_text", failing_for(yamlfiles.load_text, lambda raw, rel, *_: rel == "apps/shop/search.yaml")
    )
    code, report = scan(SAMPLES / "k8s", capsys)
    assert code in (0, 1)
    (planted,) = internal(report)
    assert (planted["file"], planted["line"]) == ("apps/shop/search.yaml", 1) and "YAML loader" in planted["message"]
    assert ("cors-wildcard-credentials", "apps/shop/ingress.yaml", 44) in keys(report)


def test_argocd_bug_costs_only_its_application(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from auditor.parsers.gitops import argocd

    monkeypatch.setattr(argocd, "resolve", failing_for(argocd.resolve, lambda app, ctx: app.name == "status-page"))
    code, report = scan(SAMPLES / "gitops", capsys, "--helm-bin", "/nonexistent/helm")
    assert code in (0, 1)
    (planted,) = internal(report)
    assert planted["file"] == "apps/tools.yaml" and planted["line"] > 1
    assert planted["resource"] == "argocd app status-page" and "Argo CD parser" in planted["message"]
    # The other Application of the same ApplicationSet and the rest of the tree are still checked
    assert ("argocd-source-missing", "apps/tools.yaml", 21) in keys(report)
    assert ("tls-legacy-protocol", "terraform/lb.tf", 7) in keys(report)


def test_helm_output_bug_costs_only_its_chart(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from auditor.parsers.gitops import helm

    monkeypatch.setattr(
        helm, "render", failing_for(helm.render, lambda release, *_: release.label == "argocd app web-staging")
    )
    code, report = scan(SAMPLES / "gitops", capsys)
    assert code in (0, 1)
    planted = internal(report)
    assert planted and all("Helm output reader" in f["message"] for f in planted)
    assert {f["resource"] for f in planted} == {"argocd app web-staging"}
    assert ("tls-legacy-protocol", "terraform/lb.tf", 7) in keys(report)


def test_webhook_reports_a_parser_bug_as_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.parsers.kubernetes import workloads
    from auditor.webhook.admission import parse_review
    from auditor.webhook.review import Reviewer, ReviewSettings
    from tests.webhook.support import body, manifest

    monkeypatch.setattr(workloads, "build", failing_for(workloads.build, lambda *_: True))
    reviewer = Reviewer(ReviewSettings(options=AuditOptions(now=NOW)))
    verdict = reviewer.review(parse_review(body(manifest("deployment-shell.yaml"))))
    # The object is answered (the configured failure mode is the server's business), and the
    # internal error is in the verdict (logged, counted) instead of an exception
    assert verdict.decision in ("allowed", "denied")
    assert len(verdict.internal_errors) == 1 and "Kubernetes parser" in verdict.internal_errors[0]
