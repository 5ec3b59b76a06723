"""Pods and their controllers into ``Workload``/``Container``, linked to Services and disruption budgets.

Defaults are Kubernetes' own (https://kubernetes.io/docs/reference/kubernetes-api/): a probe
without periodSeconds probes every 10 s, fails after 3 failures and times out after 1 s; a pod
without terminationGracePeriodSeconds gets 30 s (kept as None so messages can say "default").
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from auditor.model import Container, Location, Model, Probe, Workload
from auditor.parsers.kubernetes import Index, K8sObject, as_int, get, items, selects, traffic

# Where each controller keeps its pod template.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Rollout": ("spec", "template", "spec"),
    # OpenShift's DeploymentConfig (apps.openshift.io/v1) and the core ReplicationController run
    # their pod template like a Deployment does; both select pods with a plain label map.
    "DeploymentConfig": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
_PROBE_DEFAULTS = {"periodSeconds": 10, "failureThreshold": 3, "initialDelaySeconds": 0, "timeoutSeconds": 1}
_SLEEP = re.compile(r"(?:^|[\s;&|(])(?:/usr)?(?:/bin/)?sleep\s+(\d+(?:\.\d+)?)([smh]?)(?=$|[\s;&|)])")
_UNIT = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def build(index: Index, model: Model) -> None:
    services = _Selectors([(svc, svc.spec.get("selector")) for svc in index.of_kind("Service")], plain=True)
    budgets = _Selectors([(b, b.spec.get("selector")) for b in index.of_kind("PodDisruptionBudget")], plain=False)
    managed = index.namespaces("PodDisruptionBudget") | {obj.name for obj in index.of_kind("Namespace")}
    routes = _Routes(index, traffic.routed_services(index), index.alone)
    for obj in index.of_kind(*POD_SPEC_PATHS):
        workload = _workload(obj, services, budgets, managed, routes)
        if workload is not None:
            model.workloads.append(workload)


class _Routes:
    """What ``traffic.assign`` needs besides the workload: the tree and the routed Service names."""

    def __init__(self, index: Index, routed: set[tuple[str, str]], alone: bool) -> None:
        self.index, self.routed, self.alone = index, routed, alone


class _Selectors:
    """Objects that select pods by label (Services, PodDisruptionBudgets), indexed so that finding
    the ones selecting a pod does not compare every pair (10,000 workloads x 10,000 Services)."""

    def __init__(self, items: list[tuple[K8sObject, Any]], plain: bool) -> None:
        self._by_label: dict[tuple[str, str, str], list[tuple[K8sObject, dict[str, Any]]]] = {}
        self._scan: dict[str, list[tuple[K8sObject, dict[str, Any]]]] = {}
        for obj, selector in items:
            if not isinstance(selector, dict):
                continue  # a Service without selector has manually managed endpoints
            if plain:  # a Service selector is a plain label map
                if not selector:
                    continue
                selector = {"matchLabels": selector}
            # policy/v1: an empty PDB selector selects every pod of the namespace.
            match_labels = selector.get("matchLabels")
            if isinstance(match_labels, dict) and match_labels:
                key, value = next(iter(match_labels.items()))
                self._by_label.setdefault((obj.namespace, str(key), str(value)), []).append((obj, selector))
            else:
                self._scan.setdefault(obj.namespace, []).append((obj, selector))

    def selecting(self, namespace: str, labels: dict[str, str]) -> list[K8sObject]:
        candidates = [c for key, value in labels.items() for c in self._by_label.get((namespace, key, value), ())]
        candidates += self._scan.get(namespace, ())
        found = {id(obj): obj for obj, selector in candidates if selects(selector, labels)}
        return list(found.values())


def _workload(
    obj: K8sObject, services: _Selectors, budgets: _Selectors, managed: set[str], routes: _Routes
) -> Workload | None:
    pod_path = POD_SPEC_PATHS[obj.kind]
    pod = get(obj.doc.data, *pod_path)
    if not isinstance(pod, dict):
        return None  # e.g. a Rollout with workloadRef, or a kustomize patch without a template
    if obj.kind == "Pod":
        pod_labels = obj.labels
    else:
        template_labels = get(obj.doc.data, *pod_path[:-1], "metadata", "labels")
        pod_labels = {str(k): str(v) for k, v in template_labels.items()} if isinstance(template_labels, dict) else {}
    selecting = services.selecting(obj.namespace, pod_labels)
    selected_by = tuple(svc.resource for svc in selecting)
    has_budget = bool(budgets.selecting(obj.namespace, pod_labels))
    grace = as_int(pod.get("terminationGracePeriodSeconds"))
    strategy, max_unavailable, max_surge, strategy_loc = _strategy(obj)
    host_network = pod.get("hostNetwork") is True
    containers = tuple(
        _container(obj, (*pod_path, "containers", position), item, host_network)
        for position, item in enumerate(items(pod.get("containers")))
        if isinstance(item, dict)
    )
    receives_traffic, containers = traffic.assign(
        obj, pod_labels, containers, selecting, routes.index, routes.routed, routes.alone
    )
    runs_to_completion = obj.kind in ("Job", "CronJob") or (
        obj.kind == "Pod" and pod.get("restartPolicy") in ("Never", "OnFailure")
    )
    return Workload(
        loc=obj.at("metadata", "name"),
        resource=obj.resource,
        kind=obj.kind,
        name=obj.name,
        namespace=obj.namespace,
        labels=tuple(sorted(obj.labels.items())),
        pod_labels=tuple(sorted(pod_labels.items())),
        replicas=as_int(get(obj.doc.data, "spec", "replicas")) if obj.kind != "Pod" else 1,
        containers=containers,
        termination_grace_seconds=grace,
        termination_grace_loc=obj.at(*pod_path, "terminationGracePeriodSeconds") if grace is not None else None,
        runs_to_completion=runs_to_completion,
        selected_by_service=bool(selected_by),
        max_unavailable=max_unavailable,
        max_surge=max_surge,
        strategy_loc=strategy_loc,
        has_disruption_budget=has_budget,
        strategy=strategy,
        selected_by=selected_by,
        namespace_managed=obj.namespace in managed,
        receives_traffic=receives_traffic,
    )


def _strategy(obj: K8sObject) -> tuple[str | None, str | None, str | None, Location | None]:
    """(strategy type, maxUnavailable, maxSurge, where the deciding setting is written)."""
    spec = obj.spec
    if obj.kind == "Rollout":
        strategy = spec.get("strategy")
        if isinstance(strategy, dict) and isinstance(strategy.get("canary"), dict):
            canary = strategy["canary"]
            unavailable = canary.get("maxUnavailable")
            loc = obj.at("spec", "strategy", "canary", "maxUnavailable" if unavailable is not None else "")
            return "Canary", _percent_or_int(unavailable), _percent_or_int(canary.get("maxSurge")), loc
        if isinstance(strategy, dict) and "blueGreen" in strategy:
            return "BlueGreen", None, None, obj.at("spec", "strategy", "blueGreen")
        return None, None, None, None
    if obj.kind == "DeploymentConfig":
        return _deployment_config_strategy(obj)
    key = "strategy" if obj.kind == "Deployment" else "updateStrategy"
    if obj.kind not in ("Deployment", "StatefulSet", "DaemonSet"):
        return None, None, None, None
    strategy = spec.get(key)
    if not isinstance(strategy, dict):
        return "RollingUpdate", None, None, None
    kind = str(strategy.get("type") or "RollingUpdate")
    rolling = strategy.get("rollingUpdate")
    unavailable = rolling.get("maxUnavailable") if isinstance(rolling, dict) else None
    surge = rolling.get("maxSurge") if isinstance(rolling, dict) else None
    if unavailable is not None:
        loc = obj.at("spec", key, "rollingUpdate", "maxUnavailable")
    else:
        loc = obj.at("spec", key, "type") if "type" in strategy else obj.at("spec", key)
    return kind, _percent_or_int(unavailable), _percent_or_int(surge), loc


def _deployment_config_strategy(obj: K8sObject) -> tuple[str | None, str | None, str | None, Location | None]:
    """OpenShift's strategy: ``type: Rolling`` (the default) with ``rollingParams``, or ``Recreate``
    (https://docs.openshift.com/container-platform/4.12/applications/deployments/deployment-strategies.html)."""
    strategy = obj.spec.get("strategy")
    if not isinstance(strategy, dict):
        return "RollingUpdate", None, None, None
    kind = str(strategy.get("type") or "Rolling")
    rolling = strategy.get("rollingParams")
    unavailable = rolling.get("maxUnavailable") if isinstance(rolling, dict) else None
    surge = rolling.get("maxSurge") if isinstance(rolling, dict) else None
    if unavailable is not None:
        loc = obj.at("spec", "strategy", "rollingParams", "maxUnavailable")
    else:
        loc = obj.at("spec", "strategy", "type") if "type" in strategy else obj.at("spec", "strategy")
    kind = "RollingUpdate" if kind == "Rolling" else kind
    return kind, _percent_or_int(unavailable), _percent_or_int(surge), loc


def _percent_or_int(value: Any) -> str | None:
    return None if value is None or isinstance(value, (dict, list)) else str(value).strip()


# -- containers ----------------------------------------------------------------------------------


def _container(obj: K8sObject, path: tuple[str | int, ...], spec: dict[str, Any], host_network: bool) -> Container:
    name = str(spec.get("name") or f"#{path[-1]}")
    named_ports: dict[str, int] = {}
    ports: list[int] = []
    host_ports: list[int] = []
    for port in items(spec.get("ports")):
        number = as_int(port.get("containerPort")) if isinstance(port, dict) else None
        if number is not None:
            ports.append(number)
            if port.get("name"):
                named_ports[str(port["name"])] = number
            host_port = number if host_network else as_int(port.get("hostPort"))
            if host_port:
                host_ports.append(host_port)
    command = _strings(spec.get("command"))
    args = _strings(spec.get("args"))
    pre_stop_kind, pre_stop_seconds = _pre_stop(get(spec, "lifecycle", "preStop"))
    command_key = "command" if "command" in spec else "args"
    return Container(
        loc=obj.at(*path),
        resource=f"{obj.resource} container {name}",
        name=name,
        command=command,
        args=args,
        ports=tuple(ports),
        pre_stop_kind=pre_stop_kind,
        pre_stop_seconds=pre_stop_seconds,
        pre_stop_loc=obj.at(*path, "lifecycle", "preStop") if pre_stop_kind else None,
        readiness=_probe(obj, (*path, "readinessProbe"), spec.get("readinessProbe"), named_ports),
        liveness=_probe(obj, (*path, "livenessProbe"), spec.get("livenessProbe"), named_ports),
        command_loc=obj.at(*path, command_key) if command or args else None,
        port_names=tuple(named_ports),
        host_ports=tuple(host_ports),
    )


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple("" if v is None else str(v) for v in value)
    if isinstance(value, str):
        return (value,)
    return ()


def _pre_stop(hook: Any) -> tuple[str | None, float | None]:
    """The preStop hook's kind and the delay it causes, when it can be known."""
    if not isinstance(hook, dict):
        return None, None
    if isinstance(hook.get("sleep"), dict):  # native sleep action (Kubernetes 1.29+)
        seconds = as_int(hook["sleep"].get("seconds"))
        return "sleep", float(seconds) if seconds is not None else None
    if isinstance(hook.get("exec"), dict):
        return "exec", exec_sleep_seconds(_strings(hook["exec"].get("command")))
    if isinstance(hook.get("httpGet"), dict):
        return "httpGet", None
    if isinstance(hook.get("tcpSocket"), dict):
        return "tcpSocket", None
    return None, None


def exec_sleep_seconds(command: tuple[str, ...]) -> float | None:
    """``["sleep", "5"]``, ``["/bin/sh", "-c", "sleep 5 && nginx -s quit"]`` -> 5.0."""
    if not command:
        return None
    text = " ".join(command[2:]) if len(command) > 2 and command[1].startswith("-") else shlex.join(command)
    match = _SLEEP.search(text)
    if match is None:
        return None
    return float(match.group(1)) * _UNIT[match.group(2)]


def _probe(obj: K8sObject, path: tuple[str | int, ...], spec: Any, named_ports: dict[str, int]) -> Probe | None:
    if not isinstance(spec, dict):
        return None

    def port(value: Any) -> str:
        return str(named_ports.get(str(value), value))

    if isinstance(spec.get("httpGet"), dict):
        action = spec["httpGet"]
        scheme = str(action.get("scheme") or "HTTP").lower()
        kind, target = "httpGet", f"{scheme}://:{port(action.get('port'))}{action.get('path') or '/'}"
    elif isinstance(spec.get("tcpSocket"), dict):
        kind, target = "tcpSocket", port(spec["tcpSocket"].get("port"))
    elif isinstance(spec.get("grpc"), dict):
        action = spec["grpc"]
        kind, target = "grpc", f"{port(action.get('port'))}/{action.get('service') or ''}"
    elif isinstance(spec.get("exec"), dict):
        kind, target = "exec", " ".join(_strings(spec["exec"].get("command")))
    else:
        return None
    values = {key: as_int(spec.get(key)) for key in _PROBE_DEFAULTS}
    number = {key: value if value is not None else _PROBE_DEFAULTS[key] for key, value in values.items()}
    return Probe(
        obj.at(*path),
        kind,
        target,
        number["periodSeconds"],
        number["failureThreshold"],
        number["initialDelaySeconds"],
        number["timeoutSeconds"],
    )
