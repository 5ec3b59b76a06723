"""Envoy parsing speed: files per second through the shared YAML loader and the Envoy parser.

Usage: python bench/bench_envoy.py [--corpus DIR] [--synthetic N] [--repeat R]

Two sets: the real Envoy configs of a corpus folder (default: the envoyproxy/examples copy in
/work/shared/corpus, skipped when absent) and N generated bootstraps of production size (4
listeners x 3 TLS filter chains x 25 routes, 40 clusters, one certificate file). For each it
reports the best of R runs of (a) the shared YAML loader alone (libyaml compose + conversion),
(b) load + model (yamlfiles.parse: loader, Envoy parser, certificates) and (c) the whole audit()
with every rule.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from auditor.api import AuditOptions, audit  # noqa: E402
from auditor.discover import Kind, discover  # noqa: E402
from auditor.model import Model  # noqa: E402
from auditor.parsers import yamlfiles  # noqa: E402
from auditor.parsers.base import CertStore, ParseContext  # noqa: E402
from auditor.yamlload import safe_load  # noqa: E402

DEFAULT_CORPUS = Path("/work/shared/corpus/real/envoyproxy__examples")


def envoy_files(root: Path) -> list[Path]:
    found = discover([root])
    paths = []
    for source in found.of_kind(Kind.YAML):
        try:
            data = safe_load(source.path.read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001 - not YAML: not an Envoy file either
            continue
        if yamlfiles.classify(data) == "envoy":
            paths.append(source.path)
    return paths


def synthetic(folder: Path, count: int) -> list[Path]:
    shutil.copy(REPO / "tests" / "certs" / "api.fullchain.crt", folder / "api.crt")
    shutil.copy(REPO / "tests" / "certs" / "api.key", folder / "api.key")
    paths = []
    for index in range(count):
        path = folder / f"envoy-{index:04d}.yaml"
        path.write_text(_bootstrap(index))
        paths.append(path)
    return paths


def _bootstrap(seed: int) -> str:
    hcm = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
    tls = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
    out = ["static_resources:", "  listeners:"]
    for listener in range(4):
        out += [
            f"  - name: l{seed}_{listener}",
            "    address:",
            f"      socket_address: {{address: 0.0.0.0, port_value: {8000 + listener}}}",
            "    listener_filters:",
            "    - name: envoy.filters.listener.tls_inspector",
            "      typed_config:",
            '        "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
            "    filter_chains:",
        ]
        for chain in range(3):
            out += [
                f"    - filter_chain_match: {{server_names: [s{chain}.example.com]}}",
                "      transport_socket:",
                "        name: envoy.transport_sockets.tls",
                "        typed_config:",
                f'          "@type": {tls}',
                "          common_tls_context:",
                "            alpn_protocols: [h2, http/1.1]",
                "            tls_params: {tls_minimum_protocol_version: TLSv1_2}",
                "            tls_certificates:",
                "            - certificate_chain: {filename: api.crt}",
                "              private_key: {filename: api.key}",
                "      filters:",
                "      - name: envoy.filters.network.http_connection_manager",
                "        typed_config:",
                f'          "@type": {hcm}',
                "          stat_prefix: ingress",
                "          http_filters:",
                "          - name: envoy.filters.http.router",
                "            typed_config:",
                '              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                "          route_config:",
                "            virtual_hosts:",
                "            - name: vh",
                f"              domains: [s{chain}.example.com]",
                "              routes:",
            ]
            for route in range(25):
                out += [
                    f"              - match: {{prefix: /svc{route}/}}",
                    f"                route: {{cluster: c{route % 40}, prefix_rewrite: /}}",
                    "                request_headers_to_add:",
                    f"                - header: {{key: X-Forwarded-Prefix, value: /svc{route}}}",
                ]
    out.append("  clusters:")
    for cluster in range(40):
        out += [
            f"  - name: c{cluster}",
            "    type: STRICT_DNS",
            "    load_assignment:",
            f"      cluster_name: c{cluster}",
            "      endpoints:",
            "      - lb_endpoints:",
            "        - endpoint:",
            "            address:",
            f"              socket_address: {{address: c{cluster}.internal, port_value: 8080}}",
        ]
    return "\n".join(out) + "\n"


def measure(label: str, paths: list[Path], repeat: int) -> None:
    if not paths:
        print(f"{label}: no Envoy files")
        return
    size = sum(p.stat().st_size for p in paths)
    root = _common(paths)
    found = discover(paths)
    sources = found.of_kind(Kind.YAML)
    parse_times, audit_times, load_times = [], [], []
    listeners = 0
    for _ in range(repeat):
        gc.disable()  # as yamlfiles.parse does
        start = time.perf_counter()
        scratch = Model()
        for source in sources:
            yamlfiles.load(source, scratch)
        load_times.append(time.perf_counter() - start)
        gc.enable()
        start = time.perf_counter()
        model = yamlfiles.parse(sources, ParseContext(found.root, CertStore(found.root)))
        parse_times.append(time.perf_counter() - start)
        listeners = len(model.listeners)
        start = time.perf_counter()
        audit(paths, AuditOptions())
        audit_times.append(time.perf_counter() - start)
    best_load, best_parse, best_audit = min(load_times), min(parse_times), min(audit_times)
    print(f"{label}: {len(paths)} files, {size / 1e6:.2f} MB, {listeners} listeners (root {root})")
    for name, seconds in (("load only", best_load), ("load + model", best_parse), ("full audit", best_audit)):
        print(f"  {name:<13}: {seconds:7.3f} s  {len(paths) / seconds:8.1f} files/s  {size / 1e6 / seconds:6.2f} MB/s")


def _common(paths: list[Path]) -> Path:
    import os

    return Path(os.path.commonpath([str(p) for p in paths]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--synthetic", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.corpus.is_dir():
        measure("corpus", envoy_files(args.corpus), args.repeat)
    else:
        print(f"corpus: {args.corpus} not found, skipped")
    with tempfile.TemporaryDirectory() as tmp:
        measure("synthetic", synthetic(Path(tmp), args.synthetic), args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
