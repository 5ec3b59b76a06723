"""Run rules over a model: guard each rule, turn parser problems into findings, sort."""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field

from auditor.model import Finding, Model, Problem, Severity
from auditor.policies import REGISTRY, Rule, RuleContext
from auditor.suppress import apply_inline

log = logging.getLogger("confaudit")


@dataclass(frozen=True, slots=True)
class InternalError:
    rule_id: str
    message: str


@dataclass(slots=True)
class EngineResult:
    findings: list[Finding] = field(default_factory=list)
    internal_errors: list[InternalError] = field(default_factory=list)


def select_rules(only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[Rule]:
    only, skip = set(only), set(skip)
    unknown = sorted((only | skip) - set(REGISTRY.rules))
    if unknown:
        raise ValueError(f"unknown rule id(s): {', '.join(unknown)} (see `confaudit rules`)")
    return [r for r in REGISTRY if (not only or r.id in only) and r.id not in skip]


def run(
    model: Model,
    rules: list[Rule],
    now: dt.datetime,
    *,
    cert_expiry_days: int = 30,
    severities: dict[str, Severity] | None = None,
    strict: bool = False,
) -> EngineResult:
    result = EngineResult()
    selected = {r.id for r in rules}
    overrides = severities or {}
    for rule in rules:
        if rule.check is None:
            continue
        ctx = RuleContext(rule, now, cert_expiry_days, overrides.get(rule.id))
        try:
            result.findings.extend(rule.check(model, ctx))
        except Exception as exc:
            if strict:
                raise
            log.error("internal error in rule %s:\n%s", rule.id, traceback.format_exc())
            result.internal_errors.append(InternalError(rule.id, f"{type(exc).__name__}: {exc}"))
    for problem in model.problems:
        if problem.rule_id in selected:
            result.findings.append(problem_finding(problem, overrides.get(problem.rule_id)))
    findings = apply_inline(result.findings, model.suppressions)
    result.findings = sorted(set(findings), key=Finding.sort_key)
    return result


def problem_finding(problem: Problem, severity: Severity | None = None) -> Finding:
    rule = REGISTRY.get(problem.rule_id)
    return Finding(problem.rule_id, severity or rule.severity, problem.message, problem.loc, problem.resource, rule.fix)
