"""Which workloads receive traffic, and which of their containers serve it.

A workload receives traffic when a Service of the scanned tree selects its pods. A Deployment or
StatefulSet (and OpenShift's DeploymentConfig, Argo's Rollout) also does when an Ingress or a Gateway
API route names a Service of its namespace that the tree does not hold, under the workload's name or
its ``app`` / ``app.kubernetes.io/name`` label: that Service is applied from elsewhere. A
containerPort alone routes nothing ("Not specifying a port here DOES NOT prevent that port from
being exposed", https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#ports):
a bare Pod with one and no Service gets no load-balanced requests that a shutdown could drop.
A container with a hostPort (or any port under ``hostNetwork``) is reached at its node's address
(node agents, DaemonSet ingress proxies) and receives traffic with no Service.

Reviewed alone (the admission webhook), a workload's Services are in the cluster, not among the
documents: there a container that declares a port is taken to serve.

The serving containers are the ones a selecting Service's ``targetPort`` names (a number among
their containerPorts or a port name; ``targetPort`` defaults to ``port``); when no container
declares the target, the containers with ports; when none declares ports, the containers with a
readiness probe or a preStop hook (a log shipper or proxy sidecar without either is not the one
serving), else every container, since any of them may be the one listening.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auditor.model import Container
from auditor.parsers.kubernetes import Index, K8sObject, as_int, get, items

# Controllers whose pods sit behind a named Service in the usual chart or kustomize layout.
_ROUTED_KINDS = frozenset({"Deployment", "StatefulSet", "DeploymentConfig", "Rollout"})
_NAME_LABELS = ("app", "app.kubernetes.io/name")


def routed_services(index: Index) -> set[tuple[str, str]]:
    """(namespace, name) of each Service an Ingress or an HTTPRoute/GRPCRoute sends requests to."""
    named: set[tuple[str, str]] = set()
    for ingress in index.of_kind("Ingress"):
        backends = [ingress.spec.get("defaultBackend"), ingress.spec.get("backend")]
        for rule in items(ingress.spec.get("rules")):
            backends += [get(path, "backend") for path in items(get(rule, "http", "paths"))]
        for backend in backends:
            # networking.k8s.io/v1 `service.name`; extensions/v1beta1 `serviceName`.
            name = get(backend, "service", "name") or get(backend, "serviceName")
            if isinstance(name, str) and name:
                named.add((ingress.namespace, name))
    for route in index.of_kind("HTTPRoute", "GRPCRoute"):
        for rule in items(route.spec.get("rules")):
            for ref in items(get(rule, "backendRefs")):
                if isinstance(ref, dict) and ref.get("kind", "Service") == "Service" and ref.get("name"):
                    namespace = ref.get("namespace")
                    namespace = namespace if isinstance(namespace, str) and namespace else route.namespace
                    named.add((namespace, str(ref["name"])))
    return named


def assign(
    obj: K8sObject,
    pod_labels: dict[str, str],
    containers: tuple[Container, ...],
    services: list[K8sObject],
    index: Index,
    routed: set[tuple[str, str]],
    alone: bool,
) -> tuple[bool, tuple[Container, ...]]:
    """(does the workload receive traffic, its containers with ``serving`` set)."""
    with_ports = [c for c in containers if c.ports]
    if alone and not services:
        return bool(with_ports), _mark(containers, with_ports)
    if services:
        targeted = [c for c in containers if any(_targets(svc, c) for svc in services)]
        return True, _mark(containers, targeted or with_ports or _prepared(containers))
    on_node = [c for c in containers if c.host_ports]
    if on_node:
        return True, _mark(containers, on_node)
    if obj.kind in _ROUTED_KINDS:
        names = {obj.name, *(pod_labels[key] for key in _NAME_LABELS if key in pod_labels)}
        if any((obj.namespace, name) in routed and index.get("Service", obj.namespace, name) is None for name in names):
            return True, _mark(containers, with_ports or _prepared(containers))
    return False, containers


def _prepared(containers: tuple[Container, ...]) -> list[Container]:
    """With no port declared anywhere: the containers set up to serve (a readiness probe or a
    preStop hook), else all of them."""
    ready = [c for c in containers if c.readiness is not None or c.pre_stop_kind is not None]
    return ready or list(containers)


def _mark(containers: tuple[Container, ...], serving: list[Container]) -> tuple[Container, ...]:
    chosen = {id(c) for c in serving}
    return tuple(replace(c, serving=id(c) in chosen) for c in containers)


def _targets(service: K8sObject, container: Container) -> bool:
    for entry in items(service.spec.get("ports")):
        if not isinstance(entry, dict):
            continue
        target: Any = entry.get("targetPort", entry.get("port"))
        number = as_int(target)
        if number is not None and number in container.ports:
            return True
        if number is None and isinstance(target, str) and target in container.port_names:
            return True
    return False
