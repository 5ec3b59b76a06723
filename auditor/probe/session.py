"""Ask one endpoint its questions, one TLS connection per question.

1. baseline: every version this OpenSSL can offer, no ALPN. Does it speak TLS at all, which
   version does it prefer, which chain does it serve? If this fails nothing else is asked, so a
   dead or hanging endpoint costs one timeout, not eight.
2. each other protocol version alone (min = max): accepted or refused.
3. ALPN: the offered list (default ``h2,http/1.1``), then each protocol alone. The list shows the
   server's preference, each one alone whether it is supported at all.
4. verify: the same handshake with certificate verification on (system trust store or
   ``--ca-file``), to report what a verifying client would say.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterable
from dataclasses import dataclass

from auditor.model import TlsVersion
from auditor.probe.handshake import Answer, Question, handshake, testable_versions
from auditor.probe.network import Address, Failure, resolve, show_address
from auditor.probe.target import Job

DEFAULT_ALPN = ("h2", "http/1.1")
MAX_PARALLEL = 8


@dataclass(frozen=True, slots=True)
class Settings:
    timeout: float = 5.0
    alpn: tuple[str, ...] = DEFAULT_ALPN
    cafile: str | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything one job's handshakes showed."""

    job: Job
    address: str | None = None  # the address the handshakes went to
    failure: Failure | None = None  # the endpoint could not be probed at all
    baseline: Answer | None = None
    versions: tuple[tuple[TlsVersion, Answer], ...] = ()  # one answer per version asked alone
    untestable: tuple[TlsVersion, ...] = ()  # versions the local OpenSSL cannot offer
    alpn: tuple[Answer, ...] = ()  # the offered list first, then each protocol alone
    verify: Answer | None = None
    seconds: float = 0.0

    @property
    def handshakes(self) -> int:
        asked = [self.baseline, *(a for _, a in self.versions), *self.alpn, self.verify]
        return sum(1 for a in asked if a is not None)

    def accepted(self) -> tuple[TlsVersion, ...]:
        found = {v for v, a in self.versions if a.ok}
        if self.baseline is not None and self.baseline.version is not None:
            found.add(self.baseline.version)
        return tuple(v for v in TlsVersion if v in found)

    def refused(self) -> tuple[TlsVersion, ...]:
        accepted = self.accepted()
        return tuple(v for v, a in self.versions if not a.ok and v not in accepted)


def ask(job: Job, settings: Settings) -> Facts:
    start = time.monotonic()
    target = job.target
    addresses = resolve(target.dial, target.port, settings.timeout)
    if isinstance(addresses, Failure):
        return Facts(job, failure=addresses, seconds=time.monotonic() - start)
    versions = testable_versions()
    low, high = versions[0], versions[-1]
    baseline_question = Question("baseline", low, high)
    baseline, address = _first_reachable(addresses, job.sni, baseline_question, settings)
    shown = show_address(address)
    if not baseline.ok:
        return Facts(job, shown, baseline.failure, baseline, seconds=time.monotonic() - start)

    def one(question: Question) -> Answer:
        return handshake(address, job.sni, question, settings.timeout, settings.cafile)

    by_version = tuple((v, one(Question(v.value, v, v))) for v in versions if v is not baseline.version)
    offered = settings.alpn
    alpn_questions = [Question(f"ALPN {','.join(offered)}", low, high, offered)]
    if len(offered) > 1:
        alpn_questions += [Question(f"ALPN {p}", low, high, (p,)) for p in offered]
    alpn = tuple(one(q) for q in alpn_questions) if offered else ()
    verify = one(Question("verify", low, high, verify=True))
    untestable = tuple(v for v in TlsVersion if v not in versions and v is not TlsVersion.SSL2)
    return Facts(job, shown, None, baseline, by_version, untestable, alpn, verify, time.monotonic() - start)


def _first_reachable(
    addresses: list[Address], sni: str | None, question: Question, settings: Settings
) -> tuple[Answer, Address]:
    """Like ``socket.create_connection``: try each address until one accepts TCP."""
    answer: Answer | None = None
    for address in addresses:
        answer = handshake(address, sni, question, settings.timeout, settings.cafile)
        if answer.ok or answer.failure is None or not answer.failure.kind.is_connect:
            return answer, address
    assert answer is not None
    return answer, addresses[-1]


def ask_all(jobs: Iterable[Job], settings: Settings) -> list[Facts]:
    """Probe every job, several endpoints at a time (each endpoint's questions in order)."""
    jobs = list(jobs)
    if not jobs:
        return []
    workers = min(MAX_PARALLEL, len(jobs))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="confaudit-probe") as pool:
        return list(pool.map(lambda job: ask(job, settings), jobs))
