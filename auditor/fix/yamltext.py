"""YAML text with character offsets: where a node is written, and minimal edits there.

PyYAML's pure-Python composer gives every node a start and end mark with a character index into
the text as read (``newline=""``: CRLF counts two characters, as in the file). Edits replace a
scalar where it is written or insert whole lines after the last line of a mapping entry, indented
like the mapping's keys, so comments, quoting, key order and blank lines around them stay as they
are. Every edit is then checked by loading the edited text and comparing it with the intended
change to the loaded data (``verify``): a mark that points somewhere unexpected (an anchor, a
flow collection, a block scalar with trailing blank lines) gives a refused fix, never a broken file.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import yaml

from auditor.fix.edits import Edit, apply, line_end, line_start, newline_of

Node = yaml.Node


class YamlTextError(ValueError):
    pass


def compose(text: str) -> list[Node]:
    """The documents of ``text`` as nodes (the pure-Python loader: its marks count characters)."""
    try:
        return [node for node in yaml.compose_all(text, Loader=yaml.SafeLoader) if node is not None]
    except yaml.YAMLError as exc:
        raise YamlTextError(f"YAML does not load ({type(exc).__name__})") from exc


def load(text: str) -> list[Any]:
    try:
        return [doc for doc in yaml.load_all(text, Loader=yaml.SafeLoader) if doc is not None]
    except yaml.YAMLError as exc:
        raise YamlTextError(f"YAML does not load ({type(exc).__name__})") from exc


def entry(node: Node | None, key: str) -> tuple[Node, Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return key_node, value
    return None


def child(node: Node | None, *path: str | int) -> Node | None:
    for step in path:
        if node is None:
            return None
        if isinstance(step, int):
            node = node.value[step] if isinstance(node, yaml.SequenceNode) and 0 <= step < len(node.value) else None
        else:
            found = entry(node, step)
            node = found[1] if found else None
    return node


def scalar(node: Node | None) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def find_object(documents: list[Node], kind: str, name: str, line: int | None) -> tuple[int, Node] | None:
    """(document index, node) of the object ``kind``/``name`` written around ``line`` (1-based)."""
    found = []
    for index, node in enumerate(documents):
        if scalar(child(node, "kind")) != kind or scalar(child(node, "metadata", "name")) != name:
            continue
        found.append((index, node))
        if line is not None and node.start_mark.line < line <= node.end_mark.line + 1:
            return index, node
    return found[0] if len(found) == 1 else None


def is_block_mapping(node: Node | None) -> bool:
    return isinstance(node, yaml.MappingNode) and not node.flow_style and bool(node.value)


def key_column(mapping: Node) -> int:
    return int(mapping.value[0][0].start_mark.column)


def indent_step(document: Node) -> int:
    """How far this file indents a nested block mapping (2 unless it shows otherwise)."""
    stack = [document]
    while stack:
        node = stack.pop()
        if not is_block_mapping(node):
            if isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
            continue
        for _key, value in node.value:
            if is_block_mapping(value):
                step = key_column(value) - key_column(node)
                if step > 0:
                    return step
            stack.append(value)
    return 2


def entry_end(text: str, value: Node) -> int:
    """Offset of the start of the line after the last line a mapping entry's value is written on."""
    node = value
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    position = int(node.end_mark.index)
    if position > 0 and text[position - 1] == "\n":  # a block scalar ends after its line break(s)
        while position > 0:
            previous = line_start(text, position - 1)
            if text[previous:position].strip():
                break
            position = previous
        return position
    return line_end(text, position)


def block(text: str, column: int, step: int, lines: list[tuple[int, str]]) -> str:
    """Lines (nesting depth, content) indented from ``column`` by ``step`` per level."""
    newline = newline_of(text)
    return "".join(" " * (column + depth * step) + content + newline for depth, content in lines)


def append_entry(text: str, file: str, mapping: Node, step: int, lines: list[tuple[int, str]]) -> Edit:
    """Insert ``lines`` as new entries at the end of a block ``mapping``."""
    last_value = mapping.value[-1][1]
    at = entry_end(text, last_value)
    inserted = block(text, key_column(mapping), step, lines)
    if at == len(text) and text and not text.endswith("\n"):
        inserted = newline_of(text) + inserted
    return Edit(file, at, at, inserted)


def insert_after(text: str, file: str, mapping: Node, key: str, step: int, lines: list[tuple[int, str]]) -> Edit:
    """Insert ``lines`` as entries right after the entry ``key`` of a block ``mapping``."""
    found = entry(mapping, key)
    assert found is not None
    at = entry_end(text, found[1])
    inserted = block(text, key_column(mapping), step, lines)
    if at == len(text) and text and not text.endswith("\n"):
        inserted = newline_of(text) + inserted
    return Edit(file, at, at, inserted)


def replace_scalar(file: str, node: Node, new: str) -> Edit:
    """Replace a plain scalar as written (quoted or block scalars are refused by ``verify``)."""
    return Edit(file, int(node.start_mark.index), int(node.end_mark.index), new)


def plain(value: str) -> str:
    """``value`` as a YAML scalar: plain when it reads back as the same string, else double-quoted."""
    try:
        if value and yaml.safe_load(value) == value and value.strip() == value and ": " not in value:
            return value
    except yaml.YAMLError:
        pass
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def verify(text: str, edits: list[Edit], index: int, change: Callable[[Any], None]) -> str | None:
    """None when ``edits`` turn document ``index`` of ``text`` into what ``change`` makes of its
    data and leave every other document equal; else why not."""
    try:
        before = load(text)
        after = load(apply(text, edits))
    except YamlTextError as exc:
        return f"the edited file would not load: {exc}"
    wanted = copy.deepcopy(before)
    try:
        change(wanted[index])
    except (KeyError, IndexError, TypeError):
        return "the document does not have the expected shape"
    if after != wanted:
        return "the edit would not give the intended YAML (an unusual layout here); change it by hand"
    return None
