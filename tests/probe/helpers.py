"""Running the CLI and reading what probe and scan reports say, for the probe tests."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from auditor.cli import main

NOW = "2026-12-01"
# The rules a handshake can answer for protocol versions, ALPN and SAN coverage, and the detail
# of each finding that must be the same whether it came from a config file or a live server.
COMPARED = ("tls-legacy-protocol", "tls13-disabled", "alpn-h2-missing", "alpn-h2-order", "cert-san-mismatch")
_DETAIL = {
    "tls-legacy-protocol": r" accepts (.+?) \(",
    "tls13-disabled": r" offers only (.+?) \(",
    "alpn-h2-missing": r" but offers (.+)$",
    "alpn-h2-order": r" offers ALPN (.+?): ",
    "cert-san-mismatch": r"server name '([^']+)'",
}


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "-f", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def details(report: dict[str, Any]) -> set[tuple[str, str]]:
    """(rule, detail) for the compared rules: versions accepted, ALPN offered, uncovered name."""
    found = set()
    for finding in report["findings"]:
        pattern = _DETAIL.get(finding["rule_id"])
        if pattern is not None:
            match = re.search(pattern, finding["message"])
            assert match, finding["message"]
            found.add((finding["rule_id"], match.group(1)))
    return found


def rules_of(report: dict[str, Any]) -> set[str]:
    return {f["rule_id"] for f in report["findings"]}
