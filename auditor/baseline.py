"""Baseline files: today's findings, recorded so that only new ones fail a build.

``confaudit scan --write-baseline .confaudit-baseline.json`` writes one; ``--baseline FILE`` then
suppresses (kind ``baseline``) every finding whose fingerprint it lists, as many times as it lists
it. Paths are stored relative to the baseline file's folder, so the same baseline works whether a
scan starts at the repository root or in a sub-folder. The file is sorted JSON meant to be
committed and reviewed: paying debt down shows as removed lines.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from auditor import __version__
from auditor.fingerprint import fingerprint
from auditor.model import Finding

FORMAT_VERSION = 1


class BaselineError(ValueError):
    """The baseline file cannot be used: a usage error (exit 2)."""


@dataclass(frozen=True, slots=True)
class Baseline:
    path: Path
    counts: Counter[str] = field(default_factory=Counter)  # fingerprint -> how many findings

    @property
    def folder(self) -> Path:
        return self.path.resolve().parent

    def key(self, finding: Finding, root: Path) -> str:
        return fingerprint(finding, rebase(finding.loc.file, root, self.folder))


def rebase(file: str, root: Path, folder: Path) -> str:
    """A scan-root-relative path, made relative to ``folder`` (POSIX separators)."""
    return os.path.relpath(os.path.normpath(root.resolve() / file), folder).replace(os.sep, "/")


def load(path: Path) -> Baseline:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"baseline file not found: {path} (create it with --write-baseline)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{path}: not a confaudit baseline: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise BaselineError(f"{path}: not a confaudit baseline (version {FORMAT_VERSION} expected)")
    entries = data.get("findings")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("fingerprint"), str) for e in entries
    ):
        raise BaselineError(f"{path}: 'findings' must be a list of entries with a 'fingerprint'")
    return Baseline(path, Counter(e["fingerprint"] for e in entries))


def write(path: Path, findings: Iterable[Finding], root: Path) -> int:
    """Record ``findings`` (normally every finding not suppressed inline or by config)."""
    folder = path.resolve().parent
    entries = []
    for finding in findings:
        file = rebase(finding.loc.file, root, folder)
        entries.append(
            {
                "fingerprint": fingerprint(finding, file),
                "rule_id": finding.rule_id,
                "file": file,
                "line": finding.loc.line,
                "resource": finding.resource,
                "message": finding.message,
            }
        )
    entries.sort(key=lambda e: (e["file"], e["line"] or 0, e["rule_id"], e["message"]))
    document = {
        "version": FORMAT_VERSION,
        "tool": f"confaudit {__version__}",
        "note": "findings accepted as existing debt; regenerate with confaudit scan --write-baseline",
        "findings": entries,
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return len(entries)
