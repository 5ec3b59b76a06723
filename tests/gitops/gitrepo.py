"""Real git repositories for the gitops tests, built from tests/gitops/repo (see its README)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import TESTS

FIXTURE = TESTS / "gitops" / "repo"


def sh(repo: Path, *args: str) -> str:
    """git's standard output, as it printed it."""
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def commit(repo: Path, message: str) -> str:
    """Commit everything in the working tree; returns the new commit."""
    sh(repo, "add", "-A")
    sh(repo, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", message)
    return sh(repo, "rev-parse", "HEAD").strip()


def feature_branch(root: Path) -> Path:
    """main holds base/; the branch feature, checked out, has feature/ copied over it, uncommitted."""
    shutil.copytree(FIXTURE / "base", root)
    sh(root, "init", "-q", "-b", "main")
    commit(root, "base")
    sh(root, "checkout", "-q", "-b", "feature")
    shutil.copytree(FIXTURE / "feature", root, dirs_exist_ok=True)
    return root
