"""Read revisions of a repository without touching the checkout: listings and file contents.

A listing maps each path to its git blob id (and mode), so two revisions compare without reading a
file. A commit's files come from the object database (``git cat-file --batch``); the working tree's
from disk: tracked files plus untracked ones git does not ignore, hashed the way git does.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("confaudit")
TIMEOUT = 300
SHM = Path("/dev/shm")  # noqa: S108 (only mkdtemp is made there, mode 0700)
SHM_SHARE = 0.25  # a revision goes to memory only when it takes at most this share of what is free there
SHM_MIN_FILES = 256  # below this, where the files go makes no difference worth a look


class GitError(RuntimeError):
    """git failed, the folder is not a repository or a revision cannot be written out: ``confaudit
    diff`` reports it as an error (exit 2)."""


def git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], input=data, capture_output=True, timeout=TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {args[0]} failed: {exc}") from None
    if done.returncode != 0:
        raise GitError(f"git {' '.join(args[:3])}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def toplevel(path: Path) -> Path:
    return Path(git(path, "rev-parse", "--show-toplevel").decode().strip())


def commit_of(repo: Path, ref: str) -> str:
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except GitError:
        raise GitError(f"unknown revision {ref!r}{_shallow_hint(repo)}") from None


def default_branch(repo: Path) -> str:
    """origin/HEAD when the clone knows it, else the first of main, master (remote or local)."""
    try:
        ref = git(repo, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD").decode().strip()
        return ref.removeprefix("refs/remotes/")
    except GitError:
        pass
    for candidate in ("origin/main", "origin/master", "main", "master"):
        try:
            commit_of(repo, candidate)
            return candidate
        except GitError:
            continue
    raise GitError("cannot find the default branch (no origin/HEAD, main or master): pass --base REF")


def merge_base(repo: Path, branch: str, head: str) -> str:
    try:
        return git(repo, "merge-base", branch, head).decode().strip()
    except GitError:
        raise GitError(
            f"{branch} and {head} have no common ancestor in this clone{_shallow_hint(repo)}; or pass --base REF"
        ) from None


def _shallow_hint(repo: Path) -> str:
    try:
        shallow = git(repo, "rev-parse", "--is-shallow-repository").strip() == b"true"
    except GitError:
        return ""
    return " (this is a shallow clone: fetch the history, e.g. actions/checkout with fetch-depth: 0)" if shallow else ""


@dataclass(frozen=True, slots=True)
class Entry:
    mode: str  # "100644", "100755", "120000" (symlink)
    blob: str


@dataclass(slots=True)
class Revision:
    repo: Path
    commit: str | None  # None: the working tree
    label: str
    listing: dict[str, Entry]

    @property
    def committed(self) -> bool:
        return self.commit is not None

    def size(self, paths: Iterable[str]) -> int:
        """Bytes the listed ``paths`` take when written out."""
        wanted = [p for p in paths if p in self.listing]
        if self.commit is None:
            total = 0
            for rel in wanted:
                try:
                    total += os.lstat(self.repo / rel).st_size
                except OSError:
                    pass
            return total
        request = "".join(f"{self.listing[p].blob}\n" for p in wanted).encode()
        out = git(self.repo, "cat-file", "--batch-check=%(objectsize)", data=request)
        return sum(int(line) for line in out.split() if line.isdigit())

    def materialize(self, paths: Iterable[str], dest: Path) -> list[str]:
        """Write these listed paths under ``dest``; returns the ones written."""
        wanted = sorted(p for p in set(paths) if p in self.listing)
        if self.commit is None:
            for rel in wanted:
                _copy(self.repo / rel, dest / rel)
            return wanted
        request = "".join(f"{self.listing[p].blob}\n" for p in wanted).encode()
        out = git(self.repo, "cat-file", "--batch", data=request)
        offset = 0
        for rel in wanted:
            header_end = out.index(b"\n", offset)
            size = int(out[offset:header_end].split()[2])
            body = out[header_end + 1 : header_end + 1 + size]
            offset = header_end + 1 + size + 1
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if self.listing[rel].mode == "120000":
                os.symlink(body.decode(errors="surrogateescape"), target)
            else:
                target.write_bytes(body)
        return wanted


def scratch_folder(revision: Revision, paths: Collection[str]) -> tempfile.TemporaryDirectory[str]:
    """A temporary folder to write ``paths`` of ``revision`` to: in memory for a large set when
    there is room (see the module text), else the system's temporary folder."""
    if len(paths) >= SHM_MIN_FILES and "TMPDIR" not in os.environ:
        try:
            space = os.statvfs(SHM)
            free = space.f_bavail * space.f_frsize
            if os.access(SHM, os.W_OK | os.X_OK) and revision.size(paths) <= free * SHM_SHARE:
                return tempfile.TemporaryDirectory(prefix="confaudit-", dir=SHM)
        except (OSError, GitError) as exc:
            log.debug("%s not used for the scan's files: %s", SHM, exc)
    return tempfile.TemporaryDirectory(prefix="confaudit-")


@contextlib.contextmanager
def written(revision: Revision, paths: Collection[str]) -> Iterator[Path]:
    """A temporary folder holding ``paths`` of ``revision``, removed on exit. When memory runs out
    while writing (another process filled /dev/shm), the system's temporary folder is used."""
    with scratch_folder(revision, paths) as tmp:
        try:
            revision.materialize(paths, Path(tmp))
            failure = None
        except OSError as exc:
            failure = exc
        if failure is None:
            yield Path(tmp)
            return
    if Path(tmp).parent != SHM:
        raise GitError(f"cannot write {revision.label} to {tmp}: {failure.strerror or failure}")
    log.info("%s ran out of room (%s): writing %s to the temporary folder", SHM, failure.strerror, revision.label)
    with tempfile.TemporaryDirectory(prefix="confaudit-") as tmp:
        try:
            revision.materialize(paths, Path(tmp))
        except OSError as exc:
            raise GitError(f"cannot write {revision.label} to {tmp}: {exc.strerror or exc}") from None
        yield Path(tmp)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
    elif source.is_file():
        shutil.copyfile(source, target)


def commit_revision(repo: Path, ref: str, label: str | None = None) -> Revision:
    commit = commit_of(repo, ref)
    listing: dict[str, Entry] = {}
    for record in git(repo, "ls-tree", "-r", "-z", "--full-tree", commit).split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, kind, blob = meta.decode().split()
        if kind == "blob":
            listing[path.decode(errors="surrogateescape")] = Entry(mode, blob)
    return Revision(repo, commit, label or commit[:12], listing)


EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's object id of the empty tree


def has_commits(repo: Path) -> bool:
    try:
        git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    except GitError:
        return bool(git(repo, "rev-list", "-n", "1", "--all").strip())
    return True


def empty_revision(repo: Path) -> Revision:
    """The base of a repository's first commit: no files."""
    return Revision(repo, EMPTY_TREE, "(no commits yet)", {})


def worktree_revision(repo: Path) -> Revision:
    """Tracked files as the index knows them, re-hashed where the working tree differs, plus
    untracked files that are not ignored; deleted files are left out."""
    listing: dict[str, Entry] = {}
    for record in git(repo, "ls-files", "-s", "-z").split(b"\0"):
        if record:
            meta, _, path = record.partition(b"\t")
            mode, blob, _stage = meta.decode().split()
            if mode != "160000":
                listing[path.decode(errors="surrogateescape")] = Entry(mode, blob)
    dirty = {p.decode(errors="surrogateescape") for p in git(repo, "diff-files", "--name-only", "-z").split(b"\0") if p}
    dirty |= {
        p.decode(errors="surrogateescape")
        for p in git(repo, "ls-files", "-o", "--exclude-standard", "-z").split(b"\0")
        if p
    }
    for rel in dirty:
        entry = hash_file(repo / rel)
        if entry is None:
            listing.pop(rel, None)
        else:
            listing[rel] = entry
    return Revision(repo, None, "working tree", listing)


def hash_file(path: Path) -> Entry | None:
    """The git blob id of a file as it is on disk (no clean filters); None when it is gone."""
    try:
        if path.is_symlink():
            data, mode = os.readlink(path).encode(errors="surrogateescape"), "120000"
        elif path.is_file():
            data = path.read_bytes()
            mode = "100755" if os.access(path, os.X_OK) else "100644"
        else:
            return None
    except OSError:
        return None
    blob = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
    return Entry(mode, blob)
