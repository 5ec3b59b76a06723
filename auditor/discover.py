"""Find the files to scan and say what each one is, by name and by content.

Directories are walked with symlinks followed once (a link back into a visited directory is a
loop and is skipped), ``--exclude`` globs and ``.confauditignore`` patterns (gitignore syntax)
prune the walk, and every file is classified without being parsed. A link into the kernel's
pseudo file systems (/proc, /sys) is never followed; with ``contained`` (a revision that
``confaudit diff`` wrote out) no link that leaves the scan root is: it can only point at the
machine running the scan, never at the repository.
"""

from __future__ import annotations

import enum
import functools
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.model import Location, Problem

log = logging.getLogger("confaudit")
# Kernel file systems: endless trees and files that block or change as they are read. (Not /dev:
# its devices are no regular files, /dev/fd leads into /proc, and /dev/shm is where large
# revisions are written for confaudit diff.)
_PSEUDO_FS = ("/proc", "/sys")
MAX_FILE_BYTES = 20 * 1024 * 1024  # config files larger than this are reported, not parsed
_SNIFF_BYTES = 8192
_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".terraform", ".venv", ".tox"}
_NGINX_HINT = re.compile(
    rb"^\s*(?:server|http|events|location|upstream|stream|include|listen|server_name|proxy_pass|"
    rb"ssl_certificate|worker_processes|map|root|grpc_pass|add_header|return)\b[^\n]*[;{]",
    re.MULTILINE,
)


class Kind(enum.Enum):
    NGINX = "nginx"
    CERT = "cert"
    YAML = "yaml"  # Kubernetes, Envoy, Argo CD... decided after loading
    TERRAFORM = "terraform"
    CHART = "chart"  # a Helm chart folder (Chart.yaml)


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path  # absolute
    rel: str  # relative to the scan root, POSIX separators
    kind: Kind


@dataclass(slots=True)
class Discovery:
    root: Path
    files: list[SourceFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    seen: int = 0
    ignore: _IgnoreRules | None = None

    def is_ignored(self, rel: str) -> bool:
        """Is a file (e.g. one a config references) excluded by --exclude or .confauditignore?"""
        return self.ignore is not None and self.ignore.is_ignored(rel, False)

    def of_kind(self, kind: Kind) -> list[SourceFile]:
        return [f for f in self.files if f.kind is kind]


def scan_root(paths: Iterable[Path]) -> Path:
    # abspath, not resolve(): the walk keeps the names the user gave (a symlinked folder stays
    # under its link's name), so the root must be spelled the same way.
    dirs = [p if p.is_dir() else p.parent for p in (Path(os.path.abspath(path)) for path in paths)]
    if not dirs:
        return Path.cwd()
    return Path(os.path.commonpath([str(d) for d in dirs]))


@functools.lru_cache(maxsize=65536)
def relative(path: Path, root: Path) -> str:
    """POSIX path relative to the scan root (``../`` for files a config references outside it)."""
    rel = os.path.relpath(os.path.normpath(path), root)
    return rel.replace(os.sep, "/")


def discover(
    paths: Iterable[Path], excludes: Iterable[str] = (), root: Path | None = None, contained: bool = False
) -> Discovery:
    """``root`` (default: the common directory of ``paths``) is what reported paths are relative to;
    ``contained``: follow no symlink out of it (see the module text)."""
    paths = [Path(p) for p in paths]
    root = Path(os.path.abspath(root)) if root is not None else scan_root(paths)
    result = Discovery(root)
    ignore = result.ignore = _IgnoreRules(root, excludes)
    visited_dirs: set[tuple[int, int]] = set()
    fence = os.path.realpath(root) if contained else None
    for path in paths:
        absolute = Path(os.path.abspath(path))
        if absolute.is_dir():
            _walk(absolute, root, ignore, visited_dirs, result, fence)
        elif absolute.is_file():
            _add_file(absolute, root, result, explicit=True)
        else:
            result.problems.append(
                Problem("parse-error", Location(relative(absolute, root), None), str(path), "path does not exist")
            )
    result.files.sort(key=lambda f: f.rel)
    return result


def _walk(
    top: Path, root: Path, ignore: _IgnoreRules, visited: set[tuple[int, int]], out: Discovery, fence: str | None
) -> None:
    # Each directory goes with its real path (links resolved), so that what lies below a followed
    # link is held to the same limits as the link itself.
    stack = [(top, os.path.realpath(top))]
    while stack:
        directory, real = stack.pop()
        try:
            stat = directory.stat()
        except OSError:
            continue
        identity = (stat.st_dev, stat.st_ino)
        if identity in visited:
            continue  # symlink loop or the same directory reached twice
        visited.add(identity)
        ignore.load_dir(directory)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            out.problems.append(
                Problem(
                    "parse-error",
                    Location(relative(directory, root), None),
                    relative(directory, root),
                    f"cannot read directory: {exc.strerror}",
                )
            )
            continue
        if any(e.name == "Chart.yaml" for e in entries):
            rel = relative(directory, root)
            if not ignore.is_ignored(rel + "/Chart.yaml", False):
                out.files.append(SourceFile(directory, rel, Kind.CHART))
                out.seen += 1
                continue  # templates are scanned through `helm template`, not as raw YAML
        for entry in entries:
            path = Path(entry.path)
            rel = relative(path, root)
            target = _target(entry) if entry.is_symlink() else os.path.join(real, entry.name)
            if target is None or not _may_follow(target, fence, rel):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if is_dir:
                if entry.name in _SKIP_DIRS or ignore.is_ignored(rel, True):
                    continue
                stack.append((path, target))
            elif not ignore.is_ignored(rel, False):
                _add_file(path, root, out, explicit=False)
    return None


def _target(entry: os.DirEntry[str]) -> str | None:
    try:
        return os.path.realpath(entry.path)
    except OSError:  # a link that vanished while it was resolved (a process in /proc)
        return None


def _may_follow(target: str, fence: str | None, rel: str) -> bool:
    if any(_within(target, pseudo) for pseudo in _PSEUDO_FS):
        log.warning("%s is in %s, a kernel file system: not read", rel, target)
        return False
    if fence is not None and not _within(target, fence):
        log.warning("%s links to %s, outside the scanned revision: not read", rel, target)
        return False
    return True


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _add_file(path: Path, root: Path, out: Discovery, explicit: bool) -> None:
    rel = relative(path, root)
    try:
        if not path.is_file():
            return  # dangling symlink, socket, fifo
        size = path.stat().st_size
    except OSError:
        return
    out.seen += 1
    kind = classify_name(path.name)
    if kind is None and (explicit or size <= MAX_FILE_BYTES):
        kind = _classify_content(path)
    if kind is None:
        return
    if size > MAX_FILE_BYTES and kind is not Kind.CERT:
        out.problems.append(
            Problem(
                "parse-error",
                Location(rel, 1),
                rel,
                f"file is {size / 1_048_576:.0f} MiB, over the {MAX_FILE_BYTES // 1_048_576} MiB limit: not parsed",
            )
        )
        return
    out.files.append(SourceFile(path, rel, kind))


def classify_name(name: str) -> Kind | None:
    lower = name.lower()
    if lower.endswith((".yaml", ".yml", ".json")):
        return Kind.YAML
    if lower.endswith(".tf"):
        return Kind.TERRAFORM
    if lower.endswith((".pem", ".crt", ".cer", ".cert", ".key", ".der", ".p7b")):
        return Kind.CERT
    if lower.endswith(".conf") or lower in ("nginx.conf", "mime.types") or lower.endswith(".nginx"):
        return Kind.NGINX
    return None


def _classify_content(path: Path) -> Kind | None:
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return None
    if b"\0" in head:
        return None
    if b"-----BEGIN " in head:
        return Kind.CERT
    if len(_NGINX_HINT.findall(head)) >= 2:
        return Kind.NGINX
    return None


class _IgnoreRules:
    """--exclude globs plus .confauditignore files (gitignore syntax, via pathspec)."""

    def __init__(self, root: Path, excludes: Iterable[str]) -> None:
        import pathspec

        self._pathspec = pathspec
        self._root = root
        self._specs: list[tuple[str, pathspec.PathSpec[Any]]] = []
        patterns = list(excludes)
        if patterns:
            self._specs.append(("", pathspec.PathSpec.from_lines("gitignore", patterns)))

    def load_dir(self, directory: Path) -> None:
        ignore_file = directory / ".confauditignore"
        try:
            if not ignore_file.is_file():
                return
            lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:  # a directory we may list but not look into
            return
        prefix = relative(directory, self._root)
        prefix = "" if prefix == "." else prefix + "/"
        self._specs.append((prefix, self._pathspec.PathSpec.from_lines("gitignore", lines)))

    def is_ignored(self, rel: str, is_dir: bool) -> bool:
        if not is_dir and "/" in rel and self.is_ignored(rel.rsplit("/", 1)[0], True):
            return True  # a file inside an ignored directory
        for prefix, spec in self._specs:
            if prefix and not rel.startswith(prefix):
                continue
            candidate = rel[len(prefix) :]
            if spec.match_file(candidate + "/" if is_dir else candidate):
                return True
        return False
