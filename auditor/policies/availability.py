"""Availability during rollouts and voluntary disruptions (node drains, cluster upgrades)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Model, Severity, Workload
from auditor.policies.registry import RuleContext, rule
from auditor.policies.shutdown import TRAFFIC


def _takes_all_down(workload: Workload) -> str | None:
    """Why a rolling update may stop every replica at once, or None."""
    value = workload.max_unavailable
    if value is None:
        return None
    if value.endswith("%"):
        number = value[:-1].strip()
        if number.isdigit() and int(number) >= 100:
            return f"maxUnavailable {value} lets the rollout stop every replica at once"
        return None
    if value.isdigit() and workload.replicas is not None and int(value) >= workload.replicas:
        return f"maxUnavailable {value} is not less than replicas {workload.replicas}"
    return None


@rule(
    id="rollout-max-unavailable-all",
    severity=Severity.HIGH,
    title="Rollout can take every replica down at once",
    rationale="A rolling update whose maxUnavailable covers all replicas (100%, or a number not smaller "
    "than replicas) may terminate every old pod before a new one is ready, and the Recreate strategy "
    "always does: each deployment is an outage for a workload that serves traffic. " + TRAFFIC,
    fix="Use a RollingUpdate with maxUnavailable below the replica count (e.g. 0 with maxSurge 1, or 25%).",
)
def rollout_max_unavailable_all(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for workload in model.serving_workloads():
        if not workload.receives_traffic:
            continue
        if workload.strategy == "Recreate":
            if workload.replicas is not None and workload.replicas > 1:
                yield ctx.finding(
                    workload,
                    f"{workload.resource} uses the Recreate strategy with "
                    f"{workload.replicas} replicas: every rollout stops all of them first",
                    loc=workload.strategy_loc,
                )
            continue
        reason = _takes_all_down(workload)
        if reason is not None:
            yield ctx.finding(workload, f"{workload.resource}: {reason}", loc=workload.strategy_loc)


@rule(
    id="probe-liveness-equals-readiness",
    severity=Severity.MEDIUM,
    title="Liveness probe is the same check as the readiness probe",
    rationale="Readiness takes a busy pod out of rotation; liveness restarts it. When both probe the "
    "same endpoint with the same thresholds, a pod that is only overloaded (or waiting on a slow "
    "dependency) is restarted at the moment it is taken out of rotation, and under load the "
    "restarts cascade across replicas.",
    fix="Make liveness check only that the process is alive (a cheap endpoint, no dependencies) and "
    "give it a higher failureThreshold or period than readiness.",
)
def probe_liveness_equals_readiness(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for workload in model.serving_workloads():
        for container in workload.containers:
            live, ready = container.liveness, container.readiness
            if live is None or ready is None:
                continue
            same = (live.kind, live.target, live.period_seconds, live.failure_threshold, live.timeout_seconds)
            if same == (ready.kind, ready.target, ready.period_seconds, ready.failure_threshold, ready.timeout_seconds):
                yield ctx.finding(
                    container,
                    f"container {container.name!r}: liveness and readiness both probe "
                    f"{live.kind} {live.target} every {live.period_seconds} s, failing after "
                    f"{live.failure_threshold}",
                    loc=live.loc,
                )


@rule(
    id="pdb-missing",
    severity=Severity.LOW,
    title="Multi-replica workload has no PodDisruptionBudget",
    rationale="Without a PodDisruptionBudget a node drain or cluster upgrade may evict every replica "
    "at the same time. Reported only when the scanned tree holds the namespace's own manifests (a "
    "Namespace object, or budgets for other workloads there), since budgets are often managed "
    "elsewhere, and only for workloads that receive traffic. kube-score asks for a budget for "
    "every multi-replica Deployment and StatefulSet; confaudit does not, because evicting all "
    "replicas of a queue consumer or a controller delays work that is picked up again on "
    "rescheduling, while for a workload behind a Service it drops requests: the outage the budget "
    "prevents. Users asked for fewer such false positives. " + TRAFFIC,
    fix="Add a PodDisruptionBudget selecting the pods, e.g. `maxUnavailable: 1`.",
)
def pdb_missing(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for workload in model.serving_workloads():
        if workload.kind == "DaemonSet" or workload.replicas is None or workload.replicas < 2:
            continue
        if workload.receives_traffic and workload.namespace_managed and not workload.has_disruption_budget:
            yield ctx.finding(
                workload,
                f"{workload.resource} runs {workload.replicas} replicas and no PodDisruptionBudget selects its pods",
            )
