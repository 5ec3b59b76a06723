"""Probe reports: what each endpoint answered, the findings, and static vs live side by side.

The findings part is the same as ``confaudit scan``'s (JSON ``findings``/``errors`` contract,
SARIF results); the JSON adds a ``probe`` object with the endpoints' answers and, with
``--from-config``, one ``comparison`` row per (listener, SNI, rule).
"""

from __future__ import annotations

import ssl
from collections import Counter
from typing import Any

from auditor.model import Certificate, Finding, Severity
from auditor.probe.compare import Comparison, Verdict
from auditor.probe.handshake import Answer
from auditor.probe.run import ProbeResult
from auditor.probe.session import Facts


def render(fmt: str, probe: ProbeResult) -> str:
    """``table`` and ``json`` add the endpoints' answers and the comparison; the other formats
    (sarif, markdown, github, junit) are ``scan``'s reporters over the probe's findings."""
    if fmt == "json":
        from auditor.report import dumps

        return dumps(document(probe), flat_from=3) + "\n"  # the probe's rows one per line, too
    if fmt == "table":
        return table(probe)
    from auditor.report import renderer

    return renderer(fmt)(probe.result)


# --- JSON -----------------------------------------------------------------------------------


def document(probe: ProbeResult) -> dict[str, Any]:
    from auditor.report.json import document as findings_document

    data = findings_document(probe.result)
    data["probe"] = {
        "endpoints": [_facts_dict(f) for f in probe.facts],
        "handshakes": probe.handshakes,
        "seconds": round(probe.seconds, 3),
        "trust_store": probe.trust_store,
        "full_chains": probe.chains_complete,
        "openssl": ssl.OPENSSL_VERSION,
        "comparison": None if probe.comparison is None else [_row_dict(r) for r in probe.comparison],
        "disagreements": None
        if probe.comparison is None
        else sum(1 for r in probe.comparison if r.outcome == "disagree"),
        "skipped": [
            {
                "listener": s.listener.resource,
                "file": s.listener.loc.file,
                "line": s.listener.loc.line,
                "server_name": s.name,
                "reason": s.reason,
            }
            for s in probe.skipped
        ],
    }
    return data


def _answer_dict(answer: Answer | None) -> dict[str, Any] | None:
    if answer is None:
        return None
    return {
        "question": answer.question.name,
        "ok": answer.ok,
        "version": answer.version.value if answer.version else None,
        "alpn": answer.alpn,
        "cipher": answer.cipher,
        "failure": None
        if answer.failure is None
        else {"kind": answer.failure.kind.value, "message": answer.failure.message},
        "seconds": round(answer.seconds, 4),
    }


def _facts_dict(facts: Facts) -> dict[str, Any]:
    job = facts.job
    return {
        "endpoint": job.target.uri,
        "host": job.target.host,
        "port": job.target.port,
        "connect": job.target.connect,
        "address": facts.address,
        "sni": job.sni,
        "name": job.name,
        "failure": None
        if facts.failure is None
        else {"kind": facts.failure.kind.value, "message": facts.failure.message},
        "protocols": {
            "accepted": [v.value for v in facts.accepted()],
            "refused": [v.value for v in facts.refused()],
            "untestable": [v.value for v in facts.untestable],
        },
        "alpn": [
            {"offered": list(a.question.alpn), "selected": a.alpn, "failure": a.failure.message if a.failure else None}
            for a in facts.alpn
        ],
        "certificates": [_cert_dict(c) for c in _chain(facts)],
        "verify": None
        if facts.verify is None
        else {"ok": facts.verify.ok, "message": facts.verify.failure.message if facts.verify.failure else None},
        "answers": [
            _answer_dict(a)
            for a in (facts.baseline, *(a for _, a in facts.versions), *facts.alpn, facts.verify)
            if a is not None
        ],
        "handshakes": facts.handshakes,
        "seconds": round(facts.seconds, 3),
    }


def _chain(facts: Facts) -> list[Certificate]:
    from auditor.parsers.certs import parse_bytes

    certs: list[Certificate] = []
    for der in facts.baseline.chain if facts.baseline else ():
        parsed = parse_bytes(der, facts.job.target.uri)
        if parsed.bundle is not None:
            certs.extend(parsed.bundle.certificates)
    return certs


def _cert_dict(cert: Certificate) -> dict[str, Any]:
    return {
        "subject": cert.subject,
        "issuer": cert.issuer,
        "dns_names": list(cert.dns_names),
        "ip_addresses": list(cert.ip_addresses),
        "key": f"{cert.key_type} {cert.key_bits}",
        "not_after": cert.not_after.isoformat(),
        "sha256": cert.fingerprint_sha256,
    }


def _verdict_dict(verdict: Verdict) -> dict[str, Any]:
    data: dict[str, Any] = {"state": verdict.state, "messages": list(verdict.messages)}
    if verdict.note:
        data["note"] = verdict.note
    return data


def _row_dict(row: Comparison) -> dict[str, Any]:
    return {
        "listener": row.listener.resource,
        "file": row.listener.loc.file,
        "line": row.listener.loc.line,
        "endpoint": row.job.target.uri,
        "sni": row.job.sni,
        "rule_id": row.rule_id,
        "static": _verdict_dict(row.static),
        "live": _verdict_dict(row.live),
        "outcome": row.outcome,
    }


# --- table ----------------------------------------------------------------------------------


def table(probe: ProbeResult) -> str:
    lines = ["Endpoints", ""]
    for facts in probe.facts:
        lines += _facts_lines(facts, probe.trust_store)
    lines += _findings_lines(probe.result.active)
    if probe.comparison is not None:
        lines += _comparison_lines(probe)
    lines.append(_summary(probe))
    return "\n".join(lines) + "\n"


def _facts_lines(facts: Facts, store: str) -> list[str]:
    job = facts.job
    via = f" via {facts.address}" if facts.address else ""
    head = f"{job.target.uri}  {('SNI ' + job.sni) if job.sni else '(no SNI)'}{via}"
    if facts.failure is not None:
        return [head, f"  FAILED        {facts.failure.message}", ""]
    out = [f"{head}  ({facts.handshakes} handshakes, {facts.seconds:.2f} s)"]
    accepted = ", ".join(v.value for v in facts.accepted()) or "none"
    refused = ", ".join(v.value for v in facts.refused()) or "none"
    untested = ", ".join(v.value for v in facts.untestable)
    protocols = f"accepts {accepted}; refuses {refused}"
    if untested:
        protocols += f" ({untested} not testable with {ssl.OPENSSL_VERSION})"
    out.append(f"  protocols     {protocols}")
    answers = [f"{','.join(a.question.alpn)} -> {a.alpn or ('none' if a.ok else 'refused')}" for a in facts.alpn]
    out.append(f"  ALPN offered  {' | '.join(answers) or 'not asked'}")
    for index, cert in enumerate(_chain(facts), start=1):
        sans = ", ".join([*cert.dns_names, *cert.ip_addresses]) or "no SAN"
        label = "certificates" if index == 1 else ""
        out.append(
            f"  {label:<13} {index}. {cert.subject} (SANs: {sans}; {cert.key_type} {cert.key_bits}; "
            f"until {cert.not_after:%Y-%m-%d})"
        )
    if facts.baseline is not None and not facts.baseline.chain_complete:
        out.append("                (this Python exposes only the leaf: chain rules not checked)")
    if facts.verify is not None:
        failure = facts.verify.failure
        verdict = "ok" if failure is None else f"FAILS: {failure.message}"
        out.append(f"  verification  {verdict} (against {store})")
    return [*out, ""]


def _findings_lines(active: tuple[Finding, ...]) -> list[str]:
    from auditor.report.table import findings_tables

    return findings_tables(active)


def _cell(verdict: Verdict) -> str:
    if verdict.state == "fires":
        return "fires: " + verdict.messages[0]
    if verdict.state == "unknown":
        return "unknown: " + verdict.note
    return "passes"


def _comparison_lines(probe: ProbeResult) -> list[str]:
    from tabulate import tabulate

    assert probe.comparison is not None
    rows = []
    failed_jobs: set[str] = set()
    for row in probe.comparison:
        where = f"{row.listener.resource}\n{row.listener.loc}"
        if row.live.state == "unknown" and row.live.note.startswith("not probed"):
            if row.job.label not in failed_jobs:
                failed_jobs.add(row.job.label)
                rows.append([where, row.job.label, "(all)", "-", row.live.note, "unknown"])
            continue
        if row.outcome == "agree" and row.static.state == "passes":
            continue
        rows.append(
            [
                where,
                row.job.label,
                row.rule_id,
                _cell(row.static),
                _cell(row.live),
                row.outcome.upper() if row.outcome == "disagree" else row.outcome,
            ]
        )
    lines = ["Static analysis vs live endpoint (rules that fire on either side, and disagreements)"]
    if rows:
        lines.append(
            tabulate(
                rows,
                headers=["listener", "endpoint", "rule", "static", "live", "outcome"],
                tablefmt="simple_grid",
                maxcolwidths=[34, 30, 22, 40, 40, None],
            )
        )
    counts = Counter(r.outcome for r in probe.comparison)
    silent = sum(1 for r in probe.comparison if r.outcome == "agree" and r.static.state == "passes")
    lines.append(
        f"{len(probe.comparison)} comparisons: {counts.get('agree', 0)} agree ({silent} of them silent), "
        f"{counts.get('disagree', 0)} disagree, {counts.get('unknown', 0)} unknown"
    )
    for skipped in probe.skipped:
        name = f" ({skipped.name})" if skipped.name else ""
        lines.append(f"not probed: {skipped.listener.resource}{name} at {skipped.listener.loc}: {skipped.reason}")
    return [*lines, ""]


def _summary(probe: ProbeResult) -> str:
    active = probe.result.active
    counts = Counter(f.severity for f in active)
    by_severity = ", ".join(f"{counts[s]} {s.value}" for s in reversed(Severity) if counts.get(s))
    text = (
        f"{len(active)} finding{'s' if len(active) != 1 else ''} from {len(probe.facts)} endpoint"
        f"{'s' if len(probe.facts) != 1 else ''} ({probe.handshakes} handshakes in {probe.seconds:.2f} s)"
    )
    if by_severity:
        text += f": {by_severity}"
    if probe.result.suppressed:
        text += f"; {len(probe.result.suppressed)} suppressed"
    if probe.result.internal_errors:
        text += f"; {len(probe.result.internal_errors)} internal errors (see log)"
    return text
