"""``audit()``: the one entry point the CLI, the webhook and the GitOps check call."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.discover import Discovery, Kind, SourceFile, discover
from auditor.engine import InternalError, problem_finding, run, select_rules
from auditor.model import Finding, Location, Model, Problem, Severity, merge_record
from auditor.parsers.base import CertStore, ParseContext

log = logging.getLogger("confaudit")

INPUT_ERRORS = frozenset({"parse-error", "helm-render-failed", "config-api-removed"})
if TYPE_CHECKING:
    from auditor.parsers.yamlfiles import Document
    from auditor.policies import Rule

Parser = Callable[[list[SourceFile], ParseContext], Model]


@dataclass(frozen=True, slots=True)
class AuditOptions:
    rules: tuple[str, ...] = ()
    skip_rules: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    now: dt.datetime | None = None
    cert_expiry_days: int = 30
    severities: dict[str, Severity] = field(default_factory=dict)
    strict: bool = False  # re-raise internal errors (tests)
    helm_bin: str | None = None
    values: tuple[str, ...] = ()  # helm --values files, applied to every chart render
    sets: tuple[str, ...] = ()  # helm --set K=V, applied to every chart render
    helm_timeout: float = 60.0  # seconds per chart
    repo_map: tuple[tuple[str, str], ...] = ()  # Argo CD repoURL -> folder
    contained: bool = False  # read nothing outside the scan root (a revision confaudit diff wrote out)


@dataclass(frozen=True, slots=True)
class AuditResult:
    root: Path
    files: int
    findings: tuple[Finding, ...]
    errors: tuple[Finding, ...]  # the parser problems among the findings, for the JSON `errors` list
    internal_errors: tuple[InternalError, ...]
    model: Model

    @property
    def active(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.suppression is None)

    @property
    def suppressed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.suppression is not None)


def _parsers() -> dict[Kind, Parser]:
    from auditor.parsers import nginx, terraform

    return {Kind.NGINX: nginx.parse, Kind.TERRAFORM: terraform.parse}


def audit(paths: Iterable[str | Path], options: AuditOptions | None = None) -> AuditResult:
    options = options or AuditOptions()
    select_rules(options.rules, options.skip_rules)  # usage errors before any work
    return audit_discovery(discover([Path(p) for p in paths], options.excludes), options)


def audit_discovery(found: Discovery, options: AuditOptions) -> AuditResult:
    """``audit`` for files already found (the GitOps check discovers with a fixed root)."""
    rules = select_rules(options.rules, options.skip_rules)
    model = build_model(found, options)
    # Files a config references (certificates) are read even when ignored; their findings are not.
    return _evaluate(model, rules, options, found.root, found.is_ignored)


def audit_documents(
    documents: Iterable[Document], options: AuditOptions | None = None, root: Path | None = None
) -> AuditResult:
    """``audit`` for YAML/JSON documents already in memory (the admission webhook's objects): the
    same parsers, rules and messages, without reading or discovering any file. Documents are routed
    by content like files' documents; ``root`` is only reported (default: the working directory)."""
    from auditor.parsers import yamlfiles

    options = options or AuditOptions()
    rules = select_rules(options.rules, options.skip_rules)
    root = root or Path.cwd()
    ctx = ParseContext(
        root,
        CertStore(root, strict=options.strict),
        options.helm_bin,
        options.values,
        strict=options.strict,
        objects_alone=True,
    )
    model = Model()
    documents = list(documents)
    model.files.update(document.file for document in documents)
    model.extend(yamlfiles.route(documents, ctx))
    ctx.certs.populate(model)
    model.problems.extend(ctx.problems)
    return _evaluate(model, rules, options, root, lambda _file: False)


def _evaluate(
    model: Model, rules: list[Rule], options: AuditOptions, root: Path, is_ignored: Callable[[str], bool]
) -> AuditResult:
    """Run the rules over a built model and assemble the result every front end reports."""
    now = options.now or dt.datetime.now(dt.timezone.utc)
    engine = run(
        model,
        rules,
        now,
        cert_expiry_days=options.cert_expiry_days,
        severities=options.severities,
        strict=options.strict,
    )
    findings = tuple(f for f in engine.findings if not is_ignored(f.loc.file))
    # The JSON `errors` list: input confaudit could not read (not every parser problem: an
    # unknown TLS policy or a missing Argo CD source is a finding about the config, not an error).
    errors = tuple(f for f in findings if f.rule_id in INPUT_ERRORS)
    # Input a parser could not read because of a bug of ours is an internal error too (parsers.guard).
    internal = [*engine.internal_errors, *(_internal_error(p) for p in model.problems if p.internal)]
    return AuditResult(root, len(model.files), findings, errors, tuple(internal), model)


def _internal_error(problem: Problem) -> InternalError:
    where = f"{problem.loc.file}:{problem.loc.line}" if problem.loc.line else problem.loc.file
    return InternalError(problem.rule_id, f"{where}: {problem.message}")


def build_model(found: Discovery, options: AuditOptions) -> Model:
    from auditor.parsers.guard import isolate

    fence = os.path.realpath(found.root) if options.contained else None
    ctx = ParseContext(
        found.root,
        CertStore(found.root, fence, options.strict),
        options.helm_bin,
        options.values,
        sets=options.sets,
        helm_timeout=options.helm_timeout,
        repo_map=options.repo_map,
        fence=fence,
        strict=options.strict,
    )
    model = Model()
    model.problems.extend(found.problems)
    by_kind: dict[Kind, list[SourceFile]] = {}
    for source in found.files:
        by_kind.setdefault(source.kind, []).append(source)
    for kind, parser in _parsers().items():
        files = by_kind.get(kind)
        if files:
            # A crash parsing the family is narrowed down to the files causing it (parsers.guard).
            run = functools.partial(_run_parser, parser, ctx=ctx)
            model.extend(isolate(files, run, _file_at, f"{_PARSER_NAMES[kind]} parser", options.strict))
    # YAML files and Helm charts are parsed together: Argo CD Applications among the YAML decide
    # which charts and folders are scanned on their own (auditor/parsers/manifests.py).
    if Kind.YAML in by_kind or Kind.CHART in by_kind:
        model.extend(_manifests(by_kind.get(Kind.YAML, []), by_kind.get(Kind.CHART, []), ctx))
    for source in by_kind.get(Kind.CERT, []):
        ctx.certs.load(source.path)
        model.files.add(source.rel)
    for source in by_kind.get(Kind.CHART, []):
        model.depends(source.rel, f"{source.rel}/**")  # a chart's results depend on all its files
    ctx.certs.populate(model)
    merge_record(model.reads, ctx.certs.reads)
    model.problems.extend(ctx.problems)
    return model


_PARSER_NAMES = {Kind.NGINX: "nginx", Kind.TERRAFORM: "Terraform"}


def _run_parser(parser: Parser, files: list[SourceFile], ctx: ParseContext) -> Model:
    return parser(files, ctx)


def _file_at(source: SourceFile) -> tuple[Location, str]:
    return Location(source.rel, 1), source.rel


def _manifests(yaml_files: list[SourceFile], charts: list[SourceFile], ctx: ParseContext) -> Model:
    """The YAML/Helm/Argo CD stage, guarded inside per file, document, Application and chart; a
    crash that still escapes (rendering is too costly to retry) marks every file unchecked."""
    from auditor.parsers.gitops import manifests
    from auditor.parsers.guard import internal_problem

    try:
        return manifests.parse(yaml_files, charts, ctx)
    except Exception as exc:
        if ctx.strict:
            raise
        log.error("internal error in the manifest parser:\n%s", traceback.format_exc())
        model = Model()
        for source in [*yaml_files, *charts]:
            model.files.add(source.rel)
            model.problems.append(internal_problem(*_file_at(source), "manifest parser", exc))
        return model


__all__ = [
    "AuditOptions",
    "AuditResult",
    "audit",
    "audit_discovery",
    "audit_documents",
    "build_model",
    "problem_finding",
]
