"""Directives the server does not have."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Model, Severity
from auditor.policies.registry import RuleContext, rule


@rule(
    id="unknown-directive",
    severity=Severity.HIGH,
    title="Directive the server does not know",
    rationale="nginx refuses to start or reload on an unknown directive ('unknown directive'), so "
    "the change never ships or a reload fails in production. Often it is a setting copied from "
    "another server's documentation, e.g. `ssl_alpn_protocols`, which nginx's http module lacks.",
    fix="Remove or correct the directive; check the name in the nginx directive index "
    "(https://nginx.org/en/docs/dirindex.html) and that the module providing it is loaded.",
)
def unknown_directive(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for item in model.unknown_directives:
        hint = f": {item.hint}" if item.hint else ""
        yield ctx.finding(item, f"unknown directive {item.name!r}{hint}", fix=_fix(item.hint, ctx))


def _fix(hint: str | None, ctx: RuleContext) -> str:
    return ctx.rule.fix if hint is None else f"{hint[0].upper()}{hint[1:].rstrip('.')}."
