"""Writing a revision out: files the checkout holds unchanged are linked, the rest come from git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from auditor.gitops import git


def sh(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    # Given a commit with three files, of which the working tree then edits one and converts one
    root = tmp_path / "repo"
    (root / "sites").mkdir(parents=True)
    (root / "sites" / "api.conf").write_text("server { listen 443 ssl; }\n")
    (root / "sites" / "web.conf").write_text("server { listen 80; }\n")
    (root / "notes.txt").write_text("one\ntwo\n")
    (root / "current").symlink_to("sites/api.conf")
    sh(root, "init", "-q", "-b", "main")
    sh(root, "add", "-A")
    sh(root, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "base")
    (root / "sites" / "web.conf").write_text("server { listen 8080; }\n")
    # CRLF line ends on checkout: the index still names the LF blob, the file on disk is longer
    (root / ".git" / "info" / "attributes").write_text("*.txt text eol=crlf\n")
    (root / "notes.txt").unlink()
    sh(root, "checkout", "--", "notes.txt")
    assert (root / "notes.txt").read_bytes() == b"one\r\ntwo\r\n"
    return root


def test_unchanged_files_are_linked_and_the_rest_read_from_git(repo: Path, tmp_path: Path) -> None:
    revision = git.commit_revision(repo, "main")
    revision.checkout = git.checkout_listing(repo)
    dest = tmp_path / "out"
    # When the committed revision is written out
    written = revision.materialize(revision.listing, dest)
    # Then every file is there with the commit's content
    assert sorted(written) == ["current", "notes.txt", "sites/api.conf", "sites/web.conf"]
    assert (dest / "sites" / "api.conf").read_text() == "server { listen 443 ssl; }\n"
    assert (dest / "sites" / "web.conf").read_text() == "server { listen 80; }\n"
    assert (dest / "notes.txt").read_bytes() == b"one\ntwo\n"
    assert os.readlink(dest / "current") == "sites/api.conf"
    # The unchanged file shares the checkout's inode; the edited and the converted one do not
    assert (dest / "sites" / "api.conf").stat().st_ino == (repo / "sites" / "api.conf").stat().st_ino
    assert (dest / "sites" / "web.conf").stat().st_ino != (repo / "sites" / "web.conf").stat().st_ino
    assert (dest / "notes.txt").stat().st_ino != (repo / "notes.txt").stat().st_ino
    # And the checkout is as it was
    assert (repo / "sites" / "web.conf").read_text() == "server { listen 8080; }\n"
    assert sh(repo, "status", "--porcelain") == " M sites/web.conf\n"


def test_without_a_checkout_everything_comes_from_git(repo: Path, tmp_path: Path) -> None:
    revision = git.commit_revision(repo, "main")
    revision.materialize(revision.listing, tmp_path / "out")
    assert (tmp_path / "out" / "sites" / "api.conf").stat().st_ino != (repo / "sites" / "api.conf").stat().st_ino
    assert (tmp_path / "out" / "sites" / "api.conf").read_text() == "server { listen 443 ssl; }\n"


def test_bare_repository_has_no_checkout(repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    assert git.checkout_listing(bare) is None


def test_a_link_that_fails_becomes_a_copy(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a temporary folder on another file system (os.link fails with EXDEV there)
    calls: list[str] = []

    def cross_device(source: object, target: object) -> None:
        calls.append(str(source))
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    revision = git.commit_revision(repo, "main")
    revision.checkout = git.checkout_listing(repo)
    # When the revision is written out, the first failed link switches to copies
    revision.materialize(revision.listing, tmp_path / "out")
    assert len(calls) == 1
    assert (tmp_path / "out" / "sites" / "api.conf").read_text() == "server { listen 443 ssl; }\n"
    assert (tmp_path / "out" / "sites" / "web.conf").read_text() == "server { listen 80; }\n"
    # And the working tree, written out as head, is copied the same way
    head = git.worktree_revision(repo)
    head.materialize(head.listing, tmp_path / "head")
    assert (tmp_path / "head" / "sites" / "web.conf").read_text() == "server { listen 8080; }\n"
