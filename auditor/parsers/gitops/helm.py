"""Helm charts: render with the real ``helm template`` and map the output back to the templates.

Each chart is rendered offline (``helm dependency build`` is never run: a chart whose
dependencies are not vendored in ``charts/`` is reported, not fetched) with a per-chart timeout.
Helm prefixes every output document with ``# Source: <chart>/templates/x.yaml``; the documents
become ``Document`` objects located in that template file, and each rendered line is aligned with
the template line it most likely came from (``template_line_map``). Template actions such as
``include`` or ``toYaml`` expand into lines the template does not contain, so those lines point at
the action: the line is approximate and resource labels say so. A missing helm binary, a chart
that fails to render or a timeout is a ``helm-render-failed`` problem with helm's own reason.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from auditor.discover import relative
from auditor.model import Location, Model, Problem, Suppression
from auditor.parsers.yamlfiles import Document, load_text
from auditor.suppress import scan_text

log = logging.getLogger("confaudit")

DEFAULT_TIMEOUT = 60.0
APPROXIMATE_NOTE = "rendered by helm; line approximate"
_RELEASE_NAME = re.compile(r"[^a-z0-9-]+")
_SEPARATOR = re.compile(r"^---\s*$", re.MULTILINE)
_SOURCE = re.compile(r"^# Source: (?P<path>.+?)\s*$")
_ERROR_PLACE = re.compile(
    r"(?:\(|template: |YAML parse error on |error converting YAML in )"
    r"(?P<file>[^\s:()]+\.(?:yaml|yml|tpl|txt|json))(?::(?P<line>\d+))?"
)


@dataclass(frozen=True, slots=True)
class Release:
    """One ``helm template`` run: a chart and the values it is rendered with."""

    chart: Path  # absolute chart folder
    name: str  # release name
    namespace: str
    origin: Location  # where a render failure is reported (Chart.yaml, or the Application)
    label: str  # "helm chart charts/web", "argocd app web-prod"
    value_files: tuple[Path, ...] = ()
    inline_values: tuple[str, ...] = ()  # YAML documents passed as extra --values files
    sets: tuple[str, ...] = ()
    set_strings: tuple[str, ...] = ()
    set_files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HelmSettings:
    binary: str | None  # None: no helm found
    timeout: float = DEFAULT_TIMEOUT
    user_values: tuple[Path, ...] = ()  # --values from the command line, applied last
    user_sets: tuple[str, ...] = ()  # --set from the command line, applied last
    strict: bool = False  # re-raise internal errors (tests; auditor.parsers.guard)


@dataclass(slots=True)
class Rendered:
    release: Release
    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)
    files: set[str] = field(default_factory=set)  # template files the output came from
    seconds: float = 0.0


def find_helm(configured: str | None) -> str | None:
    """The helm binary: --helm-bin, else `helm` on PATH, else next to the running Python (a venv)."""
    if configured:
        found = shutil.which(configured)
        return found or None
    found = shutil.which("helm")
    if found:
        return found
    candidate = Path(sys.executable).parent / "helm"
    return str(candidate) if os.access(candidate, os.X_OK) else None


def release_name(text: str) -> str:
    """A valid helm release name (lower-case DNS label, at most 53 characters) from any text."""
    name = _RELEASE_NAME.sub("-", text.lower()).strip("-")[:53].strip("-")
    return name or "release"


def render_all(releases: list[Release], settings: HelmSettings, root: Path, workers: int = 2) -> list[Rendered]:
    """Render charts in parallel (helm is a separate process; threads only wait for it)."""
    if len(releases) <= 1 or workers <= 1:
        return [_render_guarded(release, settings, root) for release in releases]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda release: _render_guarded(release, settings, root), releases))


def _render_guarded(release: Release, settings: HelmSettings, root: Path) -> Rendered:
    """``render``; a crash reading one chart's output is an internal problem at the chart."""
    from auditor.parsers.guard import guarded

    failed = Rendered(release)
    with guarded(failed.problems, release.origin, release.label, "Helm output reader", settings.strict):
        return render(release, settings, root)
    return failed


def render(release: Release, settings: HelmSettings, root: Path) -> Rendered:
    result = Rendered(release)
    chart_rel = relative(release.chart, root)

    def failed(message: str, loc: Location | None = None) -> Rendered:
        result.problems.append(Problem("helm-render-failed", loc or release.origin, release.label, message))
        return result

    if settings.binary is None:
        return failed(
            f"chart {chart_rel} not rendered: helm is not installed (no `helm` on PATH; "
            "pass --helm-bin), so its templates are not checked"
        )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="confaudit-helm-") as scratch:
        command = [settings.binary, "template", release.name, str(release.chart), "--namespace", release.namespace]
        for path in release.value_files:
            command += ["--values", str(path)]
        for index, text in enumerate(release.inline_values):
            inline = Path(scratch) / f"inline-{index}.yaml"
            inline.write_text(text, encoding="utf-8")
            command += ["--values", str(inline)]
        for path in settings.user_values:
            command += ["--values", str(path)]
        for item in release.sets:
            command += ["--set", item]
        for item in release.set_strings:
            command += ["--set-string", item]
        for item in release.set_files:
            command += ["--set-file", item]
        for item in settings.user_sets:
            command += ["--set", item]
        env = dict(os.environ, HELM_CACHE_HOME=str(Path(scratch) / "cache"))
        try:
            run = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=settings.timeout,
                check=False,
                env=env,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            result.seconds = time.monotonic() - started
            return failed(
                f"helm template did not finish within {settings.timeout:g} s for chart {chart_rel}: "
                "chart not checked (raise --helm-timeout)"
            )
        except OSError as exc:
            return failed(f"chart {chart_rel} not rendered: cannot run {settings.binary}: {exc.strerror}")
    result.seconds = time.monotonic() - started
    log.info("helm template %s (%s): %.2f s", chart_rel, release.label, result.seconds)
    if run.returncode != 0:
        reason, loc = _failure(run.stderr, release, root)
        return failed(f"helm template failed for chart {chart_rel}: {reason}", loc)
    _collect(run.stdout, release, root, result)
    return result


def _failure(stderr: str, release: Release, root: Path) -> tuple[str, Location | None]:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    reason = (errors[-1] if errors else lines[-1] if lines else "no error message").removeprefix("Error: ")
    if "missing in charts/ directory" in reason or "helm dependency build" in reason:
        missing = reason.rsplit(":", 1)[-1].strip()
        reason = (
            f"chart dependencies are not vendored in charts/ ({missing}); run `helm dependency build` "
            "first: confaudit does not fetch them"
        )
    if len(reason) > 400:
        reason = reason[:400] + "..."
    loc = None
    match = _ERROR_PLACE.search(reason)
    if match:
        path = _template_path(match.group("file"), release.chart)
        if path is not None:
            is_template_line = "YAML parse error" not in reason and "converting YAML" not in reason
            line = int(match.group("line")) if match.group("line") and is_template_line else 1
            loc = Location(relative(path, root), line)
    return reason, loc


def _template_path(source: str, chart: Path) -> Path | None:
    """`web/templates/x.yaml` (first part is the chart's name) -> the file inside ``chart``."""
    parts = source.split("/", 1)
    if len(parts) != 2:
        return None
    path = chart / parts[1]
    return path if os.path.isfile(path) else None


def _collect(stdout: str, release: Release, root: Path, result: Rendered) -> None:
    chart_yaml = release.chart / "Chart.yaml"
    occurrences: dict[tuple[str, str | None], int] = {}
    templates: dict[Path, list[str]] = {}
    scratch = Model()
    for chunk in _SEPARATOR.split(stdout):
        lines = chunk.lstrip("\n").split("\n")
        match = _SOURCE.match(lines[0]) if lines else None
        if match is None:
            continue
        source = match.group("path")
        body = "\n".join(lines[1:])
        if not body.strip():
            continue
        path = _template_path(source, release.chart)
        template_lines: list[str] | None = None
        if path is not None:
            template_lines = templates.get(path)
            if template_lines is None:
                template_lines = _read_template(path, root, result)
                templates[path] = template_lines
        target = path if path is not None else chart_yaml
        rel = relative(target, root)
        result.files.add(rel)
        for document in load_text(body.encode("utf-8"), rel, scratch):
            rendered_lines = body.split("\n")
            if template_lines is None:
                line_map: tuple[int, ...] = (1,)  # packaged dependency: only the chart is known
            else:
                kind = document.data.get("kind") if isinstance(document.data, dict) else None
                kind = kind if isinstance(kind, str) else None
                occurrence = occurrences.get((source, kind), 0)
                occurrences[(source, kind)] = occurrence + 1
                line_map = template_line_map(rendered_lines, template_lines, occurrence, kind)
            document.line_map = line_map
            document.source_note = APPROXIMATE_NOTE
            document.extra["helm_source"] = source
            document.extra["helm_release"] = release.name
            document.extra["namespace"] = release.namespace  # where helm installs what names none
            result.documents.append(document)
    # Helm validates its own output as YAML, so problems here are rare; report them where they point.
    result.problems.extend(
        Problem("helm-render-failed", p.loc, release.label, f"helm output could not be read: {p.message}")
        for p in scratch.problems
        if p.rule_id == "parse-error"
    )


def _read_template(path: Path, root: Path, result: Rendered) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    for item in scan_text(text, relative(path, root)):
        if isinstance(item, Suppression):
            result.suppressions.append(item)
        else:
            result.problems.append(item)
    return text.split("\n")


# --- mapping rendered lines back to template lines -------------------------------------------

_ACTION = re.compile(r"\{\{.*?\}\}")
_KEY = re.compile(r"^(?:-\s+)?(?:\"[^\"]*\"|'[^']*'|[^\s:\"'#{}][^:#]*?)\s*:(?=\s|$)")
_EXPANDS = re.compile(r"\b(?:include|toYaml|tpl|template|nindent|indent|toJson|range|with)\b")


def _signature(line: str) -> str | None:
    stripped = line.strip()
    if not stripped or stripped.startswith("#") or stripped == "---":
        return None
    indent = len(line) - len(line.lstrip(" "))
    key = _KEY.match(stripped)
    return f"{indent}|{key.group(0) if key else stripped}"


def _template_signature(line: str) -> tuple[str | None, bool]:
    """(signature, is an action that expands into other lines)."""
    if "{{" not in line:
        return _signature(line), False
    without = _ACTION.sub("", line)
    if not without.strip():
        return None, bool(_EXPANDS.search(line))
    stripped = line.strip()
    if stripped.startswith("{{"):
        return None, bool(_EXPANDS.search(line))  # templated key or block scalar: cannot match
    return _signature(without if _KEY.match(without.strip()) else line), False


def _sections(template_lines: list[str]) -> list[tuple[int, int]]:
    sections: list[tuple[int, int]] = []
    start = 0
    for index, line in enumerate(template_lines):
        if line.rstrip() == "---" or line.startswith("--- "):
            if index > start:
                sections.append((start, index))
            start = index + 1
    if start < len(template_lines):
        sections.append((start, len(template_lines)))
    return sections or [(0, len(template_lines))]


def _pick_section(
    template_lines: list[str], sections: list[tuple[int, int]], occurrence: int, kind: str | None
) -> tuple[int, int]:
    """The template section (between `---` lines) a document came from: the n-th document of a
    kind is usually the n-th section holding that kind; a `range` repeats the last one."""
    candidates = sections
    if kind is not None:
        pattern = re.compile(rf"^\s*kind:\s*[\"']?{re.escape(kind)}[\"']?\s*$")
        candidates = [s for s in sections if any(pattern.match(template_lines[i]) for i in range(*s))] or sections
    return candidates[min(occurrence, len(candidates) - 1)]


def template_line_map(
    rendered_lines: list[str], template_lines: list[str], occurrence: int = 0, kind: str | None = None
) -> tuple[int, ...]:
    """For each rendered line (0-based), the 1-based template line it most likely came from."""
    if not template_lines:
        return (1,)
    start, end = _pick_section(template_lines, _sections(template_lines), occurrence, kind)
    template_sigs: list[str] = []
    expands: list[bool] = []
    for offset, line in enumerate(template_lines[start:end]):
        signature, is_expansion = _template_signature(line)
        template_sigs.append(signature if signature is not None else f"\0t{offset}")
        expands.append(is_expansion)
    rendered_sigs = [_signature(line) or f"\0r{index}" for index, line in enumerate(rendered_lines)]
    matcher = difflib.SequenceMatcher(None, rendered_sigs, template_sigs, autojunk=False)
    matched: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for step in range(block.size):
            matched[block.a + step] = block.b + step
    first = next((i for i, line in enumerate(template_lines[start:end]) if line.strip()), 0)
    result: list[int] = []
    previous = first
    next_matches = sorted(matched.items())
    cursor = 0
    for index in range(len(rendered_lines)):
        if index in matched:
            previous = matched[index]
            result.append(start + previous + 1)
            continue
        while cursor < len(next_matches) and next_matches[cursor][0] <= index:
            cursor += 1
        upper = next_matches[cursor][1] if cursor < len(next_matches) else len(template_sigs)
        expansion = next((j for j in range(previous, upper) if expands[j]), previous)
        result.append(start + expansion + 1)
    return tuple(result)


def chart_origin(chart: Path, root: Path) -> Location:
    return Location(relative(chart / "Chart.yaml", root), 1)


def standalone_release(chart: Path, root: Path) -> Release:
    """A chart no Application renders: its own values.yaml, a release named after its folder."""
    rel = relative(chart, root)
    return Release(
        chart=chart,
        name=release_name(chart.name),
        namespace="default",
        origin=chart_origin(chart, root),
        label=f"helm chart {rel}",
    )
