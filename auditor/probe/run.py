"""``probe()``: handshake with the named endpoints, build the model, run the rules.

With ``configs`` the endpoints come from the static scan (``api.audit``) of those paths, and each
(listener, SNI name, rule) gets a static and a live verdict; disagreements become findings of
``probe-static-disagreement`` at the configuration line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from auditor.api import AuditOptions, AuditResult, audit
from auditor.engine import run, select_rules
from auditor.model import Finding, Listener, Location, Model, Protocol, Route
from auditor.policies import Rule
from auditor.probe.build import Built, Extras, build
from auditor.probe.compare import CHAIN_RULES, COMPARED, Comparison, Skipped, compare, disagreements, plan
from auditor.probe.session import Facts, Settings, ask_all
from auditor.probe.target import Job, Override, Target, is_ip

PSEUDO_RULES = (
    "probe-connect-failed",
    "probe-handshake-failed",
    "probe-not-tls",
    "probe-cert-untrusted",
    "probe-static-disagreement",
    "parse-error",
)
PROBE_RULES = (*COMPARED, *PSEUDO_RULES)
UNCHECKED = ("probe-connect-failed", "probe-handshake-failed", "probe-not-tls", "parse-error")


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    settings: Settings = field(default_factory=Settings)
    now: dt.datetime | None = None
    cert_expiry_days: int = 30
    skip_rules: tuple[str, ...] = ()
    resolve: dict[str, Override] = field(default_factory=dict)
    strict: bool = False  # re-raise internal errors (tests)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    result: AuditResult  # the findings to report: live rules, probe failures, disagreements
    facts: tuple[Facts, ...]
    comparison: tuple[Comparison, ...] | None  # None unless --from-config
    skipped: tuple[Skipped, ...]
    trust_store: str
    chains_complete: bool
    seconds: float

    @property
    def handshakes(self) -> int:
        return sum(f.handshakes for f in self.facts)


def trust_store(settings: Settings) -> str:
    return f"--ca-file {settings.cafile}" if settings.cafile else "the system trust store"


def jobs_for(targets: list[Target], snis: list[str], overrides: dict[str, Override]) -> list[Job]:
    jobs: list[Job] = []
    for target in targets:
        override = overrides.get(target.host.lower())
        if override is not None:
            target = Target(target.host, override.port or target.port, override.address)
        if snis:
            jobs += [Job(target, sni, sni) for sni in snis]
        else:
            # Like a browser or curl: send the host as SNI unless it is an IP address.
            jobs.append(Job(target, None if is_ip(target.host) else target.host, target.host))
    return list(dict.fromkeys(jobs))


def probe(targets: list[Target], snis: list[str], options: ProbeOptions, grpc: bool = False) -> ProbeResult:
    start = time.monotonic()
    facts = ask_all(jobs_for(targets, snis, options.resolve), options.settings)
    return evaluate(facts, options, grpc, start)


def evaluate(facts: list[Facts], options: ProbeOptions, grpc: bool = False, start: float | None = None) -> ProbeResult:
    """Model, rules and findings for answers already collected."""
    extra = Extras(routes=(_declared_grpc(),), codec=Protocol.AUTO) if grpc else Extras()
    built = build(facts, [extra] * len(facts), trust_store(options.settings))
    result = _evaluate(built, options, Path.cwd(), 0)
    seconds = time.monotonic() - start if start is not None else sum(f.seconds for f in facts)
    return ProbeResult(result, tuple(facts), None, (), trust_store(options.settings), built.chains_complete, seconds)


def _declared_grpc() -> Route:
    return Route(Location("command line", None), "--grpc", "(declared with --grpc)", None, True, None, Protocol.GRPC)


def probe_configs(paths: list[str], options: ProbeOptions) -> ProbeResult:
    start = time.monotonic()
    static = audit(
        paths, AuditOptions(now=options.now, cert_expiry_days=options.cert_expiry_days, strict=options.strict)
    )
    planned = plan(static.model, options.resolve)
    facts = ask_all(planned.jobs, options.settings)
    extras = [Extras() for _ in planned.jobs]
    for listener, index in planned.pairs:
        if not extras[index].routes and extras[index].codec is Protocol.AUTO:
            extras[index] = _extras_from(listener)
    built = build(facts, extras, trust_store(options.settings))
    rules = _rules(options, built)
    now = _now(options)
    rows = compare(planned, facts, built.listeners, rules, now, options.cert_expiry_days, built.chains_complete)
    by_job = {planned.jobs[i]: listener for i, listener in built.listeners.items()}
    built.model.problems.extend(disagreements(rows, by_job))
    # Inline suppressions in the configuration apply to disagreements reported at its lines.
    built.model.suppressions.extend(static.model.suppressions)
    result = _evaluate(built, options, static.root, static.files)
    return ProbeResult(
        result,
        tuple(facts),
        tuple(rows),
        tuple(planned.skipped),
        trust_store(options.settings),
        built.chains_complete,
        time.monotonic() - start,
    )


def _extras_from(listener: Listener) -> Extras:
    return Extras(routes=tuple(r for r in listener.routes if r.is_grpc), codec=listener.codec)


def _now(options: ProbeOptions) -> dt.datetime:
    return options.now or dt.datetime.now(dt.timezone.utc)


def _rules(options: ProbeOptions, built: Built) -> list[Rule]:
    skip = set(options.skip_rules)
    if not built.chains_complete:
        skip |= set(CHAIN_RULES)  # only the leaf was readable: the chain cannot be judged
    offered = options.settings.alpn
    if "h2" not in offered:  # h2 was never offered: whether the server would select it is unknown
        skip |= {"alpn-h2-missing", "alpn-h2-order"}
    elif "http/1.1" not in offered:
        skip.add("alpn-h2-order")
    return select_rules(PROBE_RULES, sorted(skip))


def _evaluate(built: Built, options: ProbeOptions, root: Path, files: int) -> AuditResult:
    model: Model = built.model
    engine = run(
        model, _rules(options, built), _now(options), cert_expiry_days=options.cert_expiry_days, strict=options.strict
    )
    findings = merge_names(engine.findings)
    # The JSON `errors` list: what could not be checked (unreachable, no TLS, unreadable
    # certificate), not live findings such as an untrusted chain or a disagreement.
    problem_keys = {(p.rule_id, p.loc, p.message) for p in model.problems if p.rule_id in UNCHECKED}
    errors = tuple(f for f in findings if (f.rule_id, f.loc, f.message) in problem_keys)
    return AuditResult(root, files, tuple(findings), errors, tuple(engine.internal_errors), model)


def merge_names(findings: list[Finding]) -> list[Finding]:
    """One finding for an endpoint that answers the same for several SNI names (protocols, a
    certificate served for all of them), naming every SNI in its resource."""
    groups: dict[tuple[object, ...], list[Finding]] = {}
    for finding in findings:
        key = (finding.rule_id, finding.severity, finding.message, finding.loc, finding.fix, finding.suppression)
        groups.setdefault(key, []).append(finding)
    merged = []
    for group in groups.values():
        first = group[0]
        prefix = first.resource.split(" SNI ", 1)[0]
        if len(group) > 1 and all(f.resource.startswith(prefix + " SNI ") for f in group):
            names = ", ".join(sorted({f.resource.split(" SNI ", 1)[1] for f in group}))
            first = dataclasses.replace(first, resource=f"{prefix} SNI {names}")
        merged.append(first)
    return sorted(merged, key=Finding.sort_key)
