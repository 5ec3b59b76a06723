"""Reporters: ``render(result) -> str`` per output format (and ``render_diff(diff) -> str`` for
``confaudit diff``); they never filter or decide."""

from __future__ import annotations

import functools
import importlib
import json as stdjson  # the submodule auditor.report.json takes the name `json` here
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.api import AuditResult
    from auditor.gitops.result import DiffResult
    from auditor.model import Finding

FORMATS = ("table", "json", "sarif", "markdown", "github", "junit")
_LINKED = {"markdown"}  # formats that take --link-base


def _module(name: str) -> Any:
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r} (expected one of: {', '.join(FORMATS)})")
    return importlib.import_module(f"auditor.report.{name}")


def renderer(name: str, link_base: str | None = None) -> Callable[[AuditResult], str]:
    render: Callable[..., str] = _module(name).render
    return functools.partial(render, link_base=link_base) if name in _LINKED else render


def diff_renderer(name: str, link_base: str | None = None) -> Callable[[DiffResult], str]:
    render: Callable[..., str] = _module(name).render_diff
    return functools.partial(render, link_base=link_base) if name in _LINKED else render


def by_place(findings: Iterable[Finding]) -> list[list[Finding]]:
    """Findings of one rule at one line, together, in first-seen order. One setting inherited by
    many servers (an http-level ``ssl_protocols``, an ingress-nginx ConfigMap) gives a finding per
    server, all pointing at that setting: a PR comment or annotation says it once, naming each."""
    groups: dict[tuple[str, str, int | None], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.rule_id, finding.loc.file, finding.loc.line), []).append(finding)
    return list(groups.values())


def others(group: list[Finding], limit: int = 8) -> str:
    """``"and 5 more: a, b, c, d, e"`` for the resources of a group beyond its first finding."""
    rest = list(dict.fromkeys(f.resource for f in group[1:] if f.resource != group[0].resource))
    if not rest:
        return ""
    shown = ", ".join(rest[:limit]) + (f" and {len(rest) - limit} others" if len(rest) > limit else "")
    return f"and {len(rest)} more: {shown}"


def dumps(value: Any, flat_from: int = 2, level: int = 0) -> str:
    """JSON indented by two spaces for the first ``flat_from`` levels, each deeper value on one line:
    a finding per line. (``json.dumps(indent=2)`` runs the pure-Python encoder, several times slower
    on a report of thousands of findings; one line each also suits grep and diff.)"""
    if level >= flat_from or not isinstance(value, (dict, list)) or not value:
        return stdjson.dumps(value)
    pad = "  " * (level + 1)
    if isinstance(value, dict):
        items = [f"{pad}{stdjson.dumps(str(k))}: {dumps(v, flat_from, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"
    items = [pad + dumps(v, flat_from, level + 1) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + "  " * level + "]"
