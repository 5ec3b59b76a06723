"""Envoy v3 configurations (YAML or JSON) into listeners, TLS settings, routes and upstreams.

``yamlfiles`` loads every file once and hands over the documents it recognised as Envoy's: a
bootstrap (``static_resources`` / ``dynamic_resources``), a file-based xDS file (``resources:``
with ``@type``), or a bare list of listeners or clusters. Files that another Envoy file reads
through ``path_config_source`` (LDS, CDS, RDS, SDS) are joined into that bootstrap and are not
separate Envoys; files nobody references are read on their own. v2 configurations and unknown
``@type``s are reported (``types``) and a v2 file is not modelled, since Envoy refuses it.
"""

from __future__ import annotations

import logging
import os
import traceback
from typing import TYPE_CHECKING

from auditor.model import Model, Problem
from auditor.parsers.base import ParseContext
from auditor.parsers.envoy.listeners import listeners
from auditor.parsers.envoy.nodes import (
    Files,
    Instance,
    Node,
    config_source_path,
    referenced_paths,
    resource_nodes,
    root_node,
)
from auditor.parsers.envoy.tls import cluster
from auditor.parsers.envoy.types import check_types

if TYPE_CHECKING:
    from auditor.parsers.yamlfiles import Document

log = logging.getLogger("confaudit")


def parse_documents(docs: list[Document], ctx: ParseContext) -> Model:
    model = Model()
    files = Files(ctx, model)
    for doc in docs:
        files.add(doc)
        model.files.add(doc.file)
    refused: set[int] = set()
    for doc in docs:
        problems = check_types(doc)
        if any(p.rule_id == "config-api-removed" for p in problems):
            refused.add(id(doc))
        elif (v2_field := _v2_field(root_node(doc))) is not None:
            problems.append(
                Problem(
                    "config-api-removed",
                    v2_field.loc,
                    doc.file,
                    f"Envoy v2 field {v2_field.path[-1]!r}: current Envoy (checked with 1.40) refuses v2 configuration",
                )
            )
            refused.add(id(doc))
        model.problems.extend(problems)
    referenced: set[str] = set()
    for doc in docs:
        for path in referenced_paths(root_node(doc)):
            target = files.resolve(str(path.value), doc)
            if target is not None and os.path.realpath(target) != files.real(doc):
                referenced.add(os.path.realpath(target))
    for doc in docs:
        if id(doc) in refused or files.real(doc) in referenced:
            continue
        try:
            _build(Instance(files, doc, model))
        except Exception:  # noqa: BLE001 - parser boundary: one odd file must not stop the scan
            log.error("cannot model Envoy file %s:\n%s", doc.file, traceback.format_exc())
            model.problems.append(
                Problem("parse-error", doc.loc, doc.file, "Envoy configuration has a structure confaudit cannot read")
            )
    return model


def _build(inst: Instance) -> None:
    root = root_node(inst.entry)
    if isinstance(inst.entry.data, list) or root.has("resources"):
        resources = resource_nodes(inst.entry)
        clusters = [n for n in resources if _kind(n) == "Cluster"]
        listener_nodes = [n for n in resources if _kind(n) == "Listener"]
        secrets = [n for n in resources if _kind(n) == "Secret"]
        for config in (n for n in resources if _kind(n) == "RouteConfiguration"):
            inst.route_configs.setdefault(config.text("name"), config)
    else:
        static = root.get("static_resources")
        clusters = static.list("clusters") if static else []
        listener_nodes = static.list("listeners") if static else []
        secrets = static.list("secrets") if static else []
        dynamic = root.get("dynamic_resources")
        for key, kind, message, into in (
            ("cds_config", "CDS", "Cluster", clusters),
            ("lds_config", "LDS", "Listener", listener_nodes),
        ):
            path = config_source_path(dynamic.get(key)) if dynamic else None
            if path is not None:
                into.extend(n for n in inst.resources(path, kind) if _kind(n) == message)
    for secret in secrets:
        inst.secrets.setdefault(secret.text("name"), secret)
    for node in clusters:
        upstream = cluster(node, inst)
        inst.clusters.setdefault(upstream.name, upstream)
        inst.model.upstreams.append(upstream)
    for node in listener_nodes:
        inst.model.listeners.extend(listeners(node, inst))


def _kind(node: Node) -> str:
    """What a resource is: by its ``@type``, or by its fields in a bare list."""
    if node.has("@type"):
        return node.type_name.rsplit(".", 1)[-1]
    if node.has("filter_chains") or node.has("default_filter_chain"):
        return "Listener"
    if node.has("load_assignment") or node.has("connect_timeout") or node.has("lb_policy"):
        return "Cluster"
    if node.has("virtual_hosts"):
        return "RouteConfiguration"
    if node.has("tls_certificate") or node.has("validation_context"):
        return "Secret"
    return "unknown"


def _v2_field(root: Node) -> Node | None:
    """Fields only the v2 API had: a filter's struct ``config``, a filter chain's ``tls_context``,
    a cluster's ``hosts``. Envoy v3 rejects them as unknown fields."""
    static = root.get("static_resources")
    if static is None:
        return None
    for listener in static.list("listeners"):
        for chain in listener.list("filter_chains"):
            if chain.has("tls_context"):
                return chain.get("tls_context")
            for network_filter in chain.list("filters"):
                if network_filter.has("config") and not network_filter.has("typed_config"):
                    return network_filter.get("config")
    for item in static.list("clusters"):
        if item.has("hosts"):
            return item.get("hosts")
    return None
