"""deploy/: what a team applies. It passes confaudit's own scan (we practice what we check), and
its settings fit together: the webhook's flags parse, its budget fits the API server's timeout,
the shutdown fits the grace period, Secrets are readable only with the lookup overlay."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor import cli
from tests.conftest import REPO

DEPLOY = REPO / "deploy"


def objects(*paths: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for path in paths:
        for document in yaml.safe_load_all(path.read_text()):
            if document and "metadata" in document:
                found[f"{document['kind']}/{document['metadata']['name']}"] = document
    return found


def test_scan_of_deploy_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["scan", str(DEPLOY), "--fail-on", "info"]) == 0
    assert "0 findings" in capsys.readouterr().out


def test_manifests_fit_together() -> None:
    base = objects(*sorted((DEPLOY / "base").glob("*.yaml")))
    deployment = base["Deployment/confaudit-webhook"]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    args = cli.build_parser().parse_args(container["args"])  # the flags are the command's own
    assert args.command == "webhook" and args.mode in ("warn", "deny", "audit")
    assert deployment["spec"]["replicas"] == 2
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pre_stop + args.graceful_timeout < pod["terminationGracePeriodSeconds"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]  # metrics of --workers > 1
    assert pod["automountServiceAccountToken"] is False and "ClusterRole/confaudit-webhook-read-secrets" not in base

    configuration = base["ValidatingWebhookConfiguration/confaudit"]
    certificate = base["Certificate/confaudit-webhook"]
    assert configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == "confaudit/confaudit-webhook"
    service = base["Service/confaudit-webhook"]
    assert f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc" in certificate["spec"]["dnsNames"]
    assert certificate["spec"]["secretName"] == next(v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v)
    for webhook in configuration["webhooks"]:
        assert webhook["admissionReviewVersions"] == ["v1"]
        assert webhook["sideEffects"] == "None"
        assert webhook["failurePolicy"] == "Ignore"
        assert args.review_timeout < webhook["timeoutSeconds"] <= 10
        assert webhook["clientConfig"]["service"]["path"] == "/validate"
        excluded = webhook["namespaceSelector"]["matchExpressions"][0]
        assert excluded["operator"] == "NotIn" and "confaudit" in excluded["values"]
        for rule in webhook["rules"]:
            assert rule["operations"] == ["CREATE", "UPDATE"]
    assert base["PodDisruptionBudget/confaudit-webhook"]["spec"]["minAvailable"] == 1


def kubectl() -> str:
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.skip("kubectl is not installed (kubectl kustomize renders deploy/ offline)")
    return binary


@pytest.mark.parametrize("folder", ["", "base", "lookup"])
def test_kustomize_renders_a_clean_install(folder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rendered = subprocess.run(
        [kubectl(), "kustomize", str(DEPLOY / folder)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    (tmp_path / "install.yaml").write_text(rendered)
    assert cli.main(["scan", str(tmp_path), "--fail-on", "info"]) == 0
    assert "0 findings" in capsys.readouterr().out
    found = objects(tmp_path / "install.yaml")
    args = found["Deployment/confaudit-webhook"]["spec"]["template"]["spec"]["containers"][0]["args"]
    if folder == "lookup":
        assert "--lookup" in args
        role = found["ClusterRole/confaudit-webhook-read-secrets"]
        assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]
        assert found["ServiceAccount/confaudit-webhook"]["automountServiceAccountToken"] is True
    else:
        assert "--lookup" not in args
        assert not any(kind.startswith(("ClusterRole", "Role")) for kind in found)
