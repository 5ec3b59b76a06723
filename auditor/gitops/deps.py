"""The dependency graph the parsers record in ``Model.reads`` / ``Model.provides``.

A node is a path relative to the repository. ``reads[f]`` holds what ``f``'s results depend on:
paths (present or not), globs (``*``, ``?``, ``[..]`` within a name, ``**`` across folders) and
``@symbols`` that some file ``provides``. A *root* is a node nothing reads (an nginx entry file, a
manifest, a chart, a certificate nobody references); a root's results depend only on its closure.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Mapping

_MAGIC = re.compile(r"[*?\[]")


def is_glob(target: str) -> bool:
    return bool(_MAGIC.search(target))


@functools.lru_cache(maxsize=4096)
def glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                body = "^" + body[1:] if body.startswith("!") else body
                out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


def literal_prefix(pattern: str) -> str:
    match = _MAGIC.search(pattern)
    return pattern if match is None else pattern[: match.start()]


class Graph:
    def __init__(self, reads: Mapping[str, Iterable[str]], provides: Mapping[str, Iterable[str]]) -> None:
        self.reads = {k: set(v) for k, v in reads.items()}
        self.provides = {k: set(v) for k, v in provides.items()}
        self._index()

    def _index(self) -> None:
        self._exact: dict[str, set[str]] = {}
        self._globs: dict[str, set[str]] = {}
        self._symbol_readers: dict[str, set[str]] = {}
        self._providers: dict[str, set[str]] = {}
        magic = _MAGIC.search
        for reader, targets in self.reads.items():
            for target in targets:  # _index_of, inlined: tens of thousands of targets
                index = self._symbol_readers if target[:1] == "@" else self._globs if magic(target) else self._exact
                bucket = index.get(target)
                if bucket is None:
                    index[target] = {reader}
                else:
                    bucket.add(reader)
        for provider, symbols in self.provides.items():
            for symbol in symbols:
                self._providers.setdefault(symbol, set()).add(provider)

    def _index_of(self, target: str) -> dict[str, set[str]]:
        if target.startswith("@"):
            return self._symbol_readers
        return self._globs if is_glob(target) else self._exact

    def copy(self) -> Graph:
        clone = Graph({}, {})
        clone.reads = {k: set(v) for k, v in self.reads.items()}
        clone.provides = {k: set(v) for k, v in self.provides.items()}
        clone._exact = {k: set(v) for k, v in self._exact.items()}
        clone._globs = {k: set(v) for k, v in self._globs.items()}
        clone._symbol_readers = {k: set(v) for k, v in self._symbol_readers.items()}
        clone._providers = {k: set(v) for k, v in self._providers.items()}
        return clone

    def update(
        self, reads: Mapping[str, Iterable[str]], provides: Mapping[str, Iterable[str]], replace: Iterable[str]
    ) -> None:
        """Merge a newer record: files in ``replace`` (changed files) take only the new entries."""
        for file in replace:
            for target in self.reads.pop(file, ()):
                self._index_of(target).get(target, set()).discard(file)
            for symbol in self.provides.pop(file, ()):
                self._providers.get(symbol, set()).discard(file)
        for file, targets in reads.items():
            known = self.reads.setdefault(file, set())
            for target in set(targets) - known:
                known.add(target)
                self._index_of(target).setdefault(target, set()).add(file)
        for file, symbols in provides.items():
            known = self.provides.setdefault(file, set())
            for symbol in set(symbols) - known:
                known.add(symbol)
                self._providers.setdefault(symbol, set()).add(file)

    def readers(self, node: str) -> set[str]:
        found = set(self._exact.get(node, ()))
        if node.startswith("@"):
            return set(self._symbol_readers.get(node, ()))
        for pattern, readers in self._globs.items():
            if glob_regex(pattern).match(node):
                found |= readers
        return found

    def symbol_readers(self, symbols: Iterable[str]) -> set[str]:
        return {r for s in symbols for r in self._symbol_readers.get(s, ())}

    def roots_of(self, nodes: Iterable[str]) -> set[str]:
        """Every root whose closure holds one of ``nodes`` (for a cycle no root reads: its members)."""
        seen: set[str] = set()
        roots: set[str] = set()
        stack = list(nodes)
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            readers = self.readers(node) - {node}
            if not readers:
                roots.add(node)
            stack.extend(readers)
        return roots or seen

    def closure(self, seeds: Iterable[str], paths: SortedPaths) -> set[str]:
        """The seeds and everything they read, transitively, resolved against ``paths``."""
        seen: set[str] = set()
        stack = list(seeds)
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            for target in self.reads.get(node, ()):
                if target.startswith("@"):
                    stack.extend(self._providers.get(target, ()))
                elif is_glob(target):
                    stack.extend(paths.matching(target))
                else:
                    stack.append(target)
        return seen


class SortedPaths:
    """The paths of one revision, for glob and folder look-ups."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.items = sorted(paths)

    def under(self, prefix: str) -> list[str]:
        start = bisect.bisect_left(self.items, prefix)
        end = bisect.bisect_left(self.items, prefix + "\U0010ffff")
        return self.items[start:end]

    def matching(self, pattern: str) -> list[str]:
        regex = glob_regex(pattern)
        return [p for p in self.under(literal_prefix(pattern)) if regex.match(p)]
