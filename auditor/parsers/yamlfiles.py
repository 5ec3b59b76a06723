"""YAML and JSON files: load each once, then hand each document to the parser of its format.

Every document keeps the line of each of its values (a compact ``LineTree``, or the PyYAML node
for documents built elsewhere), so parsers take line numbers from ``Document.line``/``at``.
Documents are routed by content: Kubernetes objects (``apiVersion`` + ``kind``), Argo CD
Applications and Envoy configurations go to their parsers, anything else is ignored
(docker-compose files, CI configs...). Loading problems become ``parse-error`` problems with the line libyaml
reports; an alias bomb or a monster file is refused instead of exhausting memory.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from auditor.discover import SourceFile
from auditor.gcpause import gc_paused
from auditor.model import Location, Model, Problem, Suppression
from auditor.parsers.base import ParseContext
from auditor.suppress import scan_text
from auditor.yamlload import MAX_NODES, LineTree, YamlTooLarge, compose_all, nodes_to_python_with_lines

MAX_YAML_BYTES = 16 * 1024 * 1024

# format name -> module with ``parse_documents(docs, ctx) -> Model``; imported when needed.
HANDLERS: dict[str, str] = {
    "kubernetes": "auditor.parsers.kubernetes",
    "envoy": "auditor.parsers.envoy",
    "argocd": "auditor.parsers.gitops.argocd",
}


@dataclass(slots=True)
class Document:
    """One YAML document (or JSON file) with the lines of its values.

    Lines come from ``lines`` (a ``yamlload.LineTree``, what ``load_text`` produces: small and
    picklable) or, for documents built elsewhere from a composed ``node``, from the node's marks.
    """

    file: str  # relative to the scan root
    index: int  # position in a multi-document file
    node: yaml.Node | None
    data: Any
    line_offset: int = 0  # added to node lines (documents cut out of a larger text, e.g. helm output)
    source_note: str | None = None  # e.g. "rendered by helm; line approximate"
    extra: dict[str, Any] = field(default_factory=dict)  # per-format context (helm release, Argo app...)
    lines: LineTree = None
    # For text that is not the file itself (helm output): 0-based line in the loaded text -> 1-based
    # line in ``file``. Lines past its end map to its last entry.
    line_map: tuple[int, ...] | None = None

    @property
    def loc(self) -> Location:
        return Location(self.file, self.line())

    def _file_line(self, text_line: int) -> int:
        if self.line_map:
            return self.line_map[min(text_line, len(self.line_map) - 1)]
        return text_line + 1 + self.line_offset

    def line(self, *path: str | int) -> int:
        """1-based line where the value at ``path`` (keys and list indexes) is written: its key's
        line for a mapping entry (``spec:``, not the first line inside it), its own for a list item;
        the closest parent's line when the path does not exist."""
        if self.lines is None and self.node is not None:
            return self._file_line(_node_line(self.node, path))
        tree = self.lines
        for step in path:
            child = _line_child(tree, step)
            if child is None:
                break
            tree = child
        return self._file_line(tree if isinstance(tree, int) else tree[0] if tree else 0)

    def at(self, *path: str | int) -> Location:
        return Location(self.file, self.line(*path))

    def lines_spanned(self) -> tuple[int, int]:
        """(first, last) 1-based line of the document's values (its node's end for node documents)."""
        first = self.line()
        if self.lines is None and self.node is not None:
            return first, self._file_line(self.node.end_mark.line)
        last, stack = 0, [self.lines]
        while stack:
            tree = stack.pop()
            if isinstance(tree, int):
                last = max(last, tree)
            elif isinstance(tree, tuple):
                last = max(last, tree[0])
                stack.extend(tree[1].values() if isinstance(tree[1], dict) else tree[1])
        return first, max(first, self._file_line(last))

    def child(self, *path: str | int) -> Document:
        """The value at ``path`` as a document of its own (e.g. an item of a ``kind: List``)."""
        data: Any = self.data
        for step in path:
            data = data[step]
        tree = self.lines
        for step in path:
            tree = _line_child(tree, step) if tree is not None else None
        node = self.node
        if tree is None and node is not None:
            for step in path:
                node = _child(node, step) if node is not None else None
        return Document(
            self.file, self.index, node, data, self.line_offset, self.source_note, self.extra, tree, self.line_map
        )


def _line_child(tree: LineTree, step: str | int) -> LineTree:
    if isinstance(tree, tuple):
        children = tree[1]
        if isinstance(children, dict):
            return children.get(step)
        if isinstance(step, int) and 0 <= step < len(children):
            return children[step]
    return None


def _child(node: yaml.Node, step: str | int) -> yaml.Node | None:
    entry = _entry(node, step)
    return entry[1] if entry is not None else None


def _entry(node: yaml.Node, step: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """(the node that marks where the child is written, the child node)."""
    if isinstance(node, yaml.MappingNode) and isinstance(step, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == step:
                return key, value
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        return node.value[step], node.value[step]
    return None


def _node_line(node: yaml.Node, path: tuple[str | int, ...]) -> int:
    line = int(node.start_mark.line)
    for step in path:
        entry = _entry(node, step)
        if entry is None:
            break
        line, node = int(entry[0].start_mark.line), entry[1]
    return line


# Argo CD kinds that describe what to deploy (routed to "argocd"); other argoproj.io kinds, such
# as Argo Rollouts' Rollout, are workloads and stay with the Kubernetes parser.
ARGOCD_KINDS = frozenset({"Application", "ApplicationSet", "AppProject"})


def classify(data: Any) -> str | None:
    if isinstance(data, list):
        return "envoy" if _envoy_resource_list(data) else None
    if not isinstance(data, dict):
        return None
    if "apiVersion" in data and "kind" in data:
        api_version = data["apiVersion"]
        kind = data["kind"]  # not a string (`kind: [Application]`): the Kubernetes parser reports it
        is_argo = isinstance(api_version, str) and api_version.startswith("argoproj.io/")
        if is_argo and isinstance(kind, str) and kind in ARGOCD_KINDS:
            return "argocd"
        return "kubernetes"
    if "static_resources" in data or "dynamic_resources" in data or ("admin" in data and "node" in data):
        return "envoy"
    resources = data.get("resources")
    if isinstance(resources, list) and resources and isinstance(resources[0], dict) and "@type" in resources[0]:
        return "envoy"
    return None


def _envoy_resource_list(items: list[Any]) -> bool:
    """A bare list of Envoy listeners or clusters (a fragment a template or script assembles into a
    bootstrap): every entry has a name and listener- or cluster-only fields."""
    if not items or not all(isinstance(i, dict) and "name" in i for i in items):
        return False
    return all("filter_chains" in i or "load_assignment" in i or "eds_cluster_config" in i for i in items)


@dataclass(slots=True)
class Loaded:
    """One file's documents and what went wrong reading it (picklable: built in worker processes)."""

    rel: str
    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)


def load(source: SourceFile, model: Model, strict: bool = False) -> list[Document]:
    """Load one file's documents; problems go into ``model``."""
    loaded = load_path(str(source.path), source.rel, strict)
    model.problems.extend(loaded.problems)
    model.suppressions.extend(loaded.suppressions)
    return loaded.documents


def load_path(path: str, rel: str, strict: bool = False) -> Loaded:
    """Load one file by path (in this process or a worker)."""
    from auditor.parsers.guard import guarded

    model = Model()
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        model.problems.append(Problem("parse-error", Location(rel, 1), rel, f"cannot read file: {exc.strerror}"))
        return Loaded(rel, [], model.problems)
    failed: list[Problem] = []
    with guarded(failed, Location(rel, 1), rel, "YAML loader", strict):
        documents = load_text(raw, rel, model)
        return Loaded(rel, documents, model.problems, model.suppressions)
    return Loaded(rel, [], failed, model.suppressions)


def load_text(raw: bytes, rel: str, model: Model, line_offset: int = 0) -> list[Document]:
    """The documents of one YAML/JSON text. Problems (and inline suppressions) go into ``model``; the
    documents before a syntax error are kept."""

    def problem(line: int | None, message: str) -> list[Document]:
        model.problems.append(Problem("parse-error", Location(rel, line), rel, message))
        return documents

    documents: list[Document] = []
    if len(raw) > MAX_YAML_BYTES:
        return problem(
            1 + line_offset,
            f"file is {len(raw) / 1_048_576:.0f} MiB, over the "
            f"{MAX_YAML_BYTES // 1_048_576} MiB limit for YAML: not parsed",
        )
    if b"\0" in raw[:65536]:
        return problem(1 + line_offset, "binary file where YAML or JSON was expected")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return problem(raw.count(b"\n", 0, exc.start) + 1 + line_offset, "file is not UTF-8 text")
    for item in scan_text(text, rel):
        if isinstance(item, Suppression):
            model.suppressions.append(item)
        else:
            model.problems.append(item)
    budget = [MAX_NODES]
    first_line = 1  # of the document being read, for problems found after composing it
    try:
        for index, node in enumerate(compose_all(text)):
            if node is None:
                continue
            first_line = node.start_mark.line + 1
            data, lines = nodes_to_python_with_lines(node, budget)
            documents.append(Document(rel, index, None, data, line_offset, lines=lines))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + line_offset if mark is not None else None
        reason = exc.problem or "invalid YAML"
        if "\t" in text and "tab" not in reason and mark is not None:
            reason += " (tabs are not allowed for indentation in YAML)"
        return problem(line, f"YAML syntax error: {reason}")
    except (yaml.YAMLError, YamlTooLarge, RecursionError) as exc:
        message = str(exc) if isinstance(exc, YamlTooLarge) else f"YAML could not be loaded: {type(exc).__name__}"
        return problem(first_line + line_offset, message)
    return documents


def load_all(files: list[SourceFile], model: Model, strict: bool = False) -> dict[str, list[Document]]:
    """Load every file once (with every core on large trees); problems and inline suppressions go
    into ``model``. Returns each file's documents, in the order given."""
    from auditor.parsers.yamlpool import load_files

    by_file: dict[str, list[Document]] = {}
    with gc_paused():
        for loaded in load_files(files, strict):
            by_file[loaded.rel] = loaded.documents
            model.files.add(loaded.rel)
            model.problems.extend(loaded.problems)
            model.suppressions.extend(loaded.suppressions)
    return by_file


def parse(files: list[SourceFile], ctx: ParseContext) -> Model:
    model = Model()
    documents = [doc for docs in load_all(files, model, ctx.strict).values() for doc in docs]
    with gc_paused():
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
    """Hand each document to the parser of its format (except the formats in ``skip``). A crash
    in a parser is narrowed down to the documents causing it; the others are still parsed."""
    from auditor.parsers.guard import isolate

    model = Model()
    for kind, group in by_format(documents).items():
        handler = None if kind in skip else _handler(kind)
        if handler is not None:
            run = functools.partial(_run_handler, handler, ctx=ctx)
            model.extend(isolate(group, run, _document_at, f"{_FORMAT_NAMES.get(kind, kind)} parser", ctx.strict))
    return model


_FORMAT_NAMES = {"kubernetes": "Kubernetes", "envoy": "Envoy", "argocd": "Argo CD"}


def _run_handler(
    handler: Callable[[list[Document], ParseContext], Model], documents: list[Document], ctx: ParseContext
) -> Model:
    return handler(documents, ctx)


def _document_at(document: Document) -> tuple[Location, str]:
    return document.loc, document.file


def _handler(kind: str) -> Callable[[list[Document], ParseContext], Model] | None:
    module_name = HANDLERS.get(kind)
    if module_name is None:
        return None
    module = importlib.import_module(module_name)
    handler: Callable[[list[Document], ParseContext], Model] = module.parse_documents
    return handler
