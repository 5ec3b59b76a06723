"""Writing a revision out: where its files go, what they hold, and that the checkout stays as it was."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.gitops import git
from tests.gitops.gitrepo import commit, sh


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    # Given a commit of 300 site files and a symlink, then a working tree that edits one site
    root = tmp_path / "repo"
    (root / "sites").mkdir(parents=True)
    for index in range(300):
        (root / "sites" / f"site-{index:03}.conf").write_text(f"server {{ listen {8000 + index}; }}\n")
    (root / "current").symlink_to("sites/site-000.conf")
    sh(root, "init", "-q", "-b", "main")
    commit(root, "base")
    (root / "sites" / "site-001.conf").write_text("server { listen 443 ssl; }\n")
    return root


def test_a_commit_is_written_from_git_and_the_checkout_is_left_alone(repo: Path, tmp_path: Path) -> None:
    revision = git.commit_revision(repo, "main")
    dest = tmp_path / "out"
    written = revision.materialize(revision.listing, dest)
    assert len(written) == 301
    assert (dest / "sites" / "site-001.conf").read_text() == "server { listen 8001; }\n"
    assert os.readlink(dest / "current") == "sites/site-000.conf"
    # Not even stat data changes: git still trusts its index for every file it did not see edited
    assert sh(repo, "diff-files", "--name-only") == "sites/site-001.conf\n"


def test_sizes_of_a_commit_and_of_the_working_tree(repo: Path) -> None:
    paths = ["sites/site-001.conf", "sites/site-002.conf", "missing.conf"]
    assert git.commit_revision(repo, "main").size(paths) == 2 * len("server { listen 8001; }\n")
    worktree = git.worktree_revision(repo)
    assert worktree.size(paths) == len("server { listen 443 ssl; }\n") + len("server { listen 8002; }\n")


@pytest.mark.skipif(not os.access(git.SHM, os.W_OK), reason="no writable /dev/shm on this machine")
def test_a_large_revision_is_written_to_memory_unless_tmpdir_says_otherwise(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    revision = git.commit_revision(repo, "main")
    monkeypatch.delenv("TMPDIR", raising=False)
    with git.scratch_folder(revision, revision.listing) as folder:
        assert Path(folder).parent == git.SHM
        revision.materialize(revision.listing, Path(folder))
        assert (Path(folder) / "sites" / "site-299.conf").is_file()
    assert not Path(folder).exists()
    # A handful of files stay in the ordinary temporary folder
    with git.scratch_folder(revision, ["sites/site-001.conf"]) as folder:
        assert Path(folder).parent != git.SHM
    # And TMPDIR, when set, is where everything goes
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    with git.scratch_folder(revision, revision.listing) as folder:
        assert Path(folder).parent == tmp_path


def test_no_room_in_memory_means_the_temporary_folder(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    revision = git.commit_revision(repo, "main")
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(git, "SHM_SHARE", 0.0)
    with git.scratch_folder(revision, revision.listing) as folder:
        assert Path(folder).parent != git.SHM


def test_sigterm_removes_the_written_revision(tmp_path: Path) -> None:
    # Given a repository large enough that its scan takes a while, and a diff running on it
    import signal
    import sys
    import time

    root = tmp_path / "big"
    (root / "k8s").mkdir(parents=True)
    fixture = Path(__file__).parents[1] / "rules" / "pdb-missing" / "bad_namespace_without_budget" / "orders.yaml"
    manifest = fixture.read_text()
    for index in range(1500):
        (root / "k8s" / f"app-{index:04}.yaml").write_text(manifest.replace("orders", f"orders-{index}"))
    sh(root, "init", "-q", "-b", "main")
    commit(root, "base")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch), XDG_CACHE_HOME=str(tmp_path / "cache"))
    process = subprocess.Popen(
        [sys.executable, "-m", "auditor", "diff", "--base", "main", "-f", "json"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # When the CI job is cancelled while the base revision is being scanned
    deadline = time.monotonic() + 60
    while not any(scratch.glob("confaudit-*/k8s/app-1499.yaml")) and time.monotonic() < deadline:
        assert process.poll() is None, "the diff ended before its files were seen"
        time.sleep(0.005)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    # Then it exits with 128 + SIGTERM, without a traceback, and its temporary files are gone
    assert process.returncode == 128 + signal.SIGTERM
    assert b"Traceback" not in stderr
    assert list(scratch.iterdir()) == []


@pytest.mark.skipif(not os.access(git.SHM, os.W_OK), reason="no writable /dev/shm on this machine")
def test_memory_running_out_while_writing_falls_back_to_the_temporary_folder(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given /dev/shm filling up (another process) while the revision is written there
    monkeypatch.delenv("TMPDIR", raising=False)
    write = git.Revision.materialize
    tried: list[Path] = []

    def full_in_memory(self: git.Revision, paths: object, dest: Path) -> list[str]:
        if dest.parent == git.SHM:
            tried.append(dest)
            raise OSError(28, "No space left on device")
        return write(self, paths, dest)  # type: ignore[arg-type]

    monkeypatch.setattr(git.Revision, "materialize", full_in_memory)
    revision = git.commit_revision(repo, "main")
    # Then the files are written to the ordinary temporary folder instead, and removed after
    with git.written(revision, revision.listing) as folder:
        assert folder.parent != git.SHM
        assert (folder / "sites" / "site-001.conf").read_text() == "server { listen 8001; }\n"
    assert not folder.exists()
    assert len(tried) == 1 and not tried[0].exists()


def test_a_revision_that_cannot_be_written_is_an_error(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(self: git.Revision, paths: object, dest: Path) -> list[str]:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(git.Revision, "materialize", disk_full)
    monkeypatch.setenv("TMPDIR", "/tmp")
    revision = git.commit_revision(repo, "main")
    with pytest.raises(git.GitError, match=r"cannot write .* No space left on device"):
        with git.written(revision, revision.listing):
            pass


def test_a_written_revision_reads_nothing_its_configs_name_outside_it(tmp_path: Path) -> None:
    # Given files of the machine running the check, and a revision whose nginx config reaches
    # them through ../ (an include and a certificate)
    from auditor.api import AuditOptions, audit
    from auditor.gitops.incremental import ScanOptions, scan_folder
    from tests.conftest import NOW, TESTS

    host = tmp_path / "host"
    host.mkdir()
    shutil.copy(TESTS / "certs" / "expired.crt", host / "server.crt")
    (host / "extra.conf").write_text(
        f"server {{ listen 8443 ssl; server_name host.example.com; ssl_certificate {host}/server.crt;"
        f" ssl_certificate_key {host}/server.key; ssl_protocols TLSv1 TLSv1.2; }}\n"
    )
    escape = "../" * 30 + str(host).lstrip("/")
    revision = tmp_path / "revision"
    revision.mkdir()
    (revision / "nginx.conf").write_text(
        "events {}\nhttp {\n    include "
        + escape
        + "/*.conf;\n    server {\n        listen 443 ssl;\n        server_name api.example.com;\n"
        + f"        ssl_certificate {escape}/server.crt;\n        ssl_certificate_key {escape}/server.key;\n"
        + "    }\n}\n"
    )
    # When it is scanned as confaudit diff scans a revision, and as scan would
    contained = scan_folder(revision, ScanOptions((".",), NOW)).findings
    free = audit([revision], AuditOptions(now=NOW)).findings
    # Then only the contained scan leaves the host's certificate alone (the include's files are
    # not read either way: nginx files come from the tree's own walk)
    assert ("cert-expired", "../host/server.crt") in {(f.rule_id, f.loc.file) for f in free}
    assert not [f for f in contained if f.loc.file.startswith("..") or "server.crt" in f.message]
    assert not [f for f in free + contained if f.rule_id == "tls-legacy-protocol"]


@pytest.mark.skipif(not os.access(git.SHM, os.W_OK), reason="no writable /dev/shm on this machine")
def test_a_revision_written_to_memory_is_scanned_whole(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a revision large enough to go to /dev/shm
    from auditor.gitops.incremental import ScanOptions, scan_folder
    from tests.conftest import NOW

    revision = git.commit_revision(repo, "main")
    options = ScanOptions((".",), NOW)
    monkeypatch.delenv("TMPDIR", raising=False)
    with git.written(revision, revision.listing) as folder:
        assert folder.parent == git.SHM
        in_memory = scan_folder(folder, options)
    # Then it is scanned as the same revision written to disk is (a scan that skipped the
    # folder, as the /dev guard once did, would find no file at all)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    with git.written(revision, revision.listing) as folder:
        assert folder.parent == tmp_path
        on_disk = scan_folder(folder, options)
    assert len(in_memory.model.files) == len(on_disk.model.files) >= 300
    assert set(in_memory.findings) == set(on_disk.findings)
