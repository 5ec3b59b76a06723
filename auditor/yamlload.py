"""YAML loading with libyaml when available, guarded against alias bombs.

``compose_all`` keeps node marks (line numbers); ``nodes_to_python`` turns nodes into plain data
while counting the nodes it visits, so a billion-laughs document that expands a few aliases into
millions of nodes is refused instead of eating memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML was built with it

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
