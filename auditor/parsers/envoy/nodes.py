"""Walking Envoy configuration data with its line numbers, and the files one Envoy reads.

``Node`` pairs a value with the document and key path it came from, so every model object gets
``Document.at(*path)`` as its location. Envoy reads protobuf JSON, which takes a single object
where a list is expected (``filters: {name: ...}``), so ``Node.list`` does the same.

``Instance`` is one running Envoy: the bootstrap (or xDS file) it starts from, the other files
it reads (LDS/CDS/RDS/SDS via ``path_config_source``, certificates by ``filename``), the
clusters and secrets it knows, and the model the parser fills.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.model import Location, Model, Problem, Upstream
from auditor.parsers.base import ParseContext, is_file, map_absolute, outside, shorten

if TYPE_CHECKING:
    from auditor.parsers.yamlfiles import Document


class Node:
    """A value of an Envoy document and its key path, which gives its line (``Document.line``)."""

    __slots__ = ("_parent", "doc", "path", "value")

    def __init__(self, doc: Document, path: tuple[str | int, ...], value: Any, parent: Node | None = None) -> None:
        self.doc = doc
        self.path = path
        self.value = value
        self._parent = parent

    def __repr__(self) -> str:
        return f"Node({self.doc.file}, {self.path!r})"

    @property
    def loc(self) -> Location:
        return Location(self.doc.file, self.doc.line(*self.path))

    @property
    def file(self) -> str:
        return self.doc.file

    def get(self, key: str) -> Node | None:
        if isinstance(self.value, dict):
            value = self.value.get(key)
            if value is not None:
                return Node(self.doc, (*self.path, key), value, self)
        return None

    def dig(self, *keys: str) -> Node | None:
        node: Node | None = self
        for key in keys:
            node = node.get(key) if node is not None else None
        return node

    def list(self, key: str) -> list[Node]:
        child = self.get(key)
        if child is None:
            return []
        if isinstance(child.value, list):
            return [
                Node(self.doc, (*child.path, i), item, child)
                for i, item in enumerate(child.value)
                if isinstance(item, dict)
            ]
        return [child] if isinstance(child.value, dict) else []

    def strings(self, key: str) -> tuple[str, ...]:
        child = self.get(key)
        if child is None:
            return ()
        values = child.value if isinstance(child.value, list) else [child.value]
        return tuple(str(v) for v in values if isinstance(v, (str, int)))

    def text(self, key: str, default: str = "") -> str:
        value = self.value.get(key) if isinstance(self.value, dict) else None
        return str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else default

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and key in self.value

    @property
    def type_name(self) -> str:
        """The message name of ``@type`` (``typed_config`` style), without the URL prefix."""
        return self.text("@type").rsplit("/", 1)[-1]


def root_node(doc: Document) -> Node:
    return Node(doc, (), doc.data)


def typed(node: Node | None) -> Node | None:
    """The ``typed_config`` of an extension, or the node itself when it carries ``@type``."""
    if node is None:
        return None
    if node.has("@type"):
        return node
    return node.get("typed_config")


def is_type(node: Node | None, *names: str) -> bool:
    return node is not None and node.type_name.rsplit(".", 1)[-1] in names


def config_source_path(source: Node | None) -> Node | None:
    """The file a ConfigSource reads (``path_config_source.path`` or the older ``path``)."""
    if source is None:
        return None
    path = source.dig("path_config_source", "path") or source.get("path")
    return path if path is not None and isinstance(path.value, str) else None


def referenced_paths(node: Node) -> Iterator[Node]:
    """Every ConfigSource file path in a document (LDS, CDS, RDS, SDS...): the
    ``path_config_source.path`` of any ConfigSource, or the older ``path`` of a ``*_config``."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(node.value, node.path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                if not isinstance(child, (dict, list)):
                    continue
                if (
                    isinstance(child, dict)
                    and isinstance(child.get("path"), str)
                    and (key == "path_config_source" or key == "config_source" or str(key).endswith("_config"))
                ):
                    yield Node(node.doc, (*where, key, "path"), child["path"])
                    if key == "path_config_source":
                        continue
                stack.append((child, (*where, key)))
        elif isinstance(value, list):
            stack.extend((child, (*where, i)) for i, child in enumerate(value) if isinstance(child, (dict, list)))


@dataclass(slots=True)
class Files:
    """The Envoy documents of a scan by real path, loading referenced files that were not scanned."""

    ctx: ParseContext
    model: Model
    by_path: dict[str, list[Document]] = field(default_factory=dict)
    loaded: set[str] = field(default_factory=set)

    def add(self, doc: Document) -> None:
        self.by_path.setdefault(self.real(doc), []).append(doc)

    def real(self, doc: Document) -> str:
        return os.path.realpath(self.ctx.root / doc.file)

    def bases(self, doc: Document) -> tuple[Path, ...]:
        # Envoy resolves relative paths from its working directory, which a repository does not
        # record: try the bootstrap's own folder (where `envoy -c envoy.yaml` usually runs, and
        # what the examples' containers mount), then the scan root.
        # (Spelled as walked, not resolved, so findings in files it names stay under the root.)
        return (Path(os.path.normpath(self.ctx.root / doc.file)).parent, self.ctx.root)

    def resolve(self, name: str, doc: Document) -> Path | None:
        """The file a path in ``doc`` names, inside the scanned tree; None when it is not there."""
        path = Path(name)
        bases = self.bases(doc)
        if path.is_absolute():
            mapped = map_absolute(path, bases)
            if mapped is not None and is_file(mapped):
                return mapped
            return self._mounted(path, bases[0])
        for base in bases:
            candidate = base / path
            if is_file(candidate) and not outside(candidate, self.ctx.fence):
                return candidate
        return None

    def _mounted(self, path: Path, base: Path) -> Path | None:
        """``/var/lib/envoy/lds.yaml`` is usually a folder of the repository mounted there (e.g.
        ``./configs``): accept the one scanned Envoy file of that name under the bootstrap's folder."""
        real_base = os.path.realpath(base)
        matches = [p for p in self.by_path if Path(p).name == path.name and Path(p).is_relative_to(real_base)]
        return Path(matches[0]) if len(matches) == 1 else None

    def documents(self, path: Path) -> list[Document]:
        """The documents of a referenced file, loaded (once) when the scan did not include it."""
        key = os.path.realpath(path)
        if key in self.by_path or key in self.loaded:
            return self.by_path.get(key, [])
        self.loaded.add(key)
        from auditor.discover import relative
        from auditor.parsers.yamlfiles import load_text

        rel = relative(Path(os.path.normpath(os.path.abspath(path))), self.ctx.root)
        self.model.files.add(rel)
        try:
            raw = Path(key).read_bytes()
        except OSError as exc:
            self.model.problems.append(
                Problem("parse-error", Location(rel, None), rel, f"cannot read file: {exc.strerror}")
            )
            return []
        docs = load_text(raw, rel, self.model)
        self.by_path[key] = docs
        from auditor.parsers.envoy.types import check_types

        for doc in docs:
            self.model.problems.extend(check_types(doc))
        return docs


@dataclass(slots=True)
class Instance:
    """One Envoy process: what it reads, what it knows by name, and where results go."""

    files: Files
    entry: Document
    model: Model
    clusters: dict[str, Upstream] = field(default_factory=dict)
    secrets: dict[str, Node] = field(default_factory=dict)  # static_resources.secrets by name
    route_configs: dict[str, Node] = field(default_factory=dict)  # RouteConfiguration in the same file

    @property
    def ctx(self) -> ParseContext:
        return self.files.ctx

    @property
    def bases(self) -> tuple[Path, ...]:
        return self.files.bases(self.entry)

    def problem(self, node: Node, message: str, resource: str | None = None) -> None:
        self.model.problems.append(Problem("parse-error", node.loc, resource or node.file, message))

    def resources(self, path_node: Node, kind: str) -> list[Node]:
        """The resources of a file-based xDS file named at ``path_node`` (an LDS/CDS/RDS/SDS path)."""
        name = str(path_node.value)
        target = self.files.resolve(name, path_node.doc)
        if target is None:
            if not Path(name).is_absolute():
                where = " and ".join(self.ctx.rel(b) or "." for b in self.files.bases(path_node.doc))
                self.problem(
                    path_node,
                    f"{kind} file {shorten(name)!r} does not exist (looked in {where}/); "
                    "Envoy refuses a path_config_source path that does not exist",
                )
            return []  # an absolute path outside the tree: provided where Envoy runs
        nodes: list[Node] = []
        for doc in self.files.documents(target):
            nodes.extend(resource_nodes(doc))
        return nodes


def resource_nodes(doc: Document) -> list[Node]:
    """The entries of a file-based xDS document (``resources:``) or a bare list of them."""
    root = root_node(doc)
    if isinstance(doc.data, list):
        return [Node(doc, (i,), item) for i, item in enumerate(doc.data) if isinstance(item, dict)]
    return root.list("resources")
