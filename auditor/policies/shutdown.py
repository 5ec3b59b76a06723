"""Graceful shutdown: what happens to in-flight requests when a pod is stopped on every rollout.

On deletion the kubelet runs the preStop hook, then sends SIGTERM to PID 1 of each container, and
SIGKILL when terminationGracePeriodSeconds (counted from the start, preStop included) runs out.
Meanwhile endpoint removal propagates to kube-proxy, ingress controllers and service meshes on its
own schedule: https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Model, Severity
from auditor.policies.data import workload_policy
from auditor.policies.registry import RuleContext, rule
from auditor.policies.shell import shell_wrapper

# What "receives traffic" means for these rules (auditor/parsers/kubernetes/traffic.py).
TRAFFIC = (
    "Only containers that receive traffic are checked: a Service of the scanned tree selects the pod "
    "(or an Ingress or Gateway route names the Service of a Deployment or StatefulSet), and the "
    "container is the one the Service's targetPort names (else the one with ports, else the ones "
    "with probes or hooks). A containerPort alone routes nothing: a bare Pod without a Service, or "
    "a sidecar without ports and probes next to the main container, is not reported. A hostPort "
    "counts as traffic (it is reached at the node's address)."
)


@rule(
    id="shutdown-no-prestop",
    severity=Severity.MEDIUM,
    title="Serving container has no preStop delay",
    rationale="Endpoints are removed asynchronously: kube-proxy, ingress controllers and meshes keep "
    "sending new requests to a terminating pod for a few seconds. A container that exits on SIGTERM "
    "at once drops those requests with 502/503s on every rollout, scale-down and node drain. A "
    "tcpSocket preStop hook does nothing (it is deprecated and not run). " + TRAFFIC,
    fix="Add a preStop hook that waits longer than endpoint propagation, typically 5-15 s: "
    "`lifecycle: {preStop: {sleep: {seconds: 10}}}` (Kubernetes 1.30+) or "
    '`preStop: {exec: {command: ["sleep", "10"]}}`.',
)
def shutdown_no_prestop(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for workload, container in model.serving_containers():
        if container.pre_stop_kind is None:
            yield ctx.finding(
                container,
                f"container {container.name!r} of {workload.resource} receives traffic but has no preStop hook",
            )
        elif container.pre_stop_kind == "tcpSocket":
            yield ctx.finding(
                container,
                f"container {container.name!r} has a tcpSocket preStop hook, which Kubernetes does not run",
                loc=container.pre_stop_loc,
            )
        elif container.pre_stop_seconds == 0:
            yield ctx.finding(
                container, f"container {container.name!r} preStop hook sleeps 0 s", loc=container.pre_stop_loc
            )


@rule(
    id="shutdown-grace-too-short",
    severity=Severity.HIGH,
    title="Termination grace period leaves no time to shut down",
    rationale="terminationGracePeriodSeconds counts from the start of termination and includes the "
    "preStop hook. 0 means SIGKILL at once; a period not longer than the preStop delay plus a few "
    "seconds kills the application before it has finished its in-flight requests. The Kubernetes "
    "default is 30 s.",
    fix="Set terminationGracePeriodSeconds to the preStop delay plus the application's drain time "
    "(at least 5 s more than the preStop delay), or shorten the preStop delay.",
)
def shutdown_grace_too_short(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    policy = workload_policy()
    for workload in model.serving_workloads():
        explicit = workload.termination_grace_seconds is not None
        grace = workload.termination_grace_seconds if explicit else policy.default_grace_seconds
        where = "" if explicit else " (the default)"
        if grace == 0:
            yield ctx.finding(
                workload,
                "terminationGracePeriodSeconds is 0: containers are killed without SIGTERM handling",
                loc=workload.termination_grace_loc,
            )
            continue
        for container in workload.containers:
            delay = container.pre_stop_seconds
            if delay is not None and grace is not None and grace <= delay + policy.grace_margin_seconds:
                left = max(grace - delay, 0)
                yield ctx.finding(
                    workload,
                    f"terminationGracePeriodSeconds {grace}{where} leaves {left:g} s after "
                    f"the {delay:g} s preStop delay of container {container.name!r} before SIGKILL "
                    f"(needs more than {policy.grace_margin_seconds} s)",
                    loc=workload.termination_grace_loc or container.pre_stop_loc,
                )


@rule(
    id="shutdown-shell-pid1",
    severity=Severity.HIGH,
    title="Container command is a shell wrapper that keeps SIGTERM from the application",
    rationale='With `command: [sh, -c, "node server.js"]` the shell is PID 1. PID 1 has no default '
    "signal handlers, so the shell ignores SIGTERM and does not forward it; the application never "
    "starts its graceful shutdown and is SIGKILLed when the grace period ends. dash (/bin/sh on "
    "Debian and Ubuntu) forks even a single command; bash execs a lone simple command but forks a "
    "redirected one, and before 5.1 forks the last command of a list.",
    fix='Start the application with exec so it replaces the shell (`["sh", "-c", "exec node server.js"]`), '
    "call it directly without a shell, or run an init that forwards signals (tini, dumb-init).",
)
def shutdown_shell_pid1(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for workload in model.serving_workloads():
        for container in workload.containers:
            if not container.command:
                continue  # the image's entrypoint decides, and it is not in the manifest
            wrapper = shell_wrapper((*container.command, *container.args))
            if wrapper is not None and wrapper.keeps_pid1:
                yield ctx.finding(
                    container,
                    f"container {container.name!r} runs `{wrapper.shell} -c` as PID 1: "
                    f"{wrapper.reason}, so SIGTERM never reaches the application",
                    loc=container.command_loc,
                )


@rule(
    id="shutdown-no-readiness",
    severity=Severity.MEDIUM,
    title="Serving container has no readiness probe",
    rationale="Without a readinessProbe a pod is sent traffic as soon as its containers start, before "
    "the application listens, and rolling updates advance without waiting for the new pods to be "
    "able to serve: every rollout produces connection errors. " + TRAFFIC,
    fix="Add a readinessProbe that checks the application is ready to serve (an HTTP health endpoint, "
    "a gRPC health check or at least the serving port).",
)
def shutdown_no_readiness(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for workload, container in model.serving_containers():
        if container.readiness is None:
            yield ctx.finding(
                container,
                f"container {container.name!r} of {workload.resource} receives traffic but has no readinessProbe",
            )
