"""Helm charts rendered with the real helm: output mapped to template files and lines; failures
(render errors, missing dependencies, no helm, timeouts) become helm-render-failed findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.api import AuditOptions, audit
from auditor.parsers.gitops import helm
from tests.conftest import NOW, REPO

SAMPLE = REPO / "samples" / "gitops"
HERE = Path(__file__).resolve().parent
HELM = helm.find_helm(None)
needs_helm = pytest.mark.skipif(HELM is None, reason="helm is not installed (scripts/install-helm.sh .venv/bin)")


def _render(chart: Path, root: Path, **release: object) -> helm.Rendered:
    base = helm.standalone_release(chart, root)
    fields = {
        "chart": base.chart,
        "name": base.name,
        "namespace": base.namespace,
        "origin": base.origin,
        "label": base.label,
        **release,
    }
    return helm.render(helm.Release(**fields), helm.HelmSettings(HELM), root)  # type: ignore[arg-type]


@needs_helm
def test_rendered_documents_point_at_template_lines() -> None:
    rendered = _render(SAMPLE / "charts" / "web", SAMPLE)
    assert rendered.problems == []
    by_kind = {doc.data["kind"]: doc for doc in rendered.documents}
    deployment = by_kind["Deployment"]
    assert deployment.file == "charts/web/templates/deployment.yaml"
    assert deployment.source_note == helm.APPROXIMATE_NOTE
    container = ("spec", "template", "spec", "containers", 0)
    assert deployment.line("metadata", "name") == 4
    assert deployment.line("spec", "replicas") == 8
    assert deployment.line("spec", "template", "spec", "terminationGracePeriodSeconds") == 17
    assert deployment.line(*container, "name") == 19
    assert deployment.line(*container, "lifecycle") == 29  # the `lifecycle:` key, inside `if`
    # Lines an action expands into point at the action (`toYaml ... | nindent`).
    assert deployment.line(*container, "resources", "requests", "cpu") == 42
    ingress = by_kind["Ingress"]
    assert ingress.file == "charts/web/templates/ingress.yaml"
    assert ingress.line("spec", "rules", 0, "host") == 19
    assert rendered.files == {
        "charts/web/templates/deployment.yaml",
        "charts/web/templates/service.yaml",
        "charts/web/templates/ingress.yaml",
    }


@needs_helm
def test_values_sets_and_expanded_lines() -> None:
    # Given a release that sets a shell command list (rendered through toYaml | nindent)
    rendered = _render(
        SAMPLE / "charts" / "web",
        SAMPLE,
        value_files=(SAMPLE / "envs" / "prod" / "values.yaml",),
        sets=("replicaCount=7",),
    )
    deployment = next(d for d in rendered.documents if d.data["kind"] == "Deployment")
    container = ("spec", "template", "spec", "containers", 0)
    # Then the values are applied, --set last
    assert deployment.data["spec"]["replicas"] == 7
    assert deployment.data["spec"]["template"]["spec"]["containers"][0]["command"][0] == "sh"
    # And the command key maps to its own line, its items to the toYaml line
    assert deployment.line(*container, "command") == 22
    assert deployment.line(*container, "command", 0) == 23
    assert deployment.at(*container, "command").file == "charts/web/templates/deployment.yaml"
    assert "readinessProbe" not in deployment.data["spec"]["template"]["spec"]["containers"][0]


def test_line_map_for_repeated_sections() -> None:
    template = [
        "{{- range .Values.queues }}",
        "---",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: {{ . }}",
        "data:",
        "  queue: {{ . | quote }}",
        "{{- end }}",
    ]
    rendered = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: orders", "data:", '  queue: "orders"']
    assert helm.template_line_map(rendered, template, occurrence=2, kind="ConfigMap") == (3, 4, 5, 6, 7, 8)


def test_line_map_picks_the_section_of_the_kind() -> None:
    template = [
        "apiVersion: v1",
        "kind: Service",
        "metadata:",
        "  name: a",
        "---",
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        "  name: a",
        "spec:",
        "  replicas: {{ .Values.n }}",
    ]
    rendered = ["apiVersion: apps/v1", "kind: Deployment", "metadata:", "  name: a", "spec:", "  replicas: 3"]
    assert helm.template_line_map(rendered, template, occurrence=0, kind="Deployment") == (6, 7, 8, 9, 10, 11)


@needs_helm
def test_template_error_points_at_the_template_line() -> None:
    chart = REPO / "tests" / "rules" / "helm-render-failed" / "bad_broken_template"
    rendered = _render(chart, chart)
    [problem] = rendered.problems
    assert problem.rule_id == "helm-render-failed"
    assert (problem.loc.file, problem.loc.line) == ("templates/deployment.yaml", 7)
    assert 'function "defualt" not defined' in problem.message


@needs_helm
def test_missing_dependencies_are_reported_not_fetched() -> None:
    rendered = _render(HERE / "helm" / "deps", HERE / "helm" / "deps")
    [problem] = rendered.problems
    assert problem.loc.file == "Chart.yaml"
    assert "helm dependency build" in problem.message and "redis" in problem.message


@needs_helm
def test_timeout_is_a_finding() -> None:
    release = helm.standalone_release(SAMPLE / "charts" / "web", SAMPLE)
    rendered = helm.render(release, helm.HelmSettings(HELM, timeout=0.001), SAMPLE)
    [problem] = rendered.problems
    assert "did not finish within 0.001 s" in problem.message
    assert problem.loc.file == "charts/web/Chart.yaml"


def test_no_helm_is_a_finding_and_the_rest_is_scanned(tmp_path: Path) -> None:
    # Given a tree with a chart and a Terraform listener, scanned with a helm that does not exist
    result = audit([SAMPLE], AuditOptions(now=NOW, strict=True, helm_bin=str(tmp_path / "no-helm")))
    failed = [f for f in result.findings if f.rule_id == "helm-render-failed"]
    # Then each render is one finding at its origin, with the reason
    assert failed and all("helm is not installed" in f.message for f in failed)
    assert {f.loc.file for f in failed} == {"apps/web-prod.yaml", "apps/web-staging.yaml"}
    # And the Terraform file is still checked
    assert any(f.rule_id == "tls-legacy-protocol" and f.loc.file == "terraform/lb.tf" for f in result.findings)


def test_release_names_are_valid() -> None:
    assert helm.release_name("My_Chart.v2") == "my-chart-v2"
    assert helm.release_name("___") == "release"
    assert len(helm.release_name("x" * 80)) == 53
