"""Reporters: ``render(result) -> str`` per output format; they never filter or decide."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.api import AuditResult

FORMATS = ("table", "json", "sarif")


def renderer(name: str) -> Callable[[AuditResult], str]:
    if name == "table":
        from auditor.report import table

        return table.render
    if name == "json":
        from auditor.report import json

        return json.render
    if name == "sarif":
        from auditor.report import sarif

        return sarif.render
    raise ValueError(f"unknown format {name!r} (expected one of: {', '.join(FORMATS)})")
