"""Envoy files into the model: values, and the file and line each object comes from."""

from __future__ import annotations

import random
from pathlib import Path

import yaml

from auditor.api import AuditOptions, audit
from auditor.model import Model, Protocol, RefStatus, TlsVersion
from tests.conftest import NOW, TESTS
from tests.envoy_check import validate

FILES = Path(__file__).parent / "files"


def scan(*paths: Path) -> Model:
    result = audit(list(paths), AuditOptions(now=NOW, strict=True))
    assert not result.internal_errors
    return result.model


def test_xds_files_join_their_bootstrap(tmp_path: Path) -> None:
    # Given a bootstrap reading LDS from a relative path and CDS from a mounted absolute path
    model = scan(FILES / "xds")
    # Then there is one Envoy: the xDS files are part of it, and nothing is unreadable
    assert model.problems == []
    [listener] = model.listeners
    assert (listener.instance, listener.resource, listener.endpoint) == (
        "envoy.yaml",
        "envoy listener grpc_in",
        "[::]:8443",
    )
    assert (listener.loc.file, listener.loc.line) == ("configs/lds.yaml", 2)
    # And the codec, ALPN (split on commas, as Envoy does) and server names are Envoy's
    assert listener.codec is Protocol.H2 and listener.http2 and listener.http2_explicit
    assert listener.tls is not None and listener.tls.alpn == ("h2", "http/1.1") and listener.tls.alpn_explicit
    assert listener.tls.alpn_loc is not None and listener.tls.alpn_loc.line == 38
    assert listener.server_names == ("grpc.example.com",)
    # And the route is gRPC by its content-type match, reaching both weighted clusters
    [route] = listener.routes
    assert (route.is_grpc, route.upstream, route.loc.line) == (True, "orders_v1, orders_v2", 23)
    assert route.upstream_protocol is Protocol.H2 and route.upstream_ref is not None
    clusters = {u.name: u for u in model.upstreams}
    assert clusters["orders_v1"].protocol is Protocol.H2 and clusters["orders_v1"].loc.line == 2
    v2 = clusters["orders_v2"]
    assert (v2.protocol, v2.tls, v2.sni, v2.alpn, v2.endpoints) == (
        Protocol.AUTO,
        True,
        "orders-v2.internal",
        ("h2",),
        ("orders-v2.internal:50051",),
    )
    assert (v2.loc.file, v2.loc.line) == ("configs/cds.yaml", 14)
    # And the real Envoy accepts it all once /var/lib/envoy is where the files are
    bootstrap = tmp_path / "envoy.yaml"
    text = (FILES / "xds" / "envoy.yaml").read_text().replace("/var/lib/envoy", str(FILES / "xds" / "configs"))
    bootstrap.write_text(text.replace("configs/lds.yaml", str(FILES / "xds" / "configs" / "lds.yaml")))
    (tmp_path / "certs").mkdir()
    for name in ("grpc.crt", "grpc.key"):
        (tmp_path / "certs" / name).write_bytes((TESTS / "certs" / name).read_bytes())
    lds = (FILES / "xds" / "configs" / "lds.yaml").read_text()
    (tmp_path / "lds.yaml").write_text(lds.replace("../../../../certs/", str(tmp_path / "certs") + "/"))
    staged = bootstrap.read_text().replace(str(FILES / "xds" / "configs" / "lds.yaml"), str(tmp_path / "lds.yaml"))
    bootstrap.write_text(staged)
    (tmp_path / "work").mkdir()
    verdict = validate(bootstrap, tmp_path / "work")
    assert verdict.ok, verdict.output


def test_unreferenced_xds_file_is_its_own_envoy() -> None:
    model = scan(FILES / "xds" / "configs" / "lds.yaml")
    assert [item.instance for item in model.listeners] == ["lds.yaml"]
    # Without its bootstrap the clusters are unknown: no protocol is assumed for the route
    assert model.listeners[0].routes[0].upstream_protocol is Protocol.UNKNOWN


def test_json_bootstrap_with_envoy_defaults(tmp_path: Path) -> None:
    model = scan(FILES / "json")
    [listener] = model.listeners
    tls = listener.tls
    assert tls is not None
    # No tls_params: Envoy's server defaults, said so in the note
    assert tls.protocols == (TlsVersion.TLS1_2, TlsVersion.TLS1_3) and not tls.protocols_explicit
    assert "Envoy 1.40 default" in tls.protocols_note and tls.cipher_spec is None
    assert {c.name for c in tls.ciphers} >= {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305"}
    assert all(c.kx.startswith("ECDH") for c in tls.ciphers)
    # No alpn_protocols: Envoy offers no ALPN at all, so no HTTP/2 for TLS clients
    assert (tls.alpn, tls.alpn_explicit, listener.http2, listener.codec) == ((), False, False, Protocol.AUTO)
    [cert] = tls.certificates
    assert (cert.cert_status, cert.key_status, cert.loc.file, cert.loc.line) == (
        RefStatus.OK,
        RefStatus.OK,
        "envoy.json",
        16,
    )
    # The regex_rewrite strips /api, and the X-Forwarded-Prefix of the route configuration applies
    [route] = listener.routes
    assert route.rewrite_loc is not None
    assert (route.match, route.strip_prefix, route.rewrite_loc.line) == ("regex ^/api/.*", "/api", 46)
    assert [(h.name, h.value, h.loc.line) for h in route.request_headers] == [("x-forwarded-prefix", "/api", 36)]
    assert validate(FILES / "json" / "envoy.json", tmp_path).ok


def test_bare_cluster_list() -> None:
    model = scan(FILES / "fragment")
    [upstream] = model.upstreams
    assert (upstream.name, upstream.tls, upstream.sni, upstream.protocol, upstream.protocol_explicit) == (
        "github",
        True,
        "github.com",
        Protocol.HTTP1,
        False,
    )
    assert (upstream.loc.file, upstream.loc.line) == ("clusters.yaml", 2)


def test_inline_certificate_lines() -> None:
    model = scan(TESTS / "rules" / "cert-expired" / "bad_envoy_inline")
    [listener] = model.listeners
    assert listener.tls is not None
    [ref] = listener.tls.certificates
    assert ref.bundle is not None and ref.key is not None and ref.cert_path is None
    text = (TESTS / "rules" / "cert-expired" / "bad_envoy_inline" / "envoy.yaml").read_text().splitlines()
    assert "BEGIN CERTIFICATE" in text[ref.bundle.certificates[0].loc.line - 1]
    assert "BEGIN PRIVATE KEY" in text[ref.key.loc.line - 1]
    assert ref.bundle in model.certificates  # so the expiry rules see it


def test_bad_input_becomes_findings(tmp_path: Path) -> None:
    # Given an unknown @type, a v2 config, broken YAML and a bootstrap whose RDS file is missing
    for fixture, rule in (
        ("parse-error/bad_envoy_unknown_type.yaml", "parse-error"),
        ("config-api-removed/bad_envoy_v2_types.yaml", "config-api-removed"),
        ("config-api-removed/bad_envoy_v2_fields.yaml", "config-api-removed"),
        ("parse-error/bad_envoy_broken.yaml", "parse-error"),
        ("parse-error/bad_envoy_rds_missing.yaml", "parse-error"),
    ):
        result = audit([TESTS / "rules" / fixture], AuditOptions(now=NOW, strict=True))
        # Then each is a finding with a line, never a traceback
        assert not result.internal_errors
        found = [f for f in result.errors if f.rule_id == rule]
        assert found and all(f.loc.line for f in found), fixture
    # And a v2 file is not modelled: Envoy would refuse it
    assert scan(TESTS / "rules" / "config-api-removed" / "bad_envoy_v2_types.yaml").listeners == []


def _mutations(value: object, rng: random.Random) -> object:
    odd = ["oops", 7, None, [], {}, [1, "x"], {"a": None}, True, -1, "0.0.0.0:abc"]
    if isinstance(value, dict):
        return {k: (rng.choice(odd) if rng.random() < 0.08 else _mutations(v, rng)) for k, v in value.items()}
    if isinstance(value, list):
        return [rng.choice(odd) if rng.random() < 0.08 else _mutations(v, rng) for v in value]
    return value


def test_odd_shapes_do_not_break_the_parser(tmp_path: Path) -> None:
    # Given the sample bootstrap with values replaced by wrong types at random (seeded)
    source = yaml.safe_load((TESTS.parent / "samples" / "envoy" / "envoy.yaml").read_text())
    rng = random.Random(4)
    for index in range(60):
        path = tmp_path / f"envoy-{index}.yaml"
        path.write_text(yaml.safe_dump(_mutations(source, rng)))
        # Then the parser reads what it can without falling back to its catch-all guard
        result = audit([path], AuditOptions(now=NOW, strict=True))
        assert not result.internal_errors
        assert not [p for p in result.model.problems if "cannot read" in p.message and "structure" in p.message]
