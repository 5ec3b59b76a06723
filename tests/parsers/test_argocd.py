"""Argo CD Applications and ApplicationSets: sources resolved in the tree, charts rendered per
Application, never also standalone; list generators; multi-source `$ref` values files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from auditor.api import AuditOptions, audit
from auditor.cli import main
from auditor.parsers.gitops import argocd, helm
from tests.conftest import NOW, REPO

HERE = Path(__file__).resolve().parent / "argocd"
needs_helm = pytest.mark.skipif(helm.find_helm(None) is None, reason="helm is not installed")


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[helm.Rendered]:
    """Every real `helm template` run of the scan (a spy: helm still runs)."""
    seen: list[helm.Rendered] = []
    real = helm.render

    def spy(release: helm.Release, settings: helm.HelmSettings, root: Path) -> helm.Rendered:
        result = real(release, settings, root)
        seen.append(result)
        return result

    monkeypatch.setattr(helm, "render", spy)
    return seen


def _deployment(rendered: helm.Rendered) -> dict[str, object]:
    return next(d.data for d in rendered.documents if d.data["kind"] == "Deployment")


@needs_helm
def test_multi_source_values_ref(renders: list[helm.Rendered]) -> None:
    result = audit([HERE / "multisource"], AuditOptions(now=NOW, strict=True))
    assert [f for f in result.findings if f.rule_id in ("argocd-source-missing", "helm-render-failed")] == []
    [rendered] = renders
    assert rendered.release.label == "argocd app api-prod"
    assert (rendered.release.name, rendered.release.namespace) == ("api", "prod")
    deployment = _deployment(rendered)
    assert deployment["spec"]["replicas"] == 5  # from $config/config/prod.yaml
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":2.0.0")  # valuesObject


@needs_helm
def test_application_set_list_generator_and_no_standalone_render(renders: list[helm.Rendered]) -> None:
    # Given an ApplicationSet deploying charts/worker to two environments, and a chart nobody deploys
    audit([HERE / "appset"], AuditOptions(now=NOW, strict=True))
    by_label = {r.release.label: r for r in renders}
    # Then the worker chart is rendered once per generated Application, with that environment's values
    assert sorted(by_label) == ["argocd app worker-prod", "argocd app worker-staging", "helm chart charts/unused"]
    assert _deployment(by_label["argocd app worker-staging"])["spec"]["replicas"] == 2
    assert _deployment(by_label["argocd app worker-prod"])["metadata"]["namespace"] == "prod"
    assert _deployment(by_label["argocd app worker-prod"])["spec"]["replicas"] == 6
    # And never on its own with default values; the unused chart is rendered with its values.yaml
    assert [r.release.chart.name for r in renders].count("worker") == 2


@needs_helm
def test_sample_apps_render_their_environments(renders: list[helm.Rendered]) -> None:
    result = audit([REPO / "samples" / "gitops"], AuditOptions(now=NOW, strict=True))
    labels = sorted(r.release.label for r in renders)
    assert labels == ["argocd app web-prod", "argocd app web-staging"]
    missing = sorted((f.loc.file, f.loc.line) for f in result.findings if f.rule_id == "argocd-source-missing")
    assert missing == [("apps/tools.yaml", 21), ("apps/web-prod.yaml", 17)]


def test_missing_source_points_at_the_manifest_line() -> None:
    bad = REPO / "tests" / "rules" / "argocd-source-missing" / "bad_missing_path"
    [finding] = [f for f in audit([bad], AuditOptions(now=NOW, strict=True)).findings]
    assert (finding.rule_id, finding.loc.file, finding.loc.line) == ("argocd-source-missing", "apps/api.yaml", 11)
    assert finding.resource == "argocd app api"


def test_repo_map_overrides_the_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given an Application whose repoURL is mapped to an empty checkout
    code = main(
        [
            "scan",
            str(REPO / "tests" / "rules" / "argocd-source-missing" / "good_existing"),
            "--format",
            "json",
            "--repo-map",
            f"https://git.example.com/platform/deploy.git={tmp_path}",
        ]
    )
    out = capsys.readouterr().out
    # Then the path is looked up there, and missing
    assert code == 1 and "argocd-source-missing" in out


def test_cli_rejects_bad_repo_map(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(HERE), "--repo-map", "no-equals-sign"]) == 2
    assert "URL=DIR" in capsys.readouterr().err


def test_substitute_fast_and_go_templates() -> None:
    params = {"cluster": "prod", "values": {"ns": "shop"}}
    assert argocd.substitute({"a": "{{cluster}}-{{ values.ns }}", "b": ["{{missing}}"]}, params, False) == {
        "a": "prod-shop",
        "b": ["{{missing}}"],
    }
    assert argocd.substitute("{{ .values.ns }}/{{.cluster}}", params, True) == "shop/prod"


@pytest.mark.parametrize(
    "url",
    ["https://Git.Example.com/org/repo.git", "git@git.example.com:org/repo", "ssh://git@git.example.com/org/repo/"],
)
def test_repo_urls_compare_loosely(url: str) -> None:
    assert argocd.normalize_url(url) == "git.example.com/org/repo"


@needs_helm
def test_objects_without_a_namespace_go_to_the_destination_namespace() -> None:
    # Given a chart and a folder of manifests that name no namespace, each deployed by an
    # Application to namespace `api`
    result = audit([HERE / "namespace"], AuditOptions(now=NOW, strict=True))
    # Then their objects are in `api`, as Argo CD (helm template --namespace, kubectl apply -n) puts them
    ingresses = sorted(listener.resource for listener in result.model.listeners)
    assert ingresses == [
        "Ingress api/api (rendered by helm; line approximate) api.example.com [argocd app api]",
        "Ingress api/www www.example.com [argocd app api-extras]",
    ]
    # And both find the TLS Secret that a plain manifest outside either Application defines
    refs = [ref for listener in result.model.listeners if listener.tls for ref in listener.tls.certificates]
    assert [(ref.cert_path, ref.cert_status.value, ref.note) for ref in refs] == [
        ("api/api-tls", "ok", "defined at secrets/api-tls.yaml:5")
    ] * 2
    assert result.findings == ()
    # The Secret's certificate is reported once, by the file that holds it
    assert [bundle.loc.file for bundle in result.model.certificates] == ["secrets/api-tls.yaml"]


@needs_helm
def test_one_applications_ingress_finds_the_secret_another_application_renders(tmp_path: Path) -> None:
    # Given the Secret moved into a chart of its own, deployed by a third Application
    tree = tmp_path / "tree"
    shutil.copytree(HERE / "namespace", tree)
    chart = tree / "charts" / "certs"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: certs\nversion: 1.0.0\n")
    secret = (tree / "secrets" / "api-tls.yaml").read_text().replace("  namespace: api\n", "")
    (chart / "templates" / "api-tls.yaml").write_text(secret)
    shutil.rmtree(tree / "secrets")
    app = (tree / "apps" / "api.yaml").read_text()
    certs_app = app.replace("name: api\n", "name: certs\n").replace("charts/api", "charts/certs")
    (tree / "apps" / "certs.yaml").write_text(certs_app)
    # Then no Ingress reports it missing
    result = audit([tree], AuditOptions(now=NOW, strict=True))
    assert [f.rule_id for f in result.findings] == []
    refs = [ref for listener in result.model.listeners if listener.tls for ref in listener.tls.certificates]
    assert {(ref.cert_path, ref.cert_status.value) for ref in refs} == {("api/api-tls", "ok")}
