"""YAML and JSON files: load each once, then hand each document to the parser of its format.

Every document keeps its PyYAML node, so parsers take line numbers from the node marks
(``Document.line``). Documents are routed by content: Kubernetes objects (``apiVersion`` +
``kind``) and Envoy configurations go to their parsers, anything else is ignored (docker-compose
files, CI configs...). Loading problems become ``parse-error`` problems with the line libyaml
reports; an alias bomb or a monster file is refused instead of exhausting memory.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from auditor.discover import SourceFile
from auditor.model import Location, Model, Problem, Suppression
from auditor.parsers.base import ParseContext
from auditor.suppress import scan_text
from auditor.yamlload import YamlTooLarge, compose_all, nodes_to_python

MAX_YAML_BYTES = 16 * 1024 * 1024

# format name -> module with ``parse_documents(docs, ctx) -> Model``; imported when needed.
HANDLERS: dict[str, str] = {
    "kubernetes": "auditor.parsers.kubernetes",
    "envoy": "auditor.parsers.envoy",
    "argocd": "auditor.parsers.argocd",
}
# Argo CD kinds that describe what to deploy (routed to "argocd"); other argoproj.io kinds, such
# as Argo Rollouts' Rollout, are workloads and stay with the Kubernetes parser.
ARGOCD_KINDS = frozenset({"Application", "ApplicationSet", "AppProject"})


@dataclass(slots=True)
class Document:
    """One YAML document (or JSON file) with its node tree for line numbers."""

    file: str  # relative to the scan root
    index: int  # position in a multi-document file
    node: yaml.Node
    data: Any
    line_offset: int = 0  # added to node lines (documents cut out of a larger text, e.g. helm output)
    source_note: str | None = None  # e.g. "rendered by helm; line approximate"
    extra: dict[str, Any] = field(default_factory=dict)  # per-format context (helm release, Argo app...)
    # For text that is not the file itself (helm output): 0-based line in the loaded text -> 1-based
    # line in ``file``. Lines past its end map to its last entry.
    line_map: tuple[int, ...] | None = None

    @property
    def loc(self) -> Location:
        return Location(self.file, self._file_line(self.node.start_mark.line))

    def _file_line(self, text_line: int) -> int:
        if self.line_map:
            return self.line_map[min(text_line, len(self.line_map) - 1)]
        return text_line + 1 + self.line_offset

    def line(self, *path: str | int) -> int:
        """1-based line of the value at ``path`` (keys and list indexes); the closest parent's
        line when the path does not exist."""
        node = self.node
        for step in path:
            child = _child(node, step)
            if child is None:
                break
            node = child
        return self._file_line(node.start_mark.line)

    def at(self, *path: str | int) -> Location:
        return Location(self.file, self.line(*path))


def _child(node: yaml.Node, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(step, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == step:
                return value  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        return node.value[step]  # type: ignore[no-any-return]
    return None


def classify(data: Any) -> str | None:
    if isinstance(data, list):
        return "envoy" if _envoy_resource_list(data) else None
    if not isinstance(data, dict):
        return None
    if "apiVersion" in data and "kind" in data:
        api_version = data["apiVersion"]
        if isinstance(api_version, str) and api_version.startswith("argoproj.io/") and data["kind"] in ARGOCD_KINDS:
            return "argocd"
        return "kubernetes"
    if "static_resources" in data or "dynamic_resources" in data or ("admin" in data and "node" in data):
        return "envoy"
    resources = data.get("resources")
    if isinstance(resources, list) and any(
            isinstance(r, dict) and str(r.get("@type", "")).rsplit("/", 1)[-1].startswith("envoy.")
            for r in resources):
        return "envoy"  # file-based xDS (path_config_source): a DiscoveryResponse with typed resources
    return None


def _envoy_resource_list(items: list[Any]) -> bool:
    """A bare list of Envoy listeners or clusters (a fragment a template or script assembles into a
    bootstrap): every entry has a name and listener- or cluster-only fields."""
    if not items or not all(isinstance(i, dict) and "name" in i for i in items):
        return False
    return all("filter_chains" in i or "load_assignment" in i or "eds_cluster_config" in i for i in items)


def load(source: SourceFile, model: Model) -> list[Document]:
    """Load one file's documents; problems go into ``model``."""
    rel = source.rel
    try:
        raw = source.path.read_bytes()
    except OSError as exc:
        model.problems.append(Problem("parse-error", Location(rel, None), rel, f"cannot read file: {exc.strerror}"))
        return []
    return load_text(raw, rel, model)


def load_text(raw: bytes, rel: str, model: Model, line_offset: int = 0) -> list[Document]:
    def problem(line: int | None, message: str) -> list[Document]:
        model.problems.append(Problem("parse-error", Location(rel, line), rel, message))
        return []

    if len(raw) > MAX_YAML_BYTES:
        return problem(1, f"file is {len(raw) / 1_048_576:.0f} MiB, over the {MAX_YAML_BYTES // 1_048_576} MiB "
                          "limit for YAML: not parsed")
    if b"\0" in raw[:65536]:
        return problem(1, "binary file where YAML or JSON was expected")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return problem(raw.count(b"\n", 0, exc.start) + 1, "file is not UTF-8 text")
    for item in scan_text(text, rel):
        if isinstance(item, Suppression):
            model.suppressions.append(item)
        else:
            model.problems.append(item)
    documents: list[Document] = []
    budget = [2_000_000]
    try:
        for index, node in enumerate(compose_all(text)):
            if node is None:
                continue
            documents.append(Document(rel, index, node, nodes_to_python(node, budget), line_offset))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + line_offset if mark is not None else None
        reason = exc.problem or "invalid YAML"
        if "\t" in text and "tab" not in reason and mark is not None:
            reason += " (tabs are not allowed for indentation in YAML)"
        return problem(line, f"YAML syntax error: {reason}")
    except (yaml.YAMLError, YamlTooLarge, RecursionError) as exc:
        message = str(exc) if isinstance(exc, YamlTooLarge) else f"YAML could not be loaded: {type(exc).__name__}"
        return problem(1, message)
    return documents


def parse(files: list[SourceFile], ctx: ParseContext) -> Model:
    # Loading keeps every document's node tree (for line numbers): millions of objects that make
    # the cyclic garbage collector rescan the heap again and again while nothing cyclic is made.
    # Pausing it here halves the time for large trees (bench/bench_envoy.py).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse(files, ctx)
    finally:
        if enabled:
            gc.enable()


def _parse(files: list[SourceFile], ctx: ParseContext) -> Model:
    model = Model()
    documents: list[Document] = []
    for source in files:
        documents.extend(load(source, model))
        model.files.add(source.rel)
    model.extend(route(documents, ctx))
    return model


def by_format(documents: list[Document]) -> dict[str, list[Document]]:
    groups: dict[str, list[Document]] = {}
    for document in documents:
        kind = classify(document.data)
        if kind is not None:
            groups.setdefault(kind, []).append(document)
    return groups


def route(documents: list[Document], ctx: ParseContext, skip: frozenset[str] = frozenset()) -> Model:
    """Hand each document to the parser of its format (except the formats in ``skip``)."""
    model = Model()
    for kind, group in by_format(documents).items():
        handler = None if kind in skip else _handler(kind)
        if handler is not None:
            model.extend(handler(group, ctx))
    return model


def _handler(kind: str) -> Callable[[list[Document], ParseContext], Model] | None:
    module_name = HANDLERS.get(kind)
    if module_name is None:
        return None
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None  # that format's parser is not part of this build yet
    handler: Callable[[list[Document], ParseContext], Model] = module.parse_documents
    return handler
