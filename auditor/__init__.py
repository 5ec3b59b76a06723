"""confaudit: find the configuration mistakes that cause outages before they ship.

Public API: ``audit``, ``AuditOptions``, ``AuditResult``, ``Finding``, ``Severity``. They are
imported on first use so that ``confaudit --version`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["AuditOptions", "AuditResult", "Finding", "Severity", "__version__", "audit"]

if TYPE_CHECKING:
    from auditor.api import AuditOptions, AuditResult, audit
    from auditor.model import Finding, Severity


def __getattr__(name: str) -> Any:
    if name in ("audit", "AuditOptions", "AuditResult"):
        from auditor import api

        return getattr(api, name)
    if name in ("Finding", "Severity"):
        from auditor import model

        return getattr(model, name)
    raise AttributeError(name)
