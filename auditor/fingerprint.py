"""The one stable identity of a finding, shared by SARIF ``partialFingerprints``, baselines and diff.

A fingerprint is (rule id, file, resource, normalised message) and never the line number, so a
finding keeps its identity when lines are added above it [bandit compares issues without
``lineno``]. The message is normalised so that text which moves by itself does not change the
identity either: ``dir/file:line`` references inside the message keep only the file name (lines
move, and the folder depends on where the scan started), "line N" and "in N days" (a certificate
that expires "in 12 days" today expires "in 11 days" tomorrow).
"""

from __future__ import annotations

import functools
import hashlib
import re

from auditor.model import Finding

# ``sites/api.conf:12`` or ``nginx.conf:3``: a file name with an extension (and folders), then a line.
_FILE_LINE = re.compile(r"(?P<path>[\w.@+/-]+):\d+\b")
_FILE_NAME = re.compile(r"[\w@+-][\w.@+-]*\.[A-Za-z][\w-]*\Z")
_LINE_WORD = re.compile(r"\b(lines?) \d+(?:-\d+)?\b")
_DAYS = re.compile(r"\b(in|within|for) -?\d+ (day|hour)s?\b")
_SPACE = re.compile(r"\s+")


@functools.lru_cache(maxsize=65536)
def normalise_message(message: str) -> str:
    text = _FILE_LINE.sub(_file_line, message) if ":" in message else message
    text = _LINE_WORD.sub(r"\1 N", text)
    text = _DAYS.sub(r"\1 N \2s", text)
    return _SPACE.sub(" ", text).strip()


def _file_line(match: re.Match[str]) -> str:
    name = match.group("path").rsplit("/", 1)[-1]
    return f"{name}:N" if _FILE_NAME.match(name) else match.group(0)


def fingerprint(finding: Finding, file: str | None = None) -> str:
    """32 hex digits. ``file`` replaces the finding's path (re-rooted on a baseline's folder); a
    resource that is the file itself (a certificate file) is replaced with it."""
    resource = finding.resource
    if file is not None and resource == finding.loc.file:
        resource = file
    parts = (
        finding.rule_id,
        file if file is not None else finding.loc.file,
        resource,
        normalise_message(finding.message),
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
