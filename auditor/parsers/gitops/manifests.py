"""Kubernetes manifests as they ship: plain YAML files, Helm charts and Argo CD Applications.

These three are parsed together because Applications decide what the rest means. A chart or a
folder that an Application deploys is scanned as that Application renders it (its values files,
parameters, release name), once per Application, and not also on its own with default values:
defaults that never ship only bury real findings. A chart no Application uses is rendered with its
own values.yaml. The steps:

1. load every YAML file once and collect the Applications (ApplicationSets expanded);
2. resolve each Application's sources, mark the charts and files it deploys, render them;
   Applications found in that output (app of apps) go through the same step;
3. render the charts nothing deployed, in parallel; an app-of-apps chart among them can deploy
   other charts, whose standalone results are then dropped for the Application's;
4. hand everything else to the format parsers (Kubernetes, Envoy) as plain files.

Objects an Application or a chart produced carry its name in their resource label, so the same
chart deployed to staging and prod gives two sets of findings.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.discover import Kind, SourceFile
from auditor.gcpause import gc_paused
from auditor.model import Model
from auditor.parsers import yamlfiles
from auditor.parsers.base import ParseContext
from auditor.parsers.gitops import argocd, helm
from auditor.parsers.guard import guarded
from auditor.parsers.yamlfiles import Document

log = logging.getLogger("confaudit")

MAX_APP_DEPTH = 5  # app of apps of apps...: deeper nesting is almost certainly a cycle
_SKIP = frozenset({"argocd"})


def parse(yaml_files: list[SourceFile], charts: list[SourceFile], ctx: ParseContext) -> Model:
    scan = _Scan(ctx)
    scan.docs_by_file.update(yamlfiles.load_all(yaml_files, scan.model, ctx.strict))
    plain = [doc for docs in scan.docs_by_file.values() for doc in docs]
    queue = scan.new_apps(plain)
    standalone: dict[Path, helm.Rendered] = {}
    started = time.monotonic()
    while True:
        queue = scan.run_apps(queue)
        remaining = [
            _normal(c.path)
            for c in charts
            if not _is_library(c.path)
            and _normal(c.path) not in scan.consumed_charts
            and _normal(c.path) not in standalone
        ]
        if not remaining:
            break
        releases = [helm.standalone_release(chart, ctx.root) for chart in remaining]
        for rendered in helm.render_all(releases, scan.settings, ctx.root, ctx.workers):
            standalone[rendered.release.chart] = rendered
            queue.extend(scan.new_apps(rendered.documents))
        if not queue:
            break
    for chart, rendered in standalone.items():
        if chart not in scan.consumed_charts:
            scan.emit_rendered(rendered)
    if charts or scan.rendered:
        log.info("helm: %d renders in %.2f s wall time", scan.rendered + len(standalone), time.monotonic() - started)
    unused = [doc for rel, docs in scan.docs_by_file.items() if rel not in scan.consumed_files for doc in docs]
    with gc_paused():
        shared = scan.flush(unused)
        scan.model.extend(yamlfiles.route(unused, shared, skip=_SKIP))
    return scan.model


def render_applications(documents: list[Document], ctx: ParseContext) -> Model:
    """Render what the given Application manifests deploy (no tree-wide de-duplication)."""
    scan = _Scan(ctx)
    scan.run_apps(scan.new_apps(documents))
    scan.flush([])
    return scan.model


@dataclass(slots=True)
class _Scan:
    ctx: ParseContext
    model: Model = field(default_factory=Model)
    docs_by_file: dict[str, list[Document]] = field(default_factory=dict)
    consumed_charts: set[Path] = field(default_factory=set)
    consumed_files: set[str] = field(default_factory=set)
    seen_apps: set[tuple[str, int, str]] = field(default_factory=set)
    # What Applications and charts produced, with their labels: parsed together at the end, when
    # every batch's TLS Secrets are known (one Application's Ingress, another's Secret).
    pending: list[tuple[list[Document], str]] = field(default_factory=list)
    settings: helm.HelmSettings = field(init=False)
    rendered: int = 0

    def __post_init__(self) -> None:
        self.settings = helm.HelmSettings(
            helm.find_helm(self.ctx.helm_bin),
            self.ctx.helm_timeout,
            tuple(Path(v) for v in self.ctx.values),
            self.ctx.sets,
            strict=self.ctx.strict,
        )

    def new_apps(self, documents: list[Document]) -> list[argocd.AppSpec]:
        found = [d for d in documents if yamlfiles.classify(d.data) == "argocd"]
        apps: list[argocd.AppSpec] = []
        for document in found:
            with guarded(self.model.problems, document.loc, document.file, "Argo CD parser", self.ctx.strict):
                more, problems = argocd.applications([document])
                apps.extend(more)
                self.model.problems.extend(problems)
        return [app for app in apps if app.identity not in self.seen_apps]

    def run_apps(self, queue: list[argocd.AppSpec]) -> list[argocd.AppSpec]:
        """Render the Applications in ``queue`` (and, level by level, those they deploy)."""
        for _ in range(MAX_APP_DEPTH):
            if not queue:
                break
            releases: list[helm.Release] = []
            found: list[argocd.AppSpec] = []
            for app in queue:
                if app.identity in self.seen_apps:
                    continue
                self.seen_apps.add(app.identity)
                with guarded(self.model.problems, app.at(), app.label, "Argo CD parser", self.ctx.strict):
                    found.extend(self._run_app(app, releases))
            for rendered in helm.render_all(releases, self.settings, self.ctx.root, self.ctx.workers):
                self.rendered += 1
                self.emit_rendered(rendered)
                found.extend(self.new_apps(rendered.documents))
            queue = found
        return queue

    def _run_app(self, app: argocd.AppSpec, releases: list[helm.Release]) -> list[argocd.AppSpec]:
        """Resolve one Application: its charts join ``releases``; its folders are read at once.
        Returns the Applications found in those folders (app of apps)."""
        found: list[argocd.AppSpec] = []
        resolution = argocd.resolve(app, self.ctx)
        self.model.problems.extend(resolution.problems)
        for missing in resolution.missing:  # looked for: its appearance changes the result
            absent = self.ctx.rel(missing)
            self.model.depends(app.document.file, absent, f"{absent}/**")
        for release in resolution.releases:
            self.consumed_charts.add(_normal(release.chart))
            releases.append(release)
            # Dependency record (confaudit diff): what the Application renders is its
            # result; the chart folder itself is then no root of its own.
            chart = self.ctx.rel(release.chart)
            values = [self.ctx.rel(v) for v in release.value_files]
            self.model.depends(app.document.file, chart, f"{chart}/**", *values)
        for directory in resolution.directories:
            folder = self.ctx.rel(directory.path)
            self.model.depends(app.document.file, folder, f"{folder}/**")
            documents = self._directory(directory, app)
            self.emit(documents, app.label)
            found.extend(self.new_apps(documents))
        return found

    def _directory(self, target: argocd.DirectoryTarget, app: argocd.AppSpec) -> list[Document]:
        files = target.path.rglob("*") if target.recurse else target.path.iterdir()
        documents: list[Document] = []
        for path in sorted(files):
            if not path.is_file() or not target.selects(path) or _inside_chart(path, target.path):
                continue
            rel = self.ctx.rel(path)
            if rel not in self.docs_by_file:  # excluded from the walk, or outside the scan root
                self.docs_by_file[rel] = yamlfiles.load(SourceFile(path, rel, Kind.YAML), self.model, self.ctx.strict)
                self.model.files.add(rel)
            self.consumed_files.add(rel)
            for document in self.docs_by_file[rel]:
                extra = {**document.extra, "argocd_app": app.name, "namespace": app.namespace}
                documents.append(dataclasses.replace(document, extra=extra))
        return documents

    def emit_rendered(self, rendered: helm.Rendered) -> None:
        self.model.problems.extend(rendered.problems)
        self.model.suppressions.extend(rendered.suppressions)
        self.model.files |= rendered.files
        self.model.files.add(self.ctx.rel(rendered.release.chart / "Chart.yaml"))
        self.emit(rendered.documents, rendered.release.label)

    def emit(self, documents: list[Document], label: str) -> None:
        """Queue documents an Application or chart produced; their labels name it. (Rendered
        documents carry helm's "line approximate" note themselves, via Document.source_note.)"""
        if documents:
            self.pending.append((documents, label))

    def flush(self, plain: list[Document]) -> ParseContext:
        """Parse the queued batches, each with the TLS Secrets of all of them and of ``plain``
        (the files no Application deploys); returns the context to parse ``plain`` with."""
        from auditor.parsers import kubernetes

        everything = [doc for documents, _ in self.pending for doc in documents] + plain
        shared = dataclasses.replace(self.ctx, shared_tls=kubernetes.tls_index(everything))
        for documents, label in self.pending:
            produced = yamlfiles.route(documents, shared, skip=_SKIP)
            relabel(produced, f" [{label}]")
            self.model.extend(produced)
        self.pending.clear()
        return shared


def _normal(path: Path) -> Path:
    """One spelling per chart folder: absolute, no ``..``, symlinked names kept (as the walk has them)."""
    return Path(os.path.normpath(os.path.abspath(path)))


def _is_library(chart: Path) -> bool:
    """Library charts hold only helpers and render nothing (helm refuses to template them)."""
    from auditor.yamlload import YAMLError, safe_load

    try:
        data = safe_load((chart / "Chart.yaml").read_text(encoding="utf-8", errors="replace"))
    except (OSError, YAMLError):
        return False  # helm reports what is wrong with it
    return isinstance(data, dict) and data.get("type") == "library"


def _inside_chart(path: Path, top: Path) -> bool:
    """Argo CD renders a chart folder as a chart, never as loose files of a recursed folder."""
    return any((parent / "Chart.yaml").is_file() for parent in path.parents if parent != top and top in parent.parents)


def relabel(model: Model, suffix: str) -> None:
    """Append ``suffix`` to the resource label of every object (and nested object) in ``model``."""
    for item in dataclasses.fields(model):
        value = getattr(model, item.name)
        if isinstance(value, list):
            setattr(model, item.name, [_relabel(obj, suffix) for obj in value])


def _relabel(obj: Any, suffix: str) -> Any:
    if isinstance(obj, tuple):
        return tuple(_relabel(item, suffix) for item in obj)
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        return obj
    changes: dict[str, Any] = {}
    for item in dataclasses.fields(obj):
        value = getattr(obj, item.name)
        if item.name == "resource" and isinstance(value, str):
            changes["resource"] = value + suffix
        elif isinstance(value, tuple) or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            new = _relabel(value, suffix)
            if new is not value:
                changes[item.name] = new
    return dataclasses.replace(obj, **changes) if changes else obj
