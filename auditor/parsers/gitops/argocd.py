"""Argo CD ``Application`` and ``ApplicationSet`` manifests: what each one deploys from the tree.

An Application's ``spec.source`` / ``spec.sources`` is resolved against the scanned tree: a
``repoURL`` maps to a folder given with ``--repo-map URL=DIR``, otherwise to the repository the
manifest sits in (its git root, the scan root, or the folder of the manifest's ancestors where the
source path exists: a GitOps repo is often scanned from a subfolder, or as one of several). A path
with ``Chart.yaml`` is a Helm chart rendered with the Application's ``valueFiles`` (``$ref/...``
for multi-source ``ref`` sources), ``values``, ``valuesObject``, ``parameters`` and
``releaseName``; any other path is a folder of manifests (``directory.recurse``, ``include``,
``exclude``). Charts from Helm repositories (``chart:``) are outside the tree unless their
``repoURL`` is mapped. A path, chart or values file that does not exist is an
``argocd-source-missing`` problem at the manifest line that names it.

ApplicationSets are expanded with their ``list`` generators (``elements`` and ``elementsYaml``),
substituting ``{{param}}`` (or ``{{ .param }}`` with ``goTemplate: true``) in the template; other
generators need a cluster or a git checkout and are skipped (logged with -v).
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.discover import relative
from auditor.model import Location, Model, Problem
from auditor.parsers.base import ParseContext, exists, is_dir, is_file, outside, shorten
from auditor.parsers.gitops.helm import Release, release_name
from auditor.parsers.yamlfiles import Document
from auditor.yamlload import YAMLError, safe_load

log = logging.getLogger("confaudit")

_FAST_PARAM = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")
_GO_PARAM = re.compile(r"\{\{-?\s*\.([A-Za-z0-9_.]+)\s*-?\}\}")
_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class AppSpec:
    """One Application, as written or as an ApplicationSet generates it."""

    name: str
    document: Document  # the manifest, for locations
    base: tuple[str | int, ...]  # path of the Application spec in the document
    spec: dict[str, Any]

    @property
    def label(self) -> str:
        return f"argocd app {self.name}"

    @property
    def identity(self) -> tuple[str, int, str]:
        return (self.document.file, self.document.index, self.name)

    @property
    def namespace(self) -> str:
        """``destination.namespace``: where Argo CD puts the objects that name no namespace."""
        destination = self.spec.get("destination")
        value = destination.get("namespace") if isinstance(destination, dict) else None
        return str(value) if value else "default"

    def at(self, *path: str | int) -> Location:
        return self.document.at(*self.base, *path)


@dataclass(frozen=True, slots=True)
class DirectoryTarget:
    path: Path
    recurse: bool
    include: str | None
    exclude: str | None

    def selects(self, file: Path) -> bool:
        try:
            rel = file.relative_to(self.path).as_posix()
        except ValueError:
            return False
        if not rel.endswith(_MANIFEST_SUFFIXES) or (not self.recurse and "/" in rel):
            return False
        if self.include and not _glob(rel, self.include):
            return False
        return not (self.exclude and _glob(rel, self.exclude))


@dataclass(slots=True)
class Resolution:
    app: AppSpec
    releases: list[Release] = field(default_factory=list)
    directories: list[DirectoryTarget] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Sources and values files looked for and not found (adding one changes the result).
    missing: list[Path] = field(default_factory=list)


def parse_documents(documents: list[Document], ctx: ParseContext) -> Model:
    """Render what these Applications deploy (without the tree-wide de-duplication of
    ``auditor.parsers.gitops.manifests``, for callers that hold only the Application manifests)."""
    from auditor.parsers.gitops.manifests import render_applications

    return render_applications(documents, ctx)


# --- Applications and ApplicationSets ------------------------------------------------------------


def applications(documents: list[Document]) -> tuple[list[AppSpec], list[Problem]]:
    apps: list[AppSpec] = []
    problems: list[Problem] = []
    for document in documents:
        data = document.data
        if not isinstance(data, dict):
            continue
        kind = data.get("kind")
        if kind == "Application":
            spec = data.get("spec")
            name = _name(data)
            if isinstance(spec, dict) and name:
                apps.append(AppSpec(name, document, ("spec",), spec))
        elif kind == "ApplicationSet":
            apps.extend(_expand_set(document, problems))
    return apps, problems


def _name(data: dict[str, Any]) -> str | None:
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) and name and "{{" not in name else None  # unrendered templates


def _expand_set(document: Document, problems: list[Problem]) -> list[AppSpec]:
    spec = document.data.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("template"), dict):
        return []
    go_template = bool(spec.get("goTemplate"))
    set_name = _name(document.data) or "?"
    apps: list[AppSpec] = []
    generators = _listed(
        spec.get("generators"), document, ("spec", "generators"), f"ApplicationSet {set_name}", problems
    )
    for index, generator in enumerate(generators):
        if not isinstance(generator, dict):
            continue
        listing = generator.get("list")
        if not isinstance(listing, dict):
            log.info(
                "%s: ApplicationSet %s generator %s needs a cluster or git checkout: skipped",
                document.file,
                set_name,
                ", ".join(generator) or "?",
            )
            continue
        where = ("spec", "generators", index, "list", "elements")
        elements = _listed(listing.get("elements"), document, where, f"ApplicationSet {set_name}", problems)
        if isinstance(listing.get("elementsYaml"), str):
            try:
                loaded = safe_load(listing["elementsYaml"])
            except YAMLError as exc:
                loc = document.at("spec", "generators", index, "list", "elementsYaml")
                problems.append(
                    Problem("parse-error", loc, f"ApplicationSet {set_name}", f"elementsYaml is not valid YAML: {exc}")
                )
                loaded = None
            elements = [*elements, *(loaded if isinstance(loaded, list) else [])]
        for element in elements:
            if not isinstance(element, dict):
                continue
            template = substitute(spec["template"], element, go_template)
            name = _name(template)
            template_spec = template.get("spec")
            if name and isinstance(template_spec, dict):
                apps.append(AppSpec(name, document, ("spec", "template", "spec"), template_spec))
    return apps


_TYPE_NAMES = {dict: "mapping", str: "string", int: "number", float: "number", bool: "boolean"}


def _listed(
    value: Any, document: Document, path: tuple[str | int, ...], resource: str, problems: list[Problem]
) -> list[Any]:
    """A list field's items. Anything else there (``generators: 5``) is a manifest Argo CD refuses:
    reported at its line, and read as empty."""
    if isinstance(value, list):
        return value
    if value is not None:
        problems.append(
            Problem(
                "parse-error",
                document.at(*path),
                resource,
                f"{path[-1]} is a {_TYPE_NAMES.get(type(value), type(value).__name__)}, not a list: "
                "Argo CD refuses this manifest; read as empty",
            )
        )
    return []


def substitute(value: Any, params: dict[str, Any], go_template: bool) -> Any:
    """Replace ApplicationSet parameters in every string of ``value``; unknown ones stay as written."""
    if isinstance(value, dict):
        return {k: substitute(v, params, go_template) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, params, go_template) for v in value]
    if not isinstance(value, str) or "{{" not in value:
        return value
    if go_template:
        return _GO_PARAM.sub(lambda m: _lookup(params, m.group(1), m.group(0)), value)
    flat = _flatten(params)
    return _FAST_PARAM.sub(lambda m: str(flat.get(m.group(1), m.group(0))), value)


def _lookup(params: dict[str, Any], dotted: str, default: str) -> str:
    current: Any = params
    for part in dotted.split("."):
        if not isinstance(current, dict) or part not in current:
            return default
        current = current[part]
    return default if isinstance(current, (dict, list)) else str(current)


def _flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


# --- sources -------------------------------------------------------------------------------------


def resolve(app: AppSpec, ctx: ParseContext) -> Resolution:
    result = Resolution(app)
    sources: list[tuple[tuple[str | int, ...], dict[str, Any]]]
    if isinstance(app.spec.get("sources"), list):
        sources = [(("sources", i), s) for i, s in enumerate(app.spec["sources"]) if isinstance(s, dict)]
    elif isinstance(app.spec.get("source"), dict):
        sources = [(("source",), app.spec["source"])]
    else:
        return result
    manifest = ctx.root / app.document.file
    refs = {str(s["ref"]): str(s.get("repoURL") or "") for _, s in sources if s.get("ref")}
    for key, source in sources:
        repo_url = str(source.get("repoURL") or "")
        if isinstance(source.get("chart"), str):
            mapped = _mapped(repo_url, ctx)
            if mapped is None:
                log.info(
                    "%s: %s uses chart %s from %s, outside the scanned tree",
                    app.document.file,
                    app.label,
                    source["chart"],
                    repo_url,
                )
                continue
            chart = mapped / str(source["chart"])
            where = app.at(*key, "chart")
        elif isinstance(source.get("path"), str):
            chart = _locate(repo_url, str(source["path"]), manifest, ctx)
            where = app.at(*key, "path")
        else:
            continue  # a values-only source (`ref:`), read through the others' `$ref/` paths
        if not exists(chart) or outside(chart, ctx.fence):
            result.missing.append(chart)
            result.problems.append(
                Problem(
                    "argocd-source-missing",
                    where,
                    app.label,
                    f"{app.label} deploys {shorten(relative(chart, ctx.root))}, "
                    "which does not exist in the scanned tree",
                )
            )
            continue
        if is_file(chart / "Chart.yaml"):
            result.releases.append(_release(app, key, source, chart, refs, manifest, ctx, result))
        elif is_dir(chart):
            directory: dict[str, Any] = source["directory"] if isinstance(source.get("directory"), dict) else {}
            result.directories.append(
                DirectoryTarget(
                    chart,
                    bool(directory.get("recurse")),
                    _str(directory.get("include")),
                    _str(directory.get("exclude")),
                )
            )
    return result


def _release(
    app: AppSpec,
    key: tuple[str | int, ...],
    source: dict[str, Any],
    chart: Path,
    refs: dict[str, str],
    manifest: Path,
    ctx: ParseContext,
    result: Resolution,
) -> Release:
    helm: dict[str, Any] = source["helm"] if isinstance(source.get("helm"), dict) else {}
    value_files: list[Path] = []
    where = (*app.base, *key, "helm")
    for index, name in enumerate(
        _listed(helm.get("valueFiles"), app.document, (*where, "valueFiles"), app.label, result.problems)
    ):
        name = str(name)
        if name.startswith(("http://", "https://")):
            continue  # fetched by Argo CD at sync time; not in the tree
        path = _value_file(name, chart, refs, manifest, ctx)
        if path is not None and (not is_file(path) or outside(path, ctx.fence)):
            result.missing.append(path)
        if path is None or not is_file(path) or outside(path, ctx.fence):
            if not helm.get("ignoreMissingValueFiles"):
                shown = relative(path, ctx.root) if path is not None else name
                result.problems.append(
                    Problem(
                        "argocd-source-missing",
                        app.at(*key, "helm", "valueFiles", index),
                        app.label,
                        f"{app.label} renders chart {relative(chart, ctx.root)} with values file {shown}, "
                        "which does not exist in the scanned tree",
                    )
                )
            continue
        value_files.append(path)
    inline: list[str] = []
    if isinstance(helm.get("values"), str) and helm["values"].strip():
        inline.append(helm["values"])
    elif isinstance(helm.get("values"), dict):
        inline.append(_dump(helm["values"]))
    if isinstance(helm.get("valuesObject"), dict):
        inline.append(_dump(helm["valuesObject"]))  # takes precedence over `values`, as in Argo CD
    sets: list[str] = []
    set_strings: list[str] = []
    for parameter in _listed(helm.get("parameters"), app.document, (*where, "parameters"), app.label, result.problems):
        if isinstance(parameter, dict) and parameter.get("name"):
            item = f"{parameter['name']}={_escape(str(parameter.get('value', '')))}"
            (set_strings if parameter.get("forceString") else sets).append(item)
    set_files = [
        f"{p['name']}={chart / str(p['path'])}"
        for p in _listed(
            helm.get("fileParameters"), app.document, (*where, "fileParameters"), app.label, result.problems
        )
        if isinstance(p, dict) and p.get("name") and p.get("path")
    ]
    return Release(
        chart=chart,
        name=release_name(str(helm.get("releaseName") or app.name)),
        namespace=app.namespace,
        origin=app.at(*key),
        label=app.label,
        value_files=tuple(value_files),
        inline_values=tuple(inline),
        sets=tuple(sets),
        set_strings=tuple(set_strings),
        set_files=tuple(set_files),
    )


def _value_file(name: str, chart: Path, refs: dict[str, str], manifest: Path, ctx: ParseContext) -> Path | None:
    if name.startswith("$"):
        ref, _, rest = name[1:].partition("/")
        if ref not in refs:
            return None
        return _locate(refs[ref], rest, manifest, ctx)
    return chart / name


def _dump(value: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(value, sort_keys=False)


def _escape(value: str) -> str:
    # helm --set splits on commas; Argo CD passes parameter values literally.
    return value.replace("\\", "\\\\").replace(",", "\\,")


def _str(value: Any) -> str | None:
    return str(value) if value else None


def _glob(rel: str, pattern: str) -> bool:
    """Argo CD directory include/exclude: a glob, `{a,b}` alternatives allowed."""
    match = re.fullmatch(r"(.*)\{([^{}]*)\}(.*)", pattern)
    if match:
        head, options, tail = match.groups()
        return any(_glob(rel, f"{head}{option}{tail}") for option in options.split(","))
    return fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(rel.rsplit("/", 1)[-1], pattern)


# --- repositories --------------------------------------------------------------------------------


def normalize_url(url: str) -> str:
    """Compare repo URLs the way people write them: scheme, user, `.git` and case do not matter."""
    text = url.strip().lower()
    text = re.sub(r"^[a-z+]+://", "", text)
    text = re.sub(r"^[^@/]+@", "", text)
    text = re.sub(r"^([^/:]+):(?!\d)", r"\1/", text)  # git@host:org/repo
    return text.removesuffix("/").removesuffix(".git").removesuffix("/")


def _mapped(repo_url: str, ctx: ParseContext) -> Path | None:
    wanted = normalize_url(repo_url)
    for url, directory in ctx.repo_map:
        if normalize_url(url) == wanted:
            return _normal(Path(directory))
    return None


def _locate(repo_url: str, path: str, manifest: Path, ctx: ParseContext) -> Path:
    """Where ``path`` of ``repo_url`` is in the scanned tree (under the scan root when it is nowhere)."""
    mapped = _mapped(repo_url, ctx)
    if mapped is not None:
        return _normal(mapped / path)
    for root in _repo_roots(manifest, ctx.root):
        target = _normal(root / path)
        if exists(target) and not _inside_chart(target, ctx.root):
            return target
    return _normal(ctx.root / path)


def _normal(path: Path) -> Path:
    """Absolute and without ``..``, keeping symlinked folder names (reports stay under the scan root)."""
    return Path(os.path.normpath(os.path.abspath(path)))


def _inside_chart(target: Path, scan_root: Path) -> bool:
    """A chart's own folders (templates/, charts/) are never what another repo's path means."""
    return any(
        is_file(parent / "Chart.yaml")
        for parent in target.parents
        if parent == scan_root or scan_root in parent.parents
    )


def _repo_roots(manifest: Path, scan_root: Path) -> list[Path]:
    roots: list[Path] = []
    for parent in manifest.parents:
        if exists(parent / ".git"):
            roots.append(parent)
            break
    roots.append(scan_root)
    try:
        inside = manifest.parent.relative_to(scan_root).parts
    except ValueError:
        inside = ()
    for depth in range(1, len(inside) + 1):
        roots.append(scan_root.joinpath(*inside[:depth]))
    return list(dict.fromkeys(roots))
