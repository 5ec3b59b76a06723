"""What ``confaudit diff`` hands to reporters."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from auditor.engine import InternalError
from auditor.model import Finding


@dataclass(frozen=True, slots=True)
class DiffResult:
    root: Path  # the repository (reported paths are relative to it)
    base: str  # "3f2a9c1 (merge-base with origin/main)"
    head: str  # "working tree" or a commit
    new: tuple[Finding, ...]
    fixed: tuple[Finding, ...]  # as they were at the base revision
    unchanged: tuple[Finding, ...]  # as they are at head
    suppressed: tuple[Finding, ...] = ()  # head findings suppressed inline, by config or the baseline
    errors: tuple[Finding, ...] = ()  # parser problems among the new and unchanged findings
    internal_errors: tuple[InternalError, ...] = ()
    files: int = 0  # files scanned at head
    changed: tuple[str, ...] = ()  # paths that differ between base and head
    rescanned: int = 0  # files parsed again at head (the rest came from the cache or the base)
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def baselined(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.suppressed if f.suppression is not None and f.suppression.kind == "baseline")
