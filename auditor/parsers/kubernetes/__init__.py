"""Kubernetes manifests into the model: workloads, Services, Ingress, Gateway API and TLS Secrets.

``parse_documents`` takes any list of YAML documents (files of a tree, ``helm template`` output cut
into documents, an AdmissionReview object) and needs no cluster: cross-object references (a Service
selecting pods, an Ingress naming a Secret, an HTTPRoute attached to a Gateway) are resolved among
the documents given. Objects are plain dicts: the ``kubernetes`` client package's models would drop
the node lines every finding needs and cost a second (de)serialisation for no gain in clarity.

The work is split by subject: ``workloads`` (pods, Services, PodDisruptionBudgets),
``tls`` (Secrets, cert-manager, SealedSecret and ExternalSecret references),
``ingress`` and ``ingress_nginx`` (Ingress and the ingress-nginx controller settings) and
``gateway`` (Gateway API).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from auditor.model import Location, Model, Problem
from auditor.suppress import ANNOTATION, parse_annotation

if TYPE_CHECKING:
    from auditor.parsers.base import ParseContext
    from auditor.parsers.yamlfiles import Document

DEFAULT_NAMESPACE = "default"
# `confaudit.io/ignore: "rule-id[,rule-id] -- reason"` silences those rules for findings located in
# the object (STYLE section 8), like an inline comment does for its line.
IGNORE_ANNOTATION = ANNOTATION
# Argo CD kinds belong to the Argo CD front end; Argo Rollouts' Rollout is a workload.
_ARGO_WORKLOAD_KINDS = {"Rollout"}
CHECKED_KINDS = {
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Pod",
    "Job",
    "CronJob",
    "Rollout",
    "DeploymentConfig",
    "ReplicationController",
    "Service",
    "Ingress",
    "Secret",
    "Gateway",
    "HTTPRoute",
    "GRPCRoute",
    "PodDisruptionBudget",
}
_CLUSTER_SCOPED = {
    "Namespace",
    "IngressClass",
    "GatewayClass",
    "ClusterIssuer",
    "Node",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
}


@dataclass(slots=True)
class K8sObject:
    """One Kubernetes object with the document it came from (for line numbers)."""

    doc: Document
    api_version: str
    kind: str
    name: str
    namespace: str
    labels: dict[str, str]
    annotations: dict[str, str]

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def resource(self) -> str:
        scoped = self.kind not in _CLUSTER_SCOPED
        label = f"{self.kind} {self.namespace}/{self.name}" if scoped else f"{self.kind} {self.name}"
        return f"{label} ({self.doc.source_note})" if self.doc.source_note else label

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.doc.data.get("spec")
        return spec if isinstance(spec, dict) else {}

    def at(self, *path: str | int) -> Location:
        return self.doc.at(*path)


@dataclass(slots=True)
class Index:
    """Every object of the scan, findable by kind, namespace and name."""

    objects: list[K8sObject] = field(default_factory=list)
    # The objects are reviewed one at a time (the admission webhook, ParseContext.objects_alone).
    alone: bool = False
    _by_kind: dict[str, list[K8sObject]] = field(default_factory=dict)
    _by_name: dict[tuple[str, str, str], K8sObject] = field(default_factory=dict)

    def add(self, obj: K8sObject) -> None:
        self.objects.append(obj)
        self._by_kind.setdefault(obj.kind, []).append(obj)
        self._by_name.setdefault((obj.kind, obj.namespace, obj.name), obj)

    def of_kind(self, *kinds: str) -> Iterator[K8sObject]:
        for kind in kinds:
            yield from self._by_kind.get(kind, ())

    def get(self, kind: str, namespace: str, name: str) -> K8sObject | None:
        return self._by_name.get((kind, namespace, name))

    def namespaces(self, *kinds: str) -> set[str]:
        return {obj.namespace for obj in self.of_kind(*kinds)}


def parse_documents(docs: list[Document], ctx: ParseContext) -> Model:
    from auditor.parsers.kubernetes import gateway, ingress, tls, workloads

    model = Model()
    index = Index(alone=ctx.objects_alone)
    for obj in _objects(docs, model):
        index.add(obj)
        if IGNORE_ANNOTATION in obj.annotations:
            _suppress(obj, model)
    _record_dependencies(index, model)
    workloads.build(index, model)
    secrets = tls.SecretStore(index, ctx.shared_tls)
    ingress.build(index, secrets, model)
    gateway.build(index, secrets, model)
    secrets.populate(model)
    return model


# What an object's findings depend on besides its own document, for ``confaudit diff``'s
# dependency record (Model.reads / Model.provides): the Secrets an Ingress names, the Services
# and disruption budgets whose selectors can match a workload's pod labels, the ingress
# controller's ConfigMap and classes, and (coarsely) the Gateway API objects that attach to each other.
_TLS_PROVIDERS = frozenset({"Secret", "Certificate", "SealedSecret", "ExternalSecret"})
_GATEWAY_API = frozenset({"Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant", "GatewayClass"})
_WORKLOAD_KINDS = frozenset(
    {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Pod",
        "Job",
        "CronJob",
        "Rollout",
        "DeploymentConfig",
        "ReplicationController",
    }
)


def _record_dependencies(index: Index, model: Model) -> None:
    from auditor.policies.data import ingress_nginx_defaults

    controller_maps = ingress_nginx_defaults().configmap_names
    namespaces = {obj.namespace for obj in index.objects}
    for obj in index.objects:
        file, ns, kind, spec = obj.doc.file, obj.namespace, obj.kind, obj.spec
        if kind in _TLS_PROVIDERS:
            name = spec.get("secretName") if kind == "Certificate" else obj.name
            model.provide(file, f"@k8s/tls/{ns}/{name}")
        elif kind == "Service":
            model.provide(file, *_selector_symbols(ns, {"matchLabels": spec.get("selector") or {}}))
        elif kind == "PodDisruptionBudget":
            model.provide(file, f"@k8s/pdb/{ns}", *_selector_symbols(ns, spec.get("selector") or {}))
        elif kind == "Namespace":
            model.provide(file, f"@k8s/pdb/{obj.name}")
        elif kind == "IngressClass" or (kind == "ConfigMap" and obj.name in controller_maps):
            model.provide(file, "@k8s/ingress-controller")
        if kind in _WORKLOAD_KINDS:
            if _is_ingress_controller(spec):
                model.provide(file, "@k8s/ingress-controller")
            labels = _pod_labels(obj)
            reads = [f"@k8s/pdb/{ns}", f"@k8s/sel/{ns}/*"]
            reads += [f"@k8s/sel/{ns}/{k}" for k in labels] + [f"@k8s/sel/{ns}/{k}={v}" for k, v in labels.items()]
            model.depends(file, *reads)
        elif kind == "Ingress":
            secrets = [t.get("secretName") for t in items(spec.get("tls")) if isinstance(t, dict)]
            model.depends(file, "@k8s/ingress-controller", *(f"@k8s/tls/{ns}/{s}" for s in secrets if s))
        elif kind in _GATEWAY_API:
            # Routes attach across namespaces and certificateRefs may name other namespaces' Secrets.
            model.provide(file, "@k8s/gateway-api")
            tls = [f"@k8s/tls/{n}/{o.name}" for o in index.of_kind("Secret", "Certificate") for n in namespaces]
            model.depends(file, "@k8s/gateway-api", *tls)


def tls_index(docs: Iterable[Document]) -> Index:
    """The objects that hold or create TLS Secrets among ``docs`` (see ``ParseContext.shared_tls``)."""
    index = Index()
    wanted = [d for d in docs if isinstance(d.data, dict) and _kind(d.data) in _TLS_PROVIDERS]
    for obj in _objects(wanted, Model()):
        index.add(obj)
    return index


def _selector_symbols(ns: str, selector: Any) -> list[str]:
    """The symbols a label selector can match on: key=value pairs, bare keys (expressions), or
    every pod of the namespace (an empty selector)."""
    if not isinstance(selector, dict):
        return []
    symbols = []
    match_labels = selector.get("matchLabels")
    if isinstance(match_labels, dict):
        symbols += [f"@k8s/sel/{ns}/{k}={v}" for k, v in match_labels.items()]
    for expression in items(selector.get("matchExpressions")):
        if isinstance(expression, dict) and expression.get("key"):
            symbols.append(f"@k8s/sel/{ns}/{expression['key']}")
    return symbols or [f"@k8s/sel/{ns}/*"]


def _pod_labels(obj: K8sObject) -> dict[str, Any]:
    template = obj.spec.get("template")
    if obj.kind == "CronJob":
        template = get(obj.spec, "jobTemplate", "spec", "template")
    labels = get(template, "metadata", "labels") if isinstance(template, dict) else obj.labels
    return labels if isinstance(labels, dict) else {}


def _is_ingress_controller(spec: dict[str, Any]) -> bool:
    """An ingress-nginx controller names its ConfigMap and class in its arguments."""
    containers = get(spec, "template", "spec", "containers")
    return any(
        isinstance(arg, str) and arg.startswith(("--configmap", "--ingress-class", "--controller-class"))
        for container in items(containers)
        if isinstance(container, dict)
        for arg in items(container.get("args"))
    )


def _objects(docs: Iterable[Document], model: Model) -> Iterator[K8sObject]:
    for doc in docs:
        data = doc.data
        if not isinstance(data, dict):
            continue
        if data.get("kind") == "List" and isinstance(data.get("items"), list):
            # `kubectl get -o yaml` output and hand-written lists: each item is an object.
            for position, item in enumerate(data["items"]):
                if isinstance(item, dict):
                    obj = _object(doc.child("items", position), model)
                    if obj is not None:
                        yield obj
            continue
        obj = _object(doc, model)
        if obj is not None:
            yield obj


def _object(doc: Document, model: Model) -> K8sObject | None:
    data = doc.data
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        for field_name, value in (("apiVersion", api_version), ("kind", kind)):
            if value is not None and not isinstance(value, str):
                # The API server refuses it (kubectl: "cannot unmarshal ... of type string").
                model.problems.append(
                    Problem(
                        "parse-error",
                        doc.at(field_name),
                        doc.file,
                        f"{field_name} is a {_TYPE_NAMES.get(type(value), type(value).__name__)}, not a string: "
                        "not a Kubernetes object the API server accepts; not checked",
                    )
                )
                break
        return None
    if api_version.startswith("argoproj.io/") and kind not in _ARGO_WORKLOAD_KINDS:
        return None
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    name = metadata.get("name") or metadata.get("generateName")
    if not isinstance(name, str) or not name:
        # Tool configs share apiVersion/kind without being objects (Kustomization, kubeconfig,
        # KubeletConfiguration...): only the kinds checked here must have a name.
        # The file itself is fine: it is this object the API server rejects ("name or generateName
        # is required"), so it is a finding about it, and the file's other objects are checked.
        if kind in CHECKED_KINDS:
            loc = doc.at("metadata") if "metadata" in data else doc.loc
            model.problems.append(
                Problem(
                    "k8s-name-missing",
                    loc,
                    f"{kind} (unnamed)",
                    f"{kind} has neither metadata.name nor metadata.generateName: the API server rejects "
                    "it, and its settings are not checked",
                )
            )
        return None
    namespace = metadata.get("namespace")
    if not isinstance(namespace, str) or not namespace:
        # Applied by a tool that names the namespace (helm --namespace, Argo CD's destination).
        namespace = doc.extra.get("namespace") or DEFAULT_NAMESPACE
    return K8sObject(
        doc, api_version, kind, name, namespace, _strings(metadata.get("labels")), _strings(metadata.get("annotations"))
    )


_TYPE_NAMES = {dict: "mapping", list: "list", int: "number", float: "number", bool: "boolean"}


def _kind(data: dict[str, Any]) -> str | None:
    kind = data.get("kind")
    return kind if isinstance(kind, str) else None


def _suppress(obj: K8sObject, model: Model) -> None:
    loc = obj.at("metadata", "annotations", IGNORE_ANNOTATION)
    parsed = parse_annotation(obj.annotations[IGNORE_ANNOTATION], loc, obj.resource)
    if isinstance(parsed, Problem):
        model.problems.append(parsed)
        return
    first, last = obj.doc.lines_spanned()
    for line in range(first, last + 1):
        model.suppressions.append(replace(parsed, loc=Location(obj.doc.file, line)))


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): _text(v) for k, v in value.items()}


def _text(value: Any) -> str:
    """A scalar as Kubernetes reads it from a string field (YAML `true` is the string "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def get(data: Any, *path: str | int) -> Any:
    """``data[path[0]][path[1]]...`` or None when any step is missing or of the wrong type."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(data, list) or not 0 <= step < len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[step] if isinstance(step, int) else data.get(step)
    return data


def items(value: Any) -> list[Any]:
    """A list field's items; nothing when the manifest has something else there."""
    return value if isinstance(value, list) else []


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector (``matchLabels`` + ``matchExpressions``) against a label set."""
    match_labels = selector.get("matchLabels")
    if isinstance(match_labels, dict):
        if any(labels.get(str(k)) != _text(v) for k, v in match_labels.items()):
            return False
    for expression in items(selector.get("matchExpressions")):
        if not isinstance(expression, dict):
            return False
        key, operator = str(expression.get("key")), expression.get("operator")
        values = {_text(v) for v in items(expression.get("values"))}
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True
