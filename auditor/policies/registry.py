"""The rule registry: ``@rule`` declares a rule's metadata next to its logic."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from auditor.model import Finding, Location, Model, Severity


class Located(Protocol):
    @property
    def loc(self) -> Location: ...


class LocatedResource(Located, Protocol):
    @property
    def resource(self) -> str: ...


RuleFunc = Callable[[Model, "RuleContext"], Iterator[Finding]]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    title: str
    rationale: str
    fix: str
    family: str
    check: RuleFunc | None  # None: a pseudo-rule whose findings come from parser problems
    help_uri: str


@dataclass(frozen=True, slots=True)
class RuleContext:
    rule: Rule
    now: dt.datetime
    cert_expiry_days: int = 30
    severity: Severity | None = None  # configured override

    def finding(
        self,
        obj: LocatedResource,
        message: str,
        *,
        loc: Location | None = None,
        resource: str | None = None,
        severity: Severity | None = None,
        fix: str | None = None,
    ) -> Finding:
        return Finding(
            rule_id=self.rule.id,
            severity=self.severity or severity or self.rule.severity,
            message=message,
            loc=loc or obj.loc,
            resource=resource or obj.resource,
            fix=fix or self.rule.fix,
        )


@dataclass(slots=True)
class Registry:
    rules: dict[str, Rule] = field(default_factory=dict)

    def add(self, new: Rule) -> None:
        if new.id in self.rules:
            raise ValueError(f"rule {new.id!r} registered twice")
        self.rules[new.id] = new

    def get(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def __iter__(self) -> Iterator[Rule]:
        return iter(sorted(self.rules.values(), key=lambda r: (r.family, r.id)))

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self.rules


REGISTRY = Registry()
DOCS_BASE = "https://github.com/confaudit/confaudit/blob/main/docs/rules.md"


def rule(*, id: str, severity: Severity, title: str, rationale: str, fix: str) -> Callable[[RuleFunc], RuleFunc]:
    """Register a rule. The function name must be the rule id with underscores."""

    def register(func: RuleFunc) -> RuleFunc:
        if func.__name__ != id.replace("-", "_"):
            raise ValueError(f"rule function {func.__name__} must be named {id.replace('-', '_')}")
        family = func.__module__.rsplit(".", 1)[-1]
        REGISTRY.add(Rule(id, severity, title, rationale, fix, family, func, f"{DOCS_BASE}#{id}"))
        return func

    return register


def pseudo_rule(*, id: str, severity: Severity, title: str, rationale: str, fix: str, family: str) -> None:
    """Register a rule whose findings are parser problems (parse-error, helm-render-failed...)."""
    REGISTRY.add(Rule(id, severity, title, rationale, fix, family, None, f"{DOCS_BASE}#{id}"))
