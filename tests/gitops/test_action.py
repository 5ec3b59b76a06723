"""The GitHub Action's diff step (action.yml), run as the real bash script it is, on a real repository.

Only the step that runs confaudit is executed: the others call GitHub's API (comment, SARIF
upload) and cannot run here. The environment is what a pull_request event gives the step.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import TESTS
from tests.gitops.gitrepo import FIXTURE, commit, feature_branch, sh

ROOT = TESTS.parent


def diff_step() -> str:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "diff")
    assert step["shell"] == "bash"
    return str(step["run"])


@pytest.fixture
def pull_request(tmp_path: Path) -> tuple[Path, str, str]:
    # Given a feature branch off main (one problem added, one fixed), and main moved on since
    # with a problem of its own that the pull request has nothing to do with
    repo = feature_branch(tmp_path / "repo")
    head = commit(repo, "feature")
    sh(repo, "checkout", "-q", "main")
    shutil.copy(FIXTURE / "feature" / "edge" / "sites" / "api.conf", repo / "edge" / "sites" / "partner.conf")
    base = commit(repo, "main: a partner site")
    sh(repo, "checkout", "-q", head)  # actions/checkout of the pull request's head
    return repo, base, head


def test_the_action_reports_what_the_pull_request_adds(pull_request: tuple[Path, str, str], tmp_path: Path) -> None:
    repo, base, head = pull_request
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "confaudit").is_file(), "confaudit must be installed in the test environment"
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    env = dict(
        os.environ,
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        BASE_SHA=base,
        HEAD_SHA=head,
        LINK_BASE=f"https://github.com/acme/infra/blob/{head}",
        FAIL_ON="high",
        BASELINE="",
        PATHS="",
        RUNNER_TEMP=str(runner_temp),
        GITHUB_OUTPUT=str(tmp_path / "output"),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
    )
    # When the step runs as GitHub runs it (bash -e, from the repository)
    done = subprocess.run(
        ["bash", "-e", "-c", diff_step()], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    # Then it exits 1 for the high finding the feature adds, and says so in its output
    assert (tmp_path / "output").read_text() == "exit-code=1\n"
    annotations = [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert any("file=edge/sites/api.conf" in line for line in annotations)
    # What main gained since the branch point is neither new nor fixed by the pull request
    comment = (runner_temp / "confaudit.md").read_text()
    assert "partner.conf" not in comment and "partner.conf" not in done.stdout
    assert "edge/sites/legacy.conf" in comment  # the fix
    assert f"https://github.com/acme/infra/blob/{head}/edge/sites/api.conf#L" in comment
    assert (tmp_path / "summary.md").read_text() == comment
    sarif = json.loads((runner_temp / "confaudit.sarif").read_text())
    results = sarif["runs"][0]["results"]
    assert {r["baselineState"] for r in results} >= {"new"}
    assert not any("partner.conf" in json.dumps(r) for r in results)
