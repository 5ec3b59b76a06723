"""nginx configuration trees: files, includes and entry points.

Each file is parsed once, on its own, by crossplane (``single=True``, with comments and line
numbers). Includes are then resolved here, the way nginx does it: a relative ``include`` or
``ssl_certificate`` path resolves from the configuration prefix, i.e. the directory of the entry
file, not of the file that holds the directive. Entry points are the nginx files that no other
file includes. ``http`` turns each entry's tree into listeners and routes.
"""

from __future__ import annotations

import functools
import glob
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.discover import SourceFile
from auditor.model import Location, Model, Problem, Suppression, UnknownDirective
from auditor.parsers.base import ParseContext, lookup_paths, map_absolute, outside
from auditor.suppress import parse_comment

# Files nginx packages install next to nginx.conf; a config that includes them relies on the
# package, not on the repository.
SYSTEM_FILES = frozenset(
    {
        "mime.types",
        "fastcgi_params",
        "fastcgi.conf",
        "uwsgi_params",
        "scgi_params",
        "koi-utf",
        "koi-win",
        "win-utf",
        "proxy_params",
        "snippets/fastcgi-php.conf",
        "snippets/snakeoil.conf",
    }
)
# Blocks whose contents are data, not directives (crossplane's strict mode wrongly flags them).
DATA_BLOCKS = frozenset({"types", "map", "geo", "split_clients", "charset_map", "match", "limit_except_data"})


@dataclass(slots=True)
class Node:
    """One directive, with the file it was read from."""

    name: str
    args: list[str]
    line: int
    file: str  # relative to the scan root
    path: Path  # absolute path of that file
    block: list[dict[str, Any]] | None
    chain: tuple[str, ...]  # real paths of the files that include this one, entry first

    @property
    def loc(self) -> Location:
        return Location(self.file, self.line)

    def children(self) -> list[Node]:
        return nodes_of(self.block or [], self.file, self.path, self.chain)


def nodes_of(directives: list[dict[str, Any]], rel: str, path: Path, chain: tuple[str, ...]) -> list[Node]:
    return [
        Node(d["directive"], d.get("args", []), d.get("line", 0), rel, path, d.get("block"), chain)
        for d in directives
        if d["directive"] != "#"
    ]


@dataclass(slots=True)
class NginxFile:
    source: SourceFile
    directives: list[dict[str, Any]]
    includes: list[tuple[str, int]] = field(default_factory=list)  # (pattern, line)
    ok: bool = True


class Tree:
    """All nginx files of one scan, parsed once, and include resolution between them."""

    def __init__(self, files: list[SourceFile], ctx: ParseContext, model: Model) -> None:
        self.ctx = ctx
        self.model = model
        self.files: dict[str, NginxFile] = {}
        self._resolved: dict[tuple[str, Path], list[Path]] = {}
        self._recorded: set[tuple[str, str, Path]] = set()
        for source, outcome in zip(files, parse_files([f.path for f in files]), strict=True):
            parsed = self._parse(source, outcome)
            if parsed is not None:
                self.files[os.path.realpath(source.path)] = parsed

    # -- parsing -------------------------------------------------------------------------------

    def _parse(self, source: SourceFile, outcome: _Outcome) -> NginxFile | None:
        rel = source.rel
        for line, message in outcome.problems:
            self._problem(Location(rel, line), rel, message)
        if outcome.config is None:
            return None
        parsed = NginxFile(source, outcome.config.get("parsed", []), ok=not outcome.config.get("errors"))
        self._index(parsed.directives, parsed, rel)
        return parsed

    def _index(self, directives: list[dict[str, Any]], parsed: NginxFile, rel: str) -> None:
        for d in directives:
            name = d["directive"]
            if name == "#":
                item = parse_comment(d.get("comment", ""), Location(rel, d.get("line")), rel)
                if isinstance(item, Suppression):
                    self.model.suppressions.append(item)
                elif item is not None:
                    self.model.problems.append(item)
                continue
            if name == "include" and d.get("args"):
                parsed.includes.append((d["args"][0], d["line"]))
            if name not in DATA_BLOCKS and d.get("block"):
                self._index(d["block"], parsed, rel)

    def _problem(self, loc: Location, resource: str, message: str) -> None:
        self.model.problems.append(Problem("parse-error", loc, resource, message))

    # -- includes ------------------------------------------------------------------------------

    def resolve(self, pattern: str, prefix: Path) -> list[Path]:
        """Files an include pattern names, resolved from ``prefix`` as nginx would (real paths)."""
        key = (pattern, prefix)
        cached = self._resolved.get(key)
        if cached is None:
            found = (Path(os.path.realpath(p)) for p in self._resolve(pattern, prefix))
            cached = self._resolved[key] = [p for p in found if not outside(p, self.ctx.fence)]
        return cached

    def _resolve(self, pattern: str, prefix: Path) -> list[Path]:
        path = Path(pattern)
        if path.is_absolute():
            bases = [prefix]
            mapped_dir = map_absolute(path.parent, tuple(bases)) if glob.has_magic(pattern) else None
            if mapped_dir is not None:
                full = str(mapped_dir / path.name)
            else:
                mapped = map_absolute(path, tuple(bases))
                if mapped is None:
                    return []  # a system file outside the tree (e.g. /etc/nginx/mime.types)
                full = str(mapped)
        else:
            full = str(prefix / path)
        if glob.has_magic(full):
            return [Path(p) for p in sorted(glob.glob(full))]
        return [Path(full)] if os.path.exists(full) else []

    def entries(self) -> list[NginxFile]:
        """Files no other file includes. Included-by is decided from every ancestor directory,
        since the prefix an include resolves from depends on which entry loads the file."""
        included: set[str] = set()
        root = self.ctx.root
        for key, parsed in self.files.items():
            for pattern, _line in parsed.includes:
                for prefix in _ancestors(parsed.source.path.parent, root):
                    self._record(parsed.source.rel, pattern, prefix)
                    for target in self.resolve(pattern, prefix):
                        real = str(target)
                        if real != key:
                            included.add(real)
        entries = [f for k, f in self.files.items() if k not in included]
        return sorted(entries, key=lambda f: f.source.rel)

    def prefix_for(self, entry: NginxFile) -> Path:
        """The configuration prefix relative paths resolve from.

        For a main configuration (top-level ``http``/``events``) it is the file's directory, as
        for ``nginx -c FILE``. A snippet that is an entry only because its includer is outside the
        tree (``conf.d/app.conf`` included from /etc/nginx/nginx.conf) resolves from the nearest
        ancestor holding an nginx.conf, else the nearest one where its relative includes exist.
        """
        own = entry.source.path.parent
        if any(d["directive"] in ("http", "events", "stream") for d in entry.directives):
            return own
        relative = [pattern for pattern, _ in entry.includes if not Path(pattern).is_absolute()]
        ancestors = list(_ancestors(own, self.ctx.root))
        self.model.depends(entry.source.rel, *(self.ctx.rel(d / "nginx.conf") for d in ancestors))
        for directory in ancestors:
            if (directory / "nginx.conf").is_file() and directory != own:
                return directory
        for directory in ancestors:
            if relative and all(self._resolve(p, directory) or p in SYSTEM_FILES for p in relative):
                return directory
        return own

    def _record(self, rel: str, pattern: str, prefix: Path) -> None:
        """Dependency record (Model.reads): the paths or globs an include may name from ``prefix``."""
        key = (rel, pattern, prefix)
        if key in self._recorded:
            return
        self._recorded.add(key)
        path = Path(pattern)
        candidates = lookup_paths(pattern, prefix) if path.is_absolute() else [prefix / path]
        if path.is_absolute() and glob.has_magic(pattern):
            candidates += [p / path.name for p in lookup_paths(str(path.parent), prefix)]
        self.model.depends(rel, *(self.ctx.rel(c) for c in candidates))

    def expand(self, nodes: list[Node], prefix: Path) -> Iterator[Node]:
        """Yield the nodes of one block with ``include`` replaced by the included files' nodes."""
        for node in nodes:
            if node.name != "include" or not node.args:
                yield node
                continue
            targets = self.resolve(node.args[0], prefix)
            self._record(node.file, node.args[0], prefix)
            if (
                not targets
                and not Path(node.args[0]).is_absolute()
                and not glob.has_magic(node.args[0])
                and node.args[0] not in SYSTEM_FILES
            ):
                self._problem(
                    node.loc,
                    node.file,
                    f"include {node.args[0]!r} does not exist (resolved from {self.ctx.rel(prefix) or '.'}/)",
                )
            for target in targets:
                real = str(target)
                if real in node.chain:
                    self.model.problems.append(
                        Problem(
                            "parse-error",
                            node.loc,
                            node.file,
                            f"include cycle: {node.args[0]!r} includes a file that is already being included",
                        )
                    )
                    continue
                included = self.files.get(real)
                if included is None:
                    continue  # not an nginx file we parsed (binary, too large: already reported)
                top = nodes_of(included.directives, included.source.rel, included.source.path, (*node.chain, real))
                yield from self.expand(top, prefix)


@dataclass(slots=True)
class _Outcome:
    """What parsing one file gave: crossplane's config entry, or problems (line, message)."""

    config: dict[str, Any] | None
    problems: list[tuple[int | None, str]]


PARALLEL_MIN_FILES = 200  # below this, starting worker processes costs more than it saves


def parse_files(paths: list[Path]) -> list[_Outcome]:
    """crossplane-parse each file on its own; on large trees in a process per core (the lexer is
    pure Python and dominates the scan time)."""
    workers = min(os.cpu_count() or 1, 4)
    if len(paths) < PARALLEL_MIN_FILES or workers < 2:
        return [_parse_one(p) for p in paths]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import crossplane  # noqa: F401 - imported before forking so workers inherit it

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        return list(pool.map(_parse_one, paths, chunksize=max(1, len(paths) // (workers * 4))))


def _require_terminator() -> None:
    """Make crossplane report a directive closed by ``}`` instead of ``;``.

    With ``check_args=False`` (needed: its directive table predates nginx 1.25) crossplane's
    analyzer never looks at the terminator, so ``return 301 /x }`` was silently accepted while
    nginx refuses the file with 'unexpected "}"'. No nginx directive may end with ``}``.
    """
    import crossplane.parser
    from crossplane.errors import NgxParserDirectiveError

    original = crossplane.parser.analyze
    if getattr(original, "confaudit_terminator", False):
        return

    def analyze(fname: str, stmt: dict[str, Any], term: str, *args: Any, **kwargs: Any) -> Any:
        if term == "}":
            raise NgxParserDirectiveError(
                f'unexpected "}}": directive "{stmt["directive"]}" is not terminated by ";"', fname, stmt["line"]
            )
        return original(fname, stmt, term, *args, **kwargs)

    analyze.confaudit_terminator = True  # type: ignore[attr-defined]
    crossplane.parser.analyze = analyze


def _parse_one(path: Path) -> _Outcome:
    import crossplane

    _require_terminator()

    try:
        data = path.read_bytes()
    except OSError as exc:
        return _Outcome(None, [(None, f"cannot read file: {exc.strerror}")])
    if b"\0" in data[:65536]:
        return _Outcome(None, [(1, "binary file where an nginx configuration was expected")])
    # Not UTF-8 is fine: nginx takes bytes, and crossplane reads with errors="replace".
    try:
        payload = crossplane.parse(
            str(path), single=True, comments=True, check_ctx=False, check_args=False, catch_errors=True
        )
    except Exception as exc:  # noqa: BLE001 - crossplane bug or OS error: a problem, not a crash
        return _Outcome(None, [(1, f"nginx parser failed: {type(exc).__name__}: {exc}")])
    config: dict[str, Any] = payload["config"][0]
    problems = []
    for error in config.get("errors", []):
        message = str(error.get("error", "syntax error")).replace(f" in {path}:{error.get('line')}", "")
        problems.append((error.get("line"), message))
    return _Outcome(config, problems)


def _ancestors(directory: Path, root: Path) -> list[Path]:
    """``directory`` and its parents up to ``root`` (only ``directory`` when outside root)."""
    return _ancestors_cached(directory, root)


@functools.lru_cache(maxsize=4096)
def _ancestors_cached(directory: Path, root: Path) -> list[Path]:
    chain = [directory]
    text, top = str(directory), str(root)
    if text != top and not text.startswith(top.rstrip("/") + "/"):
        return chain
    while text != top and directory.parent != directory:
        directory = directory.parent
        text = str(directory)
        chain.append(directory)
    return chain


def parse(files: list[SourceFile], ctx: ParseContext) -> Model:
    from auditor.parsers.nginx.directives import hint_for, module_of
    from auditor.parsers.nginx.http import Builder

    model = Model()
    tree = Tree(files, ctx, model)
    for entry in tree.entries():
        prefix = tree.prefix_for(entry)
        top = nodes_of(entry.directives, entry.source.rel, entry.source.path, (os.path.realpath(entry.source.path),))
        Builder(tree, entry.source.rel, prefix, model).build(top)
    # Unknown directives are a property of each file, whatever includes it: check every file once.
    for parsed in tree.files.values():
        _unknown(parsed.directives, parsed.source.rel, model, module_of, hint_for)
    model.files.update(f.source.rel for f in tree.files.values())
    return model


def _unknown(
    directives: list[dict[str, Any]], rel: str, model: Model, module_of: Any, hint_for: Callable[[str], str | None]
) -> None:
    for d in directives:
        name = d["directive"]
        if name == "#":
            continue
        if module_of(name) is None:
            model.unknown_directives.append(
                UnknownDirective(Location(rel, d.get("line")), f"nginx directive {name}", name, hint_for(name))
            )
        if name not in DATA_BLOCKS and d.get("block") and not name.endswith("_by_lua_block"):
            _unknown(d["block"], rel, model, module_of, hint_for)
