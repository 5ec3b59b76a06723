"""One parametrized runner over tests/rules/<rule-id>/{bad,good}_*, plus catalogue checks.

A bad fixture marks each line that must fire with ``# expect: <rule-id>``; files without comments
(PEM, JSON) list theirs in ``expect.yaml`` inside the fixture folder. The runner compares the exact
set of (rule, file, line). A good fixture must not trigger its folder's rule. Fixtures are real
configs: every nginx fixture is also checked with the real ``nginx -t``, which must accept it
unless the fixture expects a finding nginx itself refuses (parse errors, unknown directives,
missing files, mismatched keys).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from auditor.api import AuditOptions, audit
from auditor.policies import REGISTRY
from tests.conftest import NOW, REPO, TESTS, nginx_test

RULES_DIR = TESTS / "rules"
EXPECT = re.compile(r"#\s*expect:\s*([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)")
NGINX_REFUSES = {"parse-error", "unknown-directive", "cert-missing", "cert-key-mismatch", "cert-key-encrypted"}
CONTRACT_IDS = {
    "tls-legacy-protocol",
    "tls13-disabled",
    "tls-weak-cipher",
    "alpn-h2-missing",
    "alpn-h2-order",
    "grpc-upstream-h1",
    "cert-san-mismatch",
    "cert-no-san",
    "cert-expired",
    "cert-expiring",
    "cert-chain-incomplete",
    "cert-key-mismatch",
    "cert-weak-key",
    "cert-missing",
    "forwarded-prefix-missing",
    "forwarded-prefix-mismatch",
    "cors-wildcard-credentials",
    "unknown-directive",
    "parse-error",
}


def fixtures() -> list[tuple[str, Path]]:
    found = []
    for folder in sorted(p for p in RULES_DIR.iterdir() if p.is_dir()):
        for item in sorted(folder.iterdir()):
            if item.name.startswith(("bad_", "good_")):
                found.append((folder.name, item))
    return found


def _id(value: object) -> str:
    return value.relative_to(RULES_DIR).as_posix() if isinstance(value, Path) else str(value)


def expected(fixture: Path) -> set[tuple[str, str, int]]:
    base = fixture if fixture.is_dir() else fixture.parent
    files = sorted(p for p in fixture.rglob("*") if p.is_file()) if fixture.is_dir() else [fixture]
    marks: set[tuple[str, str, int]] = set()
    for path in files:
        if path.name == "expect.yaml":
            for entry in yaml.safe_load(path.read_text()) or []:
                marks.add((entry["rule"], entry["file"], int(entry["line"])))
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        rel = path.relative_to(base).as_posix()
        for number, line in enumerate(text.splitlines(), start=1):
            match = EXPECT.search(line)
            if match:
                for rule_id in re.split(r"\s*,\s*", match.group(1)):
                    marks.add((rule_id, rel, number))
    return marks


def scan(fixture: Path) -> list[tuple[str, str, int]]:
    result = audit([fixture], AuditOptions(now=NOW, strict=True))
    assert not result.internal_errors
    return [(f.rule_id, f.loc.file, f.loc.line or 0) for f in result.active]


@pytest.mark.parametrize(("rule_id", "fixture"), fixtures(), ids=_id)
def test_fixture(rule_id: str, fixture: Path) -> None:
    found = scan(fixture)
    if fixture.name.startswith("bad_"):
        want = expected(fixture)
        assert any(r == rule_id for r, _, _ in want), f"{fixture} has no '# expect: {rule_id}' mark"
        checked = {r for r, _, _ in want} | {rule_id}
        assert {f for f in found if f[0] in checked} == want
    else:
        assert [f for f in found if f[0] == rule_id] == []


def _nginx_entry(fixture: Path) -> Path | None:
    if fixture.is_dir():
        conf = fixture / "nginx.conf"
        return conf if conf.exists() else None
    return fixture if fixture.suffix == ".conf" else None


@pytest.mark.parametrize(("rule_id", "fixture"), [f for f in fixtures() if _nginx_entry(f[1])], ids=_id)
def test_nginx_agrees(rule_id: str, fixture: Path, tmp_path: Path) -> None:
    conf = _nginx_entry(fixture)
    assert conf is not None
    run = nginx_test(conf, tmp_path)
    refused = {r for r, _, _ in expected(fixture)} & NGINX_REFUSES if fixture.name.startswith("bad_") else set()
    if not refused:
        assert run.returncode == 0, run.stderr
        return
    assert run.returncode != 0, f"nginx accepted a fixture we expect it to refuse: {run.stderr}"
    if "unknown-directive" in refused:
        # Our finding and nginx's own error name the same directive at the same file and line.
        ours = [
            f for f in audit([fixture], AuditOptions(now=NOW, strict=True)).active if f.rule_id == "unknown-directive"
        ]
        match = re.search(r'unknown directive "([^"]+)" in (\S+):(\d+)', run.stderr)
        assert match, run.stderr
        name, file, line = match.group(1), Path(match.group(2)), int(match.group(3))
        base = fixture if fixture.is_dir() else fixture.parent
        assert any(f"'{name}'" in f.message and f.loc.line == line and base / f.loc.file == file for f in ours)


def test_catalogue_has_contract_ids() -> None:
    assert CONTRACT_IDS <= set(REGISTRY.rules)


@pytest.mark.parametrize("rule", list(REGISTRY), ids=lambda r: r.id)
def test_rule_metadata(rule: object) -> None:
    from auditor.policies import Rule

    assert isinstance(rule, Rule)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.id)
    assert rule.title and rule.rationale and rule.fix
    assert rule.fix.endswith("."), rule.id
    assert not rule.title.endswith(".")


# Families whose findings only a live endpoint can produce: tested against real servers in
# tests/probe/ (refused, silent, plain-HTTP and disagreeing endpoints), not with static fixtures.
LIVE_ONLY_FAMILIES = {"probe"}


@pytest.mark.parametrize("rule", [r for r in REGISTRY if r.family not in LIVE_ONLY_FAMILIES], ids=lambda r: r.id)
def test_rule_has_fixtures(rule: object) -> None:
    from auditor.policies import Rule

    assert isinstance(rule, Rule)
    folder = RULES_DIR / rule.id
    names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    assert any(n.startswith("bad_") for n in names), f"{rule.id}: no bad_ fixture"
    assert any(n.startswith("good_") for n in names), f"{rule.id}: no good_ fixture"


def test_fixture_folders_name_rules() -> None:
    for folder in RULES_DIR.iterdir():
        if folder.is_dir():
            assert folder.name in REGISTRY, f"tests/rules/{folder.name} names no rule"


def test_rule_docs_current() -> None:
    from auditor.ruledocs import render

    docs = REPO / "docs" / "rules.md"
    assert docs.read_text(encoding="utf-8") == render("markdown"), (
        "docs/rules.md is stale: run `confaudit rules --format markdown --output docs/rules.md`"
    )
