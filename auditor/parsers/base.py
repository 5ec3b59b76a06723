"""What every parser shares: the parse context, the certificate store and the result type."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.discover import relative
from auditor.model import CertificateRef, Location, Model, Problem, RefStatus
from auditor.parsers.certs import CertFile, parse_bytes

MAX_CERT_BYTES = 1024 * 1024


def is_file(path: Path | str) -> bool:
    """``Path.is_file`` for paths a config names: False instead of an OSError (a 5,000-character
    name is "File name too long" in pathlib, which only forgives a missing file)."""
    return os.path.isfile(path)


def is_dir(path: Path | str) -> bool:
    return os.path.isdir(path)


def exists(path: Path | str) -> bool:
    return os.path.exists(path)


def shorten(text: str, limit: int = 160) -> str:
    """A name from the input, cut for a message when it is absurdly long (a generated 5,000-character
    path): its start and end, and its length."""
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2]}...{text[-limit // 4 :]} ({len(text):,} characters)"


def outside(path: Path | str, fence: str | None) -> bool:
    """Is ``path`` (links resolved) out of ``fence``, the real scan root of a contained scan? A
    revision ``confaudit diff`` writes out holds the repository only: a reference out of it
    (``../../../etc/ssl/x.pem``) can only name a file of the machine running the check."""
    if fence is None:
        return False
    real = os.path.realpath(path)
    return real != fence and not real.startswith(fence.rstrip(os.sep) + os.sep)


class CertStore:
    """Parses each certificate/key file once, whoever asks for it (a config or the tree walk)."""

    def __init__(self, root: Path, fence: str | None = None, strict: bool = False) -> None:
        self.root = root
        self.fence = fence
        self.strict = strict
        self._files: dict[str, CertFile] = {}
        self._resolved: dict[tuple[str, Path, tuple[Path, ...]], tuple[RefStatus, CertFile | None]] = {}
        self.reads: dict[str, set[str]] = {}  # referencing file -> paths looked up (see Model.reads)

    def load(self, path: Path) -> CertFile:
        key = os.path.realpath(path)
        cached = self._files.get(key)
        if cached is not None:
            return cached
        rel = relative(Path(path), self.root)
        try:
            size = path.stat().st_size
            if size > MAX_CERT_BYTES:
                result = CertFile(
                    problems=[
                        Problem(
                            "parse-error",
                            Location(rel, 1),
                            rel,
                            f"certificate file is {size:,} bytes: too large to be a certificate, not parsed",
                        )
                    ]
                )
            else:
                result = self._parse(path.read_bytes(), rel)
        except OSError as exc:
            result = CertFile(
                problems=[Problem("parse-error", Location(rel, None), rel, f"cannot read file: {exc.strerror}")]
            )
        self._files[key] = result
        return result

    def _parse(self, data: bytes, rel: str) -> CertFile:
        from auditor.parsers.guard import guarded

        failed: list[Problem] = []
        with guarded(failed, Location(rel, 1), rel, "certificate parser", self.strict):
            return parse_bytes(data, rel)
        return CertFile(problems=failed)

    def reference(
        self,
        loc: Location,
        cert: str | None,
        key: str | None,
        base: Path,
        externals: tuple[Path, ...] = (),
        key_loc: Location | None = None,
    ) -> CertificateRef:
        """A certificate/key pair named by a config line; relative paths resolve from ``base``."""
        looked_up = self.reads.setdefault(loc.file, set())
        for name in (cert, key):
            looked_up.update(relative(p, self.root) for p in lookup_paths(name, base, externals))
        cert_status, cert_file = self._resolve(cert, base, externals)
        key_status, key_file = self._resolve(key, base, externals)
        bundle = cert_file.bundle if cert_file else None
        if cert_status is RefStatus.OK and bundle is None:
            cert_status = RefStatus.UNREADABLE
        key_facts = None
        if key_file is not None:
            key_facts = key_file.keys[0] if key_file.keys else None
            if key_facts is None:
                key_status = RefStatus.UNREADABLE
        elif key is None and cert_file is not None and cert_file.keys:
            # A single PEM holding both the certificate and the key.
            key_facts, key_status = cert_file.keys[0], RefStatus.OK
        return CertificateRef(loc, cert, key, cert_status, key_status, bundle, key_facts, key_loc=key_loc)

    def _resolve(self, name: str | None, base: Path, externals: tuple[Path, ...]) -> tuple[RefStatus, CertFile | None]:
        if name is None:
            return RefStatus.MISSING, None
        key = (name, base, externals)
        cached = self._resolved.get(key)
        if cached is None:
            cached = self._resolved[key] = self._resolve_uncached(name, base, externals)
        return cached

    def _resolve_uncached(
        self, name: str, base: Path, externals: tuple[Path, ...]
    ) -> tuple[RefStatus, CertFile | None]:
        if "$" in name or name.startswith(("data:", "engine:", "store:")):
            return RefStatus.DYNAMIC, None
        path = Path(name)
        if path.is_absolute():
            mapped = map_absolute(path, externals or (base,))
            if mapped is None:
                return RefStatus.EXTERNAL, None
            path = mapped
        else:
            path = base / path
        if outside(path, self.fence):
            return RefStatus.EXTERNAL, None  # judged as a file of the host, like /etc/ssl/...
        if not is_file(path):
            return RefStatus.MISSING, None
        return RefStatus.OK, self.load(path)

    def problems(self) -> list[Problem]:
        return [p for f in self._files.values() for p in f.problems]

    def populate(self, model: Model) -> None:
        for cert_file in self._files.values():
            if cert_file.bundle is not None:
                model.certificates.append(cert_file.bundle)
            model.keys.extend(cert_file.keys)
            model.problems.extend(cert_file.problems)


def lookup_paths(name: str | None, base: Path, externals: tuple[Path, ...] = ()) -> list[Path]:
    """Every path ``_resolve`` may look at for ``name``: the dependency record of the referrer."""
    if name is None or "$" in name or name.startswith(("data:", "engine:", "store:")):
        return []
    path = Path(name)
    if not path.is_absolute():
        return [base / path]
    parts = path.parts[1:]
    return [b.joinpath(*parts[start:]) for b in externals or (base,) for start in range(len(parts))]


def map_absolute(path: Path, bases: tuple[Path, ...]) -> Path | None:
    """Map an absolute path from the server's filesystem into the scanned tree.

    A repository usually holds what lands in /etc/nginx (or /etc/envoy): ``/etc/nginx/certs/a.crt``
    is looked up as ``<base>/etc/nginx/certs/a.crt``, ``<base>/nginx/certs/a.crt``,
    ``<base>/certs/a.crt``, then ``<base>/a.crt`` for each base. None when it is not in the tree.
    """
    parts = path.parts[1:]
    for base in bases:
        for start in range(len(parts)):
            candidate = base.joinpath(*parts[start:])
            if exists(candidate):
                return candidate
    return None


@dataclass(slots=True)
class ParseContext:
    root: Path
    certs: CertStore
    helm_bin: str | None = None
    values: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()  # helm --set K=V from the command line
    helm_timeout: float = 60.0  # seconds per `helm template` run
    repo_map: tuple[tuple[str, str], ...] = ()  # Argo CD repoURL -> folder (--repo-map URL=DIR)
    workers: int = 2  # parallel `helm template` runs
    problems: list[Problem] = field(default_factory=list)
    # The TLS Secrets (and what creates them) of the whole scan, for Kubernetes documents parsed in
    # batches (each Argo CD Application's or chart's output): one Application's Ingress names the
    # Secret another Application or a plain manifest defines. A ``kubernetes.Index``.
    shared_tls: Any = None
    fence: str | None = None  # contained scans (confaudit diff): read nothing outside this real path
    strict: bool = False  # re-raise internal errors instead of reporting them (tests; auditor.parsers.guard)
    # The documents are objects reviewed one at a time (the admission webhook), not a tree: the
    # Services that select a workload are in the cluster, not among them.
    objects_alone: bool = False

    def rel(self, path: Path) -> str:
        return relative(path, self.root)
