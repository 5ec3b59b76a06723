"""Which Ingresses the ingress-nginx controller serves, and with which controller-wide TLS settings.

The controller reads ``ssl-protocols``, ``ssl-ciphers`` and ``use-http2`` from its ConfigMap
(https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/configmap/); keys it does
not find keep its defaults (TLSv1.2 TLSv1.3, an ECDHE/DHE AEAD cipher list, HTTP/2 on; see
``policies/servers.yaml``). The ConfigMap is the one a controller Deployment in the tree names with
``--configmap=NAMESPACE/NAME``, else one with the controller's usual name. Its settings apply to
every Ingress of the classes that controller serves.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model import Location, TlsVersion
from auditor.parsers import tlsinfo
from auditor.parsers.kubernetes import Index, K8sObject, get, items
from auditor.policies.data import ingress_nginx_defaults

ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io/"


@dataclass(frozen=True, slots=True)
class NginxSettings:
    protocols: tuple[TlsVersion, ...]
    protocols_note: str
    protocols_loc: Location | None  # None: the default (the listener's own line is used)
    ciphers: str | None  # None: the controller default
    ciphers_loc: Location | None
    http2: bool
    http2_loc: Location | None


@dataclass(slots=True)
class Controllers:
    """ingress-nginx controllers found in the tree: class name -> settings."""

    index: Index
    _classes: dict[str, K8sObject | None]  # class -> its ConfigMap (None: defaults)
    _fallback: K8sObject | None

    @classmethod
    def find(cls, index: Index) -> Controllers:
        defaults = ingress_nginx_defaults()
        classes: dict[str, K8sObject | None] = {}
        for workload in index.of_kind("Deployment", "DaemonSet"):
            args = _controller_args(workload)
            if args is None:
                continue
            configmap = None
            namespace, _, name = args.get("configmap", "").rpartition("/")
            if namespace.startswith("$(") or not namespace:  # --configmap=$(POD_NAMESPACE)/name
                namespace = workload.namespace
            if name:
                configmap = index.get("ConfigMap", namespace, name)
            controller_class = args.get("controller-class", defaults.controller)
            served = {args.get("ingress-class", defaults.default_class)}
            served |= {c.name for c in index.of_kind("IngressClass") if c.spec.get("controller") == controller_class}
            for class_name in served:
                classes.setdefault(class_name, configmap)
        fallback = next((c for c in index.of_kind("ConfigMap") if c.name in defaults.configmap_names), None)
        return cls(index, classes, fallback)

    def serves(self, ingress: K8sObject) -> tuple[bool, str | None]:
        """(is this Ingress served by ingress-nginx, its class name)."""
        class_name = ingress_class(ingress, self.index)
        if class_name is None:
            return any(k.startswith(ANNOTATION_PREFIX) for k in ingress.annotations), None
        if class_name in self._classes:
            return True, class_name
        declared = next((c for c in self.index.of_kind("IngressClass") if c.name == class_name), None)
        if declared is not None:
            return declared.spec.get("controller") == ingress_nginx_defaults().controller, class_name
        return class_name == ingress_nginx_defaults().default_class, class_name

    def settings(self, class_name: str | None, ingress: K8sObject) -> NginxSettings:
        defaults = ingress_nginx_defaults()
        key = class_name or ""
        configmap = self._classes[key] if key in self._classes else self._fallback
        data = configmap.doc.data.get("data") if configmap is not None else None
        data = data if isinstance(data, dict) else {}
        where = f" in {configmap.resource}" if configmap is not None else ""
        protocols_loc = ciphers_loc = http2_loc = None
        if isinstance(data.get("ssl-protocols"), str) and configmap is not None:
            names = data["ssl-protocols"].split()
            protocols = tuple(p for p in (tlsinfo.protocol(n) for n in names) if p is not None)
            note = f"ssl-protocols {' '.join(names)}{where}"
            protocols_loc = configmap.at("data", "ssl-protocols")
        else:
            protocols = defaults.ssl_protocols
            note = (
                f"ssl-protocols not set{where or ' (no controller ConfigMap in the tree)'}: ingress-nginx "
                f"default {' '.join(p.value for p in protocols)} assumed"
            )
        ciphers = None
        annotation = ANNOTATION_PREFIX + "ssl-ciphers"
        if annotation in ingress.annotations:  # server-level override, per Ingress
            ciphers, ciphers_loc = ingress.annotations[annotation], ingress.at("metadata", "annotations", annotation)
        elif isinstance(data.get("ssl-ciphers"), str) and configmap is not None:
            ciphers, ciphers_loc = data["ssl-ciphers"], configmap.at("data", "ssl-ciphers")
        http2 = defaults.use_http2
        if "use-http2" in data and configmap is not None:
            http2 = str(data["use-http2"]).strip().lower() == "true"
            http2_loc = configmap.at("data", "use-http2")
        return NginxSettings(
            tuple(sorted(protocols, key=TlsVersion.ordered().index)),
            note,
            protocols_loc,
            ciphers,
            ciphers_loc,
            http2,
            http2_loc,
        )


def ingress_class(ingress: K8sObject, index: Index) -> str | None:
    """spec.ingressClassName, the deprecated annotation, or the cluster's default IngressClass."""
    name = ingress.spec.get("ingressClassName") or ingress.annotations.get("kubernetes.io/ingress.class")
    if isinstance(name, str) and name:
        return name
    for declared in index.of_kind("IngressClass"):
        if declared.annotations.get("ingressclass.kubernetes.io/is-default-class") == "true":
            return declared.name
    return None


def _controller_args(workload: K8sObject) -> dict[str, str] | None:
    """The flags of an ingress-nginx controller container, or None if the workload is not one."""
    for container in items(get(workload.doc.data, "spec", "template", "spec", "containers")):
        if not isinstance(container, dict):
            continue
        args = [str(a) for a in items(container.get("args")) + items(container.get("command"))]
        image = str(container.get("image") or "")
        if "/nginx-ingress-controller" in " ".join(args) or "ingress-nginx/controller" in image:
            flags: dict[str, str] = {}
            for arg in args:
                key, sep, value = arg.lstrip("-").partition("=")
                if arg.startswith("--") and sep:
                    flags[key] = value.strip("\"'")
            return flags
    return None
