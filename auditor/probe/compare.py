"""``--from-config``: which endpoints a configuration promises, and what each rule says about the
configuration and about the live server, side by side.

Verdicts are computed per (listener, SNI name, rule) by running the same rule functions through
the same engine on a one-listener model: the static listener (restricted to that name) on one
side, the probed listener for that endpoint and name on the other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from auditor.engine import run
from auditor.model import Listener, Location, Model, Problem
from auditor.policies import Rule
from auditor.probe.network import FailureKind
from auditor.probe.session import Facts
from auditor.probe.target import Job, Override, Target, is_ip

# The rules whose verdict a handshake can confirm or contradict.
COMPARED = (
    "tls-legacy-protocol",
    "tls13-disabled",
    "tls-port-without-tls",
    "alpn-h2-missing",
    "alpn-h2-order",
    "cert-san-mismatch",
    "cert-no-san",
    "cert-expired",
    "cert-expiring",
    "cert-chain-incomplete",
    "cert-chain-order",
    "cert-weak-key",
    "cert-weak-signature",
)
CHAIN_RULES = ("cert-chain-incomplete", "cert-chain-order")
_WILDCARD_ADDRESSES = {"*", "0.0.0.0", "[::]", "::"}  # noqa: S104 - recognised, never bound


@dataclass(frozen=True, slots=True)
class Skipped:
    listener: Listener
    name: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    jobs: list[Job]  # unique, in configuration order
    pairs: list[tuple[Listener, int]]  # static listener -> index into jobs
    skipped: list[Skipped]


def plan(model: Model, overrides: dict[str, Override]) -> Plan:
    jobs: list[Job] = []
    index: dict[Job, int] = {}
    pairs: list[tuple[Listener, int]] = []
    skipped: list[Skipped] = []
    for listener in model.listeners:
        if listener.tls is None and not listener.tls_expected:
            continue
        names: list[str | None] = []
        for raw in listener.server_names:
            name = raw[1:] if raw.startswith(".") else raw  # nginx ".example.com": the apex and subdomains
            if _sni_usable(name):
                names.append(name)
            elif raw not in ("", "_"):
                skipped.append(Skipped(listener, raw, "a wildcard or regex server_name cannot be sent as SNI"))
        for sni in names or [None]:
            target = _target(listener, sni, overrides)
            if isinstance(target, str):
                skipped.append(Skipped(listener, sni, target))
                continue
            job = Job(target, sni, sni)
            if job not in index:
                index[job] = len(jobs)
                jobs.append(job)
            pairs.append((listener, index[job]))
    return Plan(jobs, pairs, skipped)


def _sni_usable(name: str) -> bool:
    return bool(name) and name != "_" and not name.startswith("~") and "*" not in name and "$" not in name


def _target(listener: Listener, name: str | None, overrides: dict[str, Override]) -> Target | str:
    override = (overrides.get(name.lower()) if name else None) or overrides.get(listener.address.lower())
    port = listener.port
    if override is not None:
        port = override.port or port
        if port is None:
            return f"{listener.address} has no port: give one with --resolve NAME=ADDR:PORT"
        # Label the endpoint as the configuration names it, and connect where --resolve says.
        concrete = listener.address not in _WILDCARD_ADDRESSES and not listener.address.startswith("unix:")
        host = name or (listener.address.strip("[]") if concrete else override.address)
        return Target(host, port, override.address)
    if listener.address.startswith("unix:"):
        key = name or listener.address
        return f"listens on a unix socket ({listener.address}): map it with --resolve {key}=ADDR:PORT"
    if port is None:
        return f"{listener.address} has no port: give one with --resolve NAME=ADDR:PORT"
    if listener.address not in _WILDCARD_ADDRESSES:
        return Target(listener.address.strip("[]"), port)
    if name is not None and not is_ip(name):
        return Target(name, port)  # all addresses: reach it the way clients do, by its name
    return f"listens on all addresses and has no server name to resolve: pass --resolve '{listener.address}=ADDR'"


@dataclass(frozen=True, slots=True)
class Verdict:
    state: str  # "fires", "passes", "unknown"
    messages: tuple[str, ...] = ()
    loc: Location | None = None
    note: str = ""  # why it is unknown


@dataclass(frozen=True, slots=True)
class Comparison:
    listener: Listener
    job: Job
    rule_id: str
    static: Verdict
    live: Verdict

    @property
    def outcome(self) -> str:
        if "unknown" in (self.static.state, self.live.state):
            return "unknown"
        return "agree" if self.static.state == self.live.state else "disagree"


def verdicts(
    listener: Listener, rules: list[Rule], now: dt.datetime, days: int, unknown: dict[str, str]
) -> dict[str, Verdict]:
    bundles = [ref.bundle for ref in (listener.tls.certificates if listener.tls else ()) if ref.bundle is not None]
    model = Model(listeners=[listener], certificates=list(dict.fromkeys(bundles)))
    result = run(model, rules, now, cert_expiry_days=days)
    found: dict[str, list[tuple[str, Location]]] = {}
    for finding in result.findings:
        found.setdefault(finding.rule_id, []).append((finding.message, finding.loc))
    failed = {error.rule_id: f"internal error: {error.message}" for error in result.internal_errors}
    out: dict[str, Verdict] = {}
    for rule in rules:
        reason = unknown.get(rule.id) or failed.get(rule.id)
        if reason:
            out[rule.id] = Verdict("unknown", note=reason)
        elif rule.id in found:
            hits = found[rule.id]
            out[rule.id] = Verdict("fires", tuple(m for m, _ in hits), hits[0][1])
        else:
            out[rule.id] = Verdict("passes")
    return out


def static_unknowns(listener: Listener) -> dict[str, str]:
    refs = listener.tls.certificates if listener.tls else ()
    if listener.tls is not None and not any(ref.bundle is not None for ref in refs):
        reason = "the configuration's certificate could not be read (missing, external or dynamic)"
        return {r: reason for r in COMPARED if r.startswith("cert-")}
    return {}


def live_unknowns(facts: Facts, chains_complete: bool) -> dict[str, str]:
    if facts.failure is not None and facts.failure.kind is FailureKind.NOT_TLS:
        return {r: "the endpoint does not speak TLS" for r in COMPARED if r != "tls-port-without-tls"}
    if facts.failure is not None:
        return {r: f"not probed: {facts.failure.message}" for r in COMPARED}
    if not chains_complete:
        return {r: "this Python exposes only the leaf certificate" for r in CHAIN_RULES}
    return {}


def compare(
    plan_: Plan,
    facts: list[Facts],
    live: dict[int, Listener],
    rules: list[Rule],
    now: dt.datetime,
    days: int,
    chains_complete: bool,
) -> list[Comparison]:
    compared = [r for r in rules if r.id in COMPARED]
    rows: list[Comparison] = []
    for listener, index in plan_.pairs:
        job = plan_.jobs[index]
        named = dataclasses.replace(listener, server_names=(job.sni,)) if job.sni else listener
        static = verdicts(named, compared, now, days, static_unknowns(listener))
        probed = live.get(index)
        unknown = live_unknowns(facts[index], chains_complete)
        if probed is None:
            unknown = unknown or {r.id: "not probed" for r in compared}
            live_verdicts = {r.id: Verdict("unknown", note=unknown.get(r.id, "not probed")) for r in compared}
        else:
            live_verdicts = verdicts(probed, compared, now, days, unknown)
        rows += [Comparison(listener, job, r.id, static[r.id], live_verdicts[r.id]) for r in compared]
    return rows


def disagreements(rows: Iterable[Comparison], live: dict[Job, Listener]) -> list[Problem]:
    problems = []
    for row in rows:
        if row.outcome != "disagree":
            continue
        tls = row.listener.tls
        if row.static.state == "fires":
            loc = row.static.loc or row.listener.loc
            probed = live.get(row.job)
            text = (
                f"{row.rule_id}: the configuration fires ({row.static.messages[0]}) but the live endpoint "
                f"{row.job.label} does not ({fact(row.rule_id, probed)})"
            )
        else:
            loc = tls.loc if tls is not None else row.listener.loc
            text = (
                f"{row.rule_id}: the live endpoint {row.job.label} fires ({row.live.messages[0]}) but the "
                f"configuration does not ({fact(row.rule_id, row.listener)})"
            )
        problems.append(Problem("probe-static-disagreement", loc, row.listener.resource, text))
    return problems


def fact(rule_id: str, listener: Listener | None) -> str:
    """The property a rule looked at, for a disagreement message."""
    if listener is None or listener.tls is None:
        return "no TLS"
    tls = listener.tls
    if rule_id in ("tls-legacy-protocol", "tls13-disabled"):
        return tls.protocols_note
    if rule_id.startswith("alpn-"):
        return f"ALPN {', '.join(tls.alpn) or 'none'}"
    bundle = next((ref.bundle for ref in tls.certificates if ref.bundle is not None), None)
    leaf = bundle.leaf if bundle is not None else None
    if bundle is None or leaf is None:
        return "no certificate"
    sans = ", ".join([*leaf.dns_names, *leaf.ip_addresses]) or "no SAN"
    return (
        f"{leaf.subject}, SANs {sans}, {leaf.key_type} {leaf.key_bits}, valid until {leaf.not_after:%Y-%m-%d}, "
        f"chain of {len(bundle.certificates)}"
    )
