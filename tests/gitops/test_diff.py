"""`confaudit diff` on real git repositories built in temporary folders.

The repository comes from tests/gitops/repo (see its README): main holds base/, the feature branch
copies feature/ over it, adding one problem, fixing another and editing lines above a third.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from auditor.cli import main
from auditor.gitops import git
from auditor.gitops.cache import Cache
from auditor.gitops.incremental import ScanOptions, full_scan, obtain
from tests.conftest import NOW, REPO, TESTS
from tests.gitops.gitrepo import FIXTURE, commit, feature_branch, sh
from tests.parsers.test_helm import HELM, needs_helm

SARIF_SCHEMA = TESTS / "data" / "sarif-schema-2.1.0.json"
NOW_ARG = NOW.date().isoformat()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Given a main branch with base/ and a feature branch with feature/ copied over it
    root = feature_branch(tmp_path / "repo")
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def keys(findings: list[dict[str, object]]) -> set[tuple[object, ...]]:
    return {(f["rule_id"], f["file"], f["line"]) for f in findings}


EXPECTED_NEW = {("tls-legacy-protocol", "edge/sites/api.conf", 5)}
EXPECTED_FIXED = {("tls-legacy-protocol", "edge/sites/legacy.conf", 5), ("tls13-disabled", "edge/sites/legacy.conf", 5)}
EXPECTED_UNCHANGED = {
    ("cert-expired", "edge/certs/expired.crt", 1),
    ("cert-san-mismatch", "edge/sites/legacy.conf", 6),
    ("cert-san-mismatch", "edge/sites/shop.conf", 7),  # was line 5: two comment lines were added above
    ("cert-missing", "internal/nginx.conf", 12),
}


def test_working_tree_against_merge_base(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", "--format", "json", "--now", NOW_ARG)
    data = json.loads(out)
    assert keys(data["new"]) == EXPECTED_NEW
    assert keys(data["fixed"]) == EXPECTED_FIXED
    assert {(k[0], k[1], k[2]) for k in keys(data["unchanged"])} >= EXPECTED_UNCHANGED
    assert data["summary"]["new"] == 1 and data["summary"]["fixed"] == 2
    assert data["summary"]["changed_files"] == 3
    assert "merge-base with main" in data["base"] and data["head"] == "working tree"
    # findings have scan's JSON shape
    assert set(data["new"][0]) >= {"rule_id", "severity", "file", "line", "resource", "message", "fix"}
    assert code == 1  # the new finding is high
    assert run(capsys, "diff", "--fail-on", "critical", "--now", NOW_ARG)[0] == 0


def test_commits_and_checkout_untouched(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the feature work committed and one more uncommitted edit
    commit(repo, "feature")
    status_before = sh(repo, "status", "--porcelain")
    (repo / "edge" / "sites" / "api.conf").write_text("# work in progress\n")
    code, out, _ = run(capsys, "diff", "--base", "main", "--head", "feature", "--format", "json", "--now", NOW_ARG)
    data = json.loads(out)
    # Then the commits are compared, not the working tree, and nothing in the checkout moved
    assert keys(data["new"]) == EXPECTED_NEW and keys(data["fixed"]) == EXPECTED_FIXED
    assert code == 1
    assert sh(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "feature"
    assert sh(repo, "worktree", "list").count("\n") == 1
    assert sh(repo, "status", "--porcelain") == status_before + " M edge/sites/api.conf\n"


def test_no_change_means_nothing_new(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sh(repo, "checkout", "-q", "--", ".")
    code, out, _ = run(capsys, "diff", "--format", "json", "--now", NOW_ARG)
    data = json.loads(out)
    assert (data["new"], data["fixed"], code) == ([], [], 0)
    assert len(data["unchanged"]) == 7


def _states(repo: Path, cache: Cache) -> tuple[object, object, object]:
    options = ScanOptions((".",), NOW)
    base = obtain(git.commit_revision(repo, "main"), options, cache)
    head_revision = git.worktree_revision(repo)
    head = obtain(head_revision, options, cache, start=base)
    return base, head, full_scan(head_revision, options)


@pytest.mark.parametrize("change", ["feature", "cert", "new-include", "delete", "new-cert"])
def test_incremental_result_equals_a_full_scan(repo: Path, change: str) -> None:
    # Given one kind of change on top of main
    sh(repo, "checkout", "-q", "--", ".")
    edge = repo / "edge"
    if change == "feature":
        shutil.copytree(FIXTURE / "feature", repo, dirs_exist_ok=True)
    elif change == "cert":  # a certificate only a site references
        shutil.copy(TESTS / "certs" / "wildcard.crt", edge / "certs" / "api.fullchain.crt")
    elif change == "new-include":  # a new file matched by nginx.conf's include glob
        shutil.copy(FIXTURE / "feature" / "edge" / "sites" / "api.conf", edge / "sites" / "zz-new.conf")
    elif change == "delete":
        (edge / "sites" / "legacy.conf").unlink()
    elif change == "new-cert":  # the missing certificate of internal/ appears
        (repo / "internal" / "certs").mkdir()
        shutil.copy(TESTS / "certs" / "expired.crt", repo / "internal" / "certs" / "admin.crt")
        shutil.copy(TESTS / "certs" / "expired.key", repo / "internal" / "certs" / "admin.key")
    # When head is derived from the base state
    _, head, full = _states(repo, Cache(None))
    # Then it holds exactly what a full scan of head finds, having re-parsed only part of the tree
    assert set(head.findings) == set(full.findings)  # type: ignore[attr-defined]
    assert head.rescanned < full.rescanned  # type: ignore[attr-defined]


def test_a_state_of_another_day_rescans_only_the_certificates(repo: Path) -> None:
    # Given main with a certificate that ends on 2026-12-20, scanned on 2026-11-01 (no finding yet)
    sh(repo, "checkout", "-q", "main")
    (repo / "internal" / "certs").mkdir()
    shutil.copy(TESTS / "certs" / "expiring.crt", repo / "internal" / "certs" / "partner.crt")
    commit(repo, "partner certificate")
    revision = git.commit_revision(repo, "main")
    cache = Cache(None)
    earlier = obtain(revision, ScanOptions((".",), dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)), cache)
    assert not [f for f in earlier.findings if f.loc.file == "internal/certs/partner.crt"]
    for day, rule in (
        (dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc), "cert-expiring"),
        (
            dt.datetime(2026, 12, 25, tzinfo=dt.timezone.utc),
            "cert-expired",
        ),
    ):
        # When the same commit is checked on a later day, from the cached state of an earlier one
        options = ScanOptions((".",), day)
        later = obtain(revision, options, cache)
        full = full_scan(revision, options)
        # Then the certificate's finding appears, the result is a full scan's, and only the files
        # holding certificates (and what serves them) were parsed again
        assert rule in {f.rule_id for f in later.findings if f.loc.file == "internal/certs/partner.crt"}
        assert set(later.findings) == set(full.findings)
        assert 0 < later.rescanned < full.rescanned
        assert later.now == day.isoformat()


@needs_helm
@pytest.mark.parametrize("change", ["template", "prod-values", "new-values-file", "application"])
def test_charts_and_the_applications_that_render_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    # Given the GitOps sample on main: a chart that two Argo CD Applications render with their own
    # values files (prod names one that does not exist), an ApplicationSet and Terraform
    root = tmp_path / "gitops"
    shutil.copytree(REPO / "samples" / "gitops", root)
    sh(root, "init", "-q", "-b", "main")
    commit(root, "base")
    monkeypatch.setenv("PATH", f"{Path(str(HELM)).parent}{os.pathsep}{os.environ['PATH']}")
    if change == "template":  # every release of the chart changes: no more preStop hook
        template = root / "charts" / "web" / "templates" / "deployment.yaml"
        text = template.read_text()
        start = text.index("          {{- if .Values.preStopSleepSeconds }}")
        end = text.index("          {{- if .Values.readinessProbe")
        template.write_text(text[:start] + text[end:])
    elif change == "prod-values":  # only web-prod renders these: the shell wrapper goes
        values = root / "envs" / "prod" / "values.yaml"
        wrapper = 'command: ["sh", "-c", "node server.js 2>&1 | tee /var/log/web.log"]'
        values.write_text(values.read_text().replace(wrapper, ""))
    elif change == "new-values-file":  # the file web-prod names, and was missing, appears
        (root / "envs" / "prod" / "secrets.yaml").write_text("readinessProbe:\n  enabled: true\n")
    elif change == "application":  # staging's Application moves to another namespace
        app = root / "apps" / "web-staging.yaml"
        app.write_text(app.read_text().replace("namespace: staging", "namespace: staging-eu"))
    # When head is derived from main's state
    base, head, full = _states(root, Cache(None))
    # Then it is what a full scan finds, re-rendering the chart only for what the change reaches
    assert set(head.findings) == set(full.findings)  # type: ignore[attr-defined]
    assert 0 < head.rescanned < full.rescanned  # type: ignore[attr-defined]
    assert set(base.findings) != set(head.findings)  # type: ignore[attr-defined]


@needs_helm
def test_a_secret_outside_the_applications_rescans_the_releases_that_serve_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two Applications whose Ingresses serve a TLS Secret a plain manifest defines
    root = tmp_path / "deploy"
    shutil.copytree(TESTS / "parsers" / "argocd" / "namespace", root)
    sh(root, "init", "-q", "-b", "main")
    commit(root, "base")
    # When the Secret gets a certificate for other names
    from tests.certs.k8s_secret import manifest

    certs = TESTS / "certs"
    secret = manifest("api-tls", "api", (certs / "grpc.crt").read_bytes(), (certs / "grpc.key").read_bytes())
    (root / "secrets" / "api-tls.yaml").write_text(secret)
    base, head, full = _states(root, Cache(None))
    # Then both releases are rendered again and report the mismatch, as a full scan does
    assert set(head.findings) == set(full.findings)  # type: ignore[attr-defined]
    mismatched = {f.loc.file for f in full.findings if f.rule_id == "cert-san-mismatch"}  # type: ignore[attr-defined]
    assert mismatched == {"charts/api/templates/ingress.yaml", "extras/www.yaml"}
    assert not [f for f in base.findings if f.rule_id == "cert-san-mismatch"]  # type: ignore[attr-defined]


def test_cache_is_reused(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = Cache(tmp_path / "cache" / "confaudit")
    _, first, _ = _states(repo, cache)
    assert first.rescanned > 0  # type: ignore[attr-defined]
    # A second run, in a new process (a new Cache), parses nothing: the base state and the
    # working tree's re-scanned files come from the cache
    monkeypatch.setattr("auditor.gitops.incremental.scan_folder", lambda *args: pytest.fail("parsed again"))
    options = ScanOptions((".",), NOW)
    again = Cache(tmp_path / "cache" / "confaudit")
    base = obtain(git.commit_revision(repo, "main"), options, again)
    second = obtain(git.worktree_revision(repo), options, again, start=base)
    assert base.rescanned == 0
    assert set(first.findings) == set(second.findings)  # type: ignore[attr-defined]


def test_all_formats_in_one_run(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, _ = run(
        capsys,
        "diff",
        "--now",
        NOW_ARG,
        "--link-base",
        "https://github.com/o/r/blob/abc",
        "--format",
        "markdown",
        "--output",
        str(out / "c.md"),
        "--format",
        "sarif",
        "--output",
        str(out / "r.sarif"),
        "--format",
        "junit",
        "--output",
        str(out / "j.xml"),
        "--format",
        "github",
    )
    assert code == 1
    # github: one annotation, for the new finding only
    assert stdout.splitlines() == [line for line in stdout.splitlines() if line.startswith("::error ")]
    assert len(stdout.splitlines()) == 1 and "file=edge/sites/api.conf,line=5," in stdout
    # markdown: counts, a linked row for the new finding, the fixed ones, details
    markdown = (out / "c.md").read_text()
    assert "## confaudit: 1 new finding, 2 fixed" in markdown
    assert "[edge/sites/api.conf:5](https://github.com/o/r/blob/abc/edge/sites/api.conf#L5)" in markdown
    assert "### Fixed findings" in markdown and "<details><summary><code>tls-legacy-protocol</code>" in markdown
    # SARIF: valid against the official schema, head results with their baseline state
    sarif = json.loads((out / "r.sarif").read_text())
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))
    states = {(r["ruleId"], r["baselineState"]) for r in sarif["runs"][0]["results"]}
    assert ("tls-legacy-protocol", "new") in states and ("cert-expired", "unchanged") in states
    assert all("confaudit/v1" in r["partialFingerprints"] for r in sarif["runs"][0]["results"])
    # JUnit: parses back; the new finding is the one failure
    suite = ET.parse(out / "j.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    failures = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failures[0].get("file") == "edge/sites/api.conf" and failures[0].get("line") == "5"


def test_baseline_hides_findings_in_diff(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a baseline written from the feature branch's working tree
    baseline = repo / ".confaudit-baseline.json"
    assert run(capsys, "scan", ".", "--write-baseline", str(baseline), "--now", NOW_ARG)[0] == 0
    code, out, _ = run(capsys, "diff", "--baseline", str(baseline), "--format", "json", "--now", NOW_ARG)
    data = json.loads(out)
    assert data["new"] == [] and code == 0
    assert data["summary"]["baselined"] == 6
    assert {s["suppression"]["kind"] for s in data["suppressed"]} == {"baseline"}


def test_not_a_repository_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "diff")
    assert code == 2 and "confaudit: error: git rev-parse" in err


def test_unknown_ref_is_a_usage_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "diff", "--base", "no-such-branch")
    assert code == 2
    assert err == "confaudit: error: unknown revision 'no-such-branch'\n"


def test_a_shallow_clone_says_to_fetch_history(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given main moved on after the feature branched, and CI's usual clone of depth 1
    commit(repo, "feature")
    sh(repo, "checkout", "-q", "main")
    (repo / "README.md").write_text("main moved on\n")
    commit(repo, "main: readme")
    sh(repo, "checkout", "-q", "feature")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--no-single-branch", f"file://{repo}", str(clone)], check=True
    )
    sh(clone, "remote", "set-head", "origin", "main")
    monkeypatch.chdir(clone)
    # When diff looks for the merge-base with the default branch, the history is not there
    code, _, err = run(capsys, "diff")
    assert code == 2
    assert "origin/main and HEAD have no common ancestor in this clone (this is a shallow clone" in err
    assert "fetch-depth: 0" in err


def test_scope_limits_the_scan(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", "internal", "--format", "json", "--now", NOW_ARG)
    data = json.loads(out)
    assert code == 0 and data["new"] == [] and data["fixed"] == []
    assert {f["file"] for f in data["unchanged"]} == {"internal/nginx.conf"}


def test_now_is_pinned_to_the_day(repo: Path) -> None:
    from auditor.gitops.command import _now

    assert _now(None).time() == dt.time(0, 0)


def test_a_changed_secret_rescans_the_ingress_that_serves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an Ingress and the TLS Secret it names, in separate files, with a covering certificate
    root = tmp_path / "k8s-repo"
    shutil.copytree(TESTS / "rules" / "cert-san-mismatch" / "good_ingress_wildcard", root)
    sh(root, "init", "-q", "-b", "main")
    commit(root, "base")
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # When only the Secret changes, to a certificate that misses one of the Ingress hosts
    secret = next(root.glob("*.secret.yaml"))
    text = secret.read_text()
    start, end = text.index("  tls.crt: |\n"), text.index("  tls.key: |\n")
    leaf = (TESTS / "certs" / "api.fullchain.crt").read_text()
    secret.write_text(
        text[:start] + "  tls.crt: |\n" + "".join(f"    {line}\n" for line in leaf.splitlines()) + text[end:]
    )
    code, out, _ = run(capsys, "diff", "--base", "main", "--format", "json", "--now", NOW_ARG)
    # Then the Ingress is re-scanned through the Secret it depends on, and the mismatch is new
    assert code == 1
    new = keys(json.loads(out)["new"])
    assert {k[0] for k in new} >= {"cert-san-mismatch"}
    assert all(k[1] == "ingress.yaml" for k in new if k[0] == "cert-san-mismatch")


def test_an_added_secret_fixes_the_ingress_that_named_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an Ingress whose TLS Secret is not in the repository on main
    root = tmp_path / "k8s-repo"
    shutil.copytree(TESTS / "rules" / "cert-san-mismatch" / "good_ingress_wildcard", root)
    secret = next(root.glob("*.secret.yaml"))
    kept = secret.read_text()
    secret.unlink()
    sh(root, "init", "-q", "-b", "main")
    commit(root, "base")
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # When the pull request adds the Secret in a file of its own (a file the base state never saw)
    secret.write_text(kept)
    code, out, _ = run(capsys, "diff", "--base", "main", "--format", "json", "--now", NOW_ARG)
    data = json.loads(out)
    # Then the Ingress is re-scanned through the symbol the new file provides: its missing-Secret
    # finding is fixed, not kept from the base state, and the result is what a full scan finds
    assert code == 0
    assert {(f["rule_id"], f["file"]) for f in data["fixed"]} == {("cert-missing", "ingress.yaml")}
    full = full_scan(git.worktree_revision(root), ScanOptions((".",), NOW))
    assert keys(data["unchanged"]) == {(f.rule_id, f.loc.file, f.loc.line) for f in full.findings}


def test_classify_pairs_a_finding_with_itself_before_pairing_by_fingerprint() -> None:
    from auditor.gitops.diff import classify
    from auditor.model import Finding, Location, Severity, Suppression

    def at(line: int) -> Finding:
        return Finding(
            "tls-legacy-protocol", Severity.HIGH, "*:443 accepts TLSv1", Location("sites/api.conf", line), "api", "fix"
        )

    # A copy of a finding added above it: the copy is new, the original stays unchanged
    assert classify([at(5)], [at(3), at(5)], []) == ([at(3)], [], [at(5)])
    # Lines added above a finding move it: still unchanged, by fingerprint
    assert classify([at(5)], [at(8)], []) == ([], [], [at(8)])
    # Gone at head: fixed; suppressed at head: neither fixed nor new
    assert classify([at(5), at(9)], [at(5)], []) == ([], [at(9)], [at(5)])
    reason = Suppression(Location("sites/api.conf", 8), ("tls-legacy-protocol",), "partner needs it", "inline")
    suppressed = dataclasses.replace(at(9), suppression=reason)
    assert classify([at(5), at(9)], [at(5)], [suppressed]) == ([], [], [at(5)])


def test_the_first_commit_has_everything_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a repository with no commit yet and staged files (pre-commit's hook runs `diff --base HEAD`)
    root = tmp_path / "new-repo"
    shutil.copytree(FIXTURE / "base", root)
    sh(root, "init", "-q", "-b", "main")
    sh(root, "add", "-A")
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # Then every finding is new, against an empty base, whether HEAD is named or not
    for argv in (["--base", "HEAD"], []):
        code, out, _ = run(capsys, "diff", *argv, "--format", "json", "--now", NOW_ARG)
        data = json.loads(out)
        assert code == 1
        assert data["base"] == "(no commits yet)"
        assert (len(data["new"]), data["fixed"], data["unchanged"]) == (7, [], [])


def test_a_link_out_of_the_repository_is_not_followed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a pull request that commits a link to a folder of the machine running the check
    outside = tmp_path / "runner"
    outside.mkdir()
    shutil.copy(TESTS / "rules" / "tls-legacy-protocol" / "bad_tls10.conf", outside / "leak.conf")
    root = feature_branch(tmp_path / "repo")
    commit(root, "feature")
    (root / "edge" / "host").symlink_to(outside)
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # When the diff runs, it reads the revision's files only: the link's target is not scanned
    code, out, _ = run(capsys, "diff", "--base", "main", "--format", "json", "--now", NOW_ARG)
    data = json.loads(out)
    everything = data["new"] + data["unchanged"] + data["suppressed"] + data["errors"]
    assert not [f for f in everything if f["file"].startswith("edge/host")]
    assert any(r.getMessage().startswith("edge/host links to ") for r in caplog.records)
    assert (code, {f["file"] for f in data["new"]}) == (1, {"edge/sites/api.conf"})  # the feature's own
