"""Reporters: ``render(result) -> str`` per output format (and ``render_diff(diff) -> str`` for
``confaudit diff``); they never filter or decide."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.api import AuditResult
    from auditor.gitops.result import DiffResult

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
