"""Text edits: a span of a file's text and what replaces it, applied without touching anything else.

Files are read and written as text with ``newline=""`` so CRLF line ends survive, and an edit
inserts the line end the file already uses. Offsets count characters of that text.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True, order=True)
class Edit:
    file: str  # relative to the scan root, POSIX separators
    start: int  # character offset of the first replaced character
    end: int  # offset after the last replaced character (== start: an insertion)
    text: str  # what replaces text[start:end]


class EditConflict(ValueError):
    pass


def read_text(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def write_text(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def newline_of(text: str) -> str:
    """The line end a file uses (CRLF when its first line ends in one)."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(i + 1 for i, char in enumerate(text) if char == "\n")
    return starts


def line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def line_end(text: str, offset: int) -> int:
    """Offset just after the line end of the line holding ``offset`` (or the end of the text)."""
    found = text.find("\n", offset)
    return len(text) if found < 0 else found + 1


def indentation(text: str, offset: int) -> str:
    start = line_start(text, offset)
    end = start
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[start:end]


def overlaps(a: Edit, b: Edit) -> bool:
    if a.file != b.file:
        return False
    if a.start == a.end or b.start == b.end:  # an insertion conflicts only inside a replaced span
        return a.start < b.end and b.start < a.end and not (a.start == a.end and b.start == b.end)
    return a.start < b.end and b.start < a.end


def apply(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with every edit applied (all edits of one file, none overlapping)."""
    ordered = sorted(set(edits), key=lambda e: (e.start, e.end))
    for first, second in itertools.pairwise(ordered):
        if overlaps(first, second):
            raise EditConflict(f"overlapping edits at characters {first.start}-{first.end} and {second.start}")
    parts: list[str] = []
    position = 0
    for edit in ordered:
        parts.append(text[position : edit.start])
        parts.append(edit.text)
        position = edit.end
    parts.append(text[position:])
    return "".join(parts)


def unified_diff(file: str, before: str, after: str) -> str:
    """One file's part of a ``git apply``/``patch -p1`` compatible unified diff."""
    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    lines = list(difflib.unified_diff(old, new, f"a/{file}", f"b/{file}", n=3))
    out: list[str] = []
    for line in lines:
        if line.endswith("\n"):
            out.append(line)
        else:  # the last line of a file without a final line end
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def changed_lines(before: str, after: str) -> list[tuple[int, int, list[str]]]:
    """(first line, last line, replacement lines) of each changed range, 1-based, in ``before``:
    what a GitHub suggested change replaces. A pure insertion is given as a change of the line
    before it (suggestions replace lines, they cannot insert between them)."""
    old = before.splitlines()
    new = after.splitlines()
    ranges: list[tuple[int, int, list[str]]] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i1 == i2:  # insertion after line i1 (1-based i1): suggest it with that line kept
            anchor = max(i1 - 1, 0)
            if i1 == 0:
                ranges.append((1, 1, [*new[j1:j2], *old[:1]]))
            else:
                ranges.append((anchor + 1, anchor + 1, [old[anchor], *new[j1:j2]]))
        else:
            ranges.append((i1 + 1, i2, list(new[j1:j2])))
    return ranges


def line_column(text: str, offset: int, starts: Sequence[int] | None = None) -> tuple[int, int]:
    """1-based (line, column) of ``offset``."""
    starts = starts if starts is not None else line_starts(text)
    import bisect

    index = bisect.bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index] + 1
