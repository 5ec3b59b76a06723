"""Read revisions of a repository without touching the checkout: listings and file contents.

A listing maps each path to its git blob id (and mode), so two revisions compare without reading a
file. A commit's files come from the object database (``git cat-file --batch``); the working tree's
from disk: tracked files plus untracked ones git does not ignore, hashed the way git does.

Writing a revision out is most of a cold diff's cost, and most of a base revision's files are
the ones in the checkout. Such a file is hard-linked from the checkout instead of written, when
its blob id and size agree (a clean or LFS filter, or CRLF conversion, changes the size; those
files are written from the object database). The scan only reads what it is given; a link that
cannot be made (another file system) falls back to a copy.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("confaudit")
TIMEOUT = 300


class GitError(RuntimeError):
    """git failed or the folder is not a repository: a usage error for ``confaudit diff``."""


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
    return git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()


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
    return git(repo, "merge-base", branch, head).decode().strip()


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
    sizes: dict[str, int] = field(default_factory=dict)  # committed: blob sizes (ls-tree -l)
    checkout: dict[str, Entry] | None = None  # the working tree's listing: files to link from

    @property
    def committed(self) -> bool:
        return self.commit is not None

    def materialize(self, paths: Iterable[str], dest: Path) -> list[str]:
        """Write these listed paths under ``dest``; returns the ones written."""
        wanted = sorted(p for p in set(paths) if p in self.listing)
        place = _Placer()
        if self.commit is None:
            for rel in wanted:
                place(self.repo / rel, dest / rel)
            return wanted
        unread = [rel for rel in wanted if not (self._in_checkout(rel) and place(self.repo / rel, dest / rel))]
        if unread:
            self._write_blobs(unread, dest)
        return wanted

    def _in_checkout(self, rel: str) -> bool:
        entry = self.listing[rel]
        if self.checkout is None or entry.mode == "120000" or self.checkout.get(rel) != entry:
            return False
        try:
            return os.lstat(self.repo / rel).st_size == self.sizes.get(rel)
        except OSError:
            return False

    def _write_blobs(self, wanted: list[str], dest: Path) -> None:
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


class _Placer:
    """Puts files of the checkout into a temporary folder: a hard link, or a copy once a link
    fails (the folder is on another file system, or the kernel protects hard links)."""

    def __init__(self) -> None:
        self.links = True

    def __call__(self, source: Path, target: Path) -> bool:
        """False when the file is gone."""
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            if source.is_symlink():
                os.symlink(os.readlink(source), target)
                return True
            if not source.is_file():
                return False
            if self.links:
                try:
                    os.link(source, target)
                    return True
                except OSError as exc:
                    log.debug("hard link %s failed (%s): copying instead", source, exc)
                    self.links = False
            shutil.copyfile(source, target)
        except OSError:
            return False
        return True


def commit_revision(repo: Path, ref: str, label: str | None = None) -> Revision:
    commit = commit_of(repo, ref)
    listing: dict[str, Entry] = {}
    sizes: dict[str, int] = {}
    for record in git(repo, "ls-tree", "-r", "-l", "-z", "--full-tree", commit).split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, kind, blob, size = meta.decode().split()
        if kind == "blob":
            name = path.decode(errors="surrogateescape")
            listing[name] = Entry(mode, blob)
            sizes[name] = int(size)
    return Revision(repo, commit, label or commit[:12], listing, sizes)


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


def checkout_listing(repo: Path) -> dict[str, Entry] | None:
    """The working tree's listing, or None for a bare repository (nothing to link from)."""
    try:
        return worktree_revision(repo).listing
    except GitError:
        return None


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
