"""YAML loading with libyaml when available, guarded against alias bombs.

``compose_all`` keeps node marks (line numbers); ``nodes_to_python`` turns nodes into plain data
while counting the nodes it visits, so a billion-laughs document that expands a few aliases into
millions of nodes is refused instead of eating memory. ``nodes_to_python_with_lines`` also returns
a ``LineTree``: the line of every value, shaped like the data. It lets callers drop the node tree
at once (PyYAML nodes and their marks cost several times the data, and keeping them for a large
tree makes the garbage collector rescan them over and over) and it pickles cheaply, so documents
loaded in a worker process can be sent back.

libyaml itself refuses documents nested deeper than 1000 levels ("exceeded maximum nesting
depth"), and composing an alias only links the anchored node: neither the composer nor an alias
bomb can blow up before the conversion, which counts every node it produces.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

Loader: type[yaml.SafeLoader]
try:
    Loader = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    Loader = yaml.SafeLoader

YAMLError = yaml.YAMLError
MAX_NODES = 2_000_000
MAX_DEPTH = 200


class YamlTooLarge(ValueError):
    """A document expands to more nodes than ``MAX_NODES`` or nests deeper than ``MAX_DEPTH``."""


def safe_load(text: str) -> Any:
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a safe loader


def compose_all(text: str) -> Iterator[yaml.Node | None]:
    return yaml.compose_all(text, Loader=Loader)


def nodes_to_python(node: yaml.Node, budget: list[int] | None = None) -> Any:
    """Convert a composed node to Python data (like SafeLoader would), with a size budget."""
    if budget is None:
        budget = [MAX_NODES]
    return _convert(node, budget, 0)


_BOOL = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag
    value = node.value
    if tag == "tag:yaml.org,2002:str":
        return value
    if tag == "tag:yaml.org,2002:int":
        text = value.replace("_", "")
        try:
            if text.startswith(("0x", "-0x", "+0x")):
                return int(text, 16)
            if text.startswith("0o"):
                return int(text[2:], 8)
            return int(text)
        except ValueError:
            return value
    if tag == "tag:yaml.org,2002:bool":
        return _BOOL.get(value.lower(), value)
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:float":
        try:
            return float(value.replace("_", ""))
        except ValueError:
            return value
    return value


# The lines of a converted document, shaped like its data: an ``int`` for a scalar,
# ``(line, {key: LineTree})`` for a mapping, ``(line, [LineTree, ...])`` for a sequence. The line of
# a mapping entry is its key's line (where ``spec:`` is written, not the first line inside it); a
# sequence item's is its own. Lines are 0-based, as in libyaml marks.
LineTree = Any


def nodes_to_python_with_lines(node: yaml.Node, budget: list[int] | None = None) -> tuple[Any, LineTree]:
    """Like ``nodes_to_python``, plus the ``LineTree`` of the result (same budget and depth limits)."""
    if budget is None:
        budget = [MAX_NODES]
    return _convert_lines(node, budget, 0)


def _convert_lines(node: yaml.Node, budget: list[int], depth: int) -> tuple[Any, LineTree]:
    budget[0] -= 1
    if budget[0] < 0:
        raise YamlTooLarge(f"document expands to more than {MAX_NODES:,} nodes (alias bomb?)")
    if depth > MAX_DEPTH:
        raise YamlTooLarge(f"document nests deeper than {MAX_DEPTH} levels")
    line = node.start_mark.line
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node), line
    if isinstance(node, yaml.SequenceNode):
        items, item_lines = [], []
        for item in node.value:
            value, lines = _convert_lines(item, budget, depth + 1)
            items.append(value)
            item_lines.append(lines)
        return items, (line, item_lines)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        key_lines: dict[Any, LineTree] = {}
        merges = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merges.append(_convert_lines(value_node, budget, depth + 1))
                continue
            key, _ = _convert_lines(key_node, budget, depth + 1)
            if isinstance(key, (list, dict)):
                key = str(key)
            result[key], value_lines = _convert_lines(value_node, budget, depth + 1)
            key_line = key_node.start_mark.line
            key_lines[key] = key_line if isinstance(value_lines, int) else (key_line, value_lines[1])
        for merged, merged_lines in merges:  # explicit keys win over merged ones (YAML 1.1 merge)
            pairs = zip(merged, merged_lines[1], strict=False) if isinstance(merged, list) else [(merged, merged_lines)]
            for item, item_lines in pairs:
                if isinstance(item, dict) and isinstance(item_lines, tuple):
                    for k, v in item.items():
                        if k not in result:
                            result[k], key_lines[k] = v, item_lines[1].get(k, item_lines[0])
        return result, (line, key_lines)
    return None, line


def _convert(node: yaml.Node, budget: list[int], depth: int) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise YamlTooLarge(f"document expands to more than {MAX_NODES:,} nodes (alias bomb?)")
    if depth > MAX_DEPTH:
        raise YamlTooLarge(f"document nests deeper than {MAX_DEPTH} levels")
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, budget, depth + 1) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged = _convert(value_node, budget, depth + 1)
                for item in merged if isinstance(merged, list) else [merged]:
                    if isinstance(item, dict):
                        for k, v in item.items():
                            result.setdefault(k, v)
                continue
            key = _convert(key_node, budget, depth + 1)
            if isinstance(key, (list, dict)):
                key = str(key)
            result[key] = _convert(value_node, budget, depth + 1)
        return result
    return None
