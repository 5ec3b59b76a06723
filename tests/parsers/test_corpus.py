"""The scanner over real charts and Argo CD folders from shared/corpus/real: no crash, and no
helm-render-failed for a chart that the real `helm template` renders on its own."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from auditor.api import AuditOptions, audit
from auditor.parsers.gitops import helm
from tests.conftest import NOW, REPO

CANDIDATES = [REPO.parent / "shared" / "corpus" / "real", Path("/work/shared/corpus/real")]
CORPUS = next((p for p in CANDIDATES if p.is_dir()), None)
FOLDERS = [
    "bitnami__charts",
    "prometheus-community__helm-charts",
    "kubernetes__ingress-nginx/charts",
    "argoproj__argo-cd",
    "aws-samples__eks-blueprints-workloads",
    "GoogleCloudPlatform__microservices-demo",
]
HELM = helm.find_helm(None)

pytestmark = [
    pytest.mark.skipif(CORPUS is None, reason="shared/corpus/real is not there"),
    pytest.mark.skipif(HELM is None, reason="helm is not installed"),
]


def _renders_directly(chart: Path) -> bool:
    assert HELM is not None
    run = subprocess.run(
        [HELM, "template", "probe", str(chart)], capture_output=True, text=True, timeout=120, check=False
    )
    return run.returncode == 0


def test_corpus_charts_and_applications() -> None:
    assert CORPUS is not None
    paths = [CORPUS / folder for folder in FOLDERS if (CORPUS / folder).exists()]
    # Given the real charts and Argo CD manifests, scanned as a user would
    result = audit(paths, AuditOptions(now=NOW, strict=True))
    # Then nothing crashed
    assert not result.internal_errors
    failed = [f for f in result.findings if f.rule_id == "helm-render-failed"]
    # And a chart that helm renders on its own never fails in our hands
    charts = sorted({p.parent for path in paths for p in path.rglob("Chart.yaml")})
    with ThreadPoolExecutor(max_workers=2) as pool:
        renders = dict(zip(charts, pool.map(_renders_directly, charts), strict=True))
    for chart, ok in renders.items():
        if ok:
            rel = chart.relative_to(result.root).as_posix()
            assert not [f for f in failed if f"chart {rel}:" in f.message or f"chart {rel} " in f.message], rel
    # And the rendering did happen: most charts render, and their templates count as scanned files
    assert sum(renders.values()) >= 30
    assert any("/templates/" in name for name in result.model.files)
