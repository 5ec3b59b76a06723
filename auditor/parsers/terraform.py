"""Terraform (.tf) files: load balancer TLS policies become listeners, Kubernetes deployments workloads.

python-hcl2 8.x gives values without positions (``hcl2.loads``) and positions without values
(``hcl2.parses_to_tree``: lark ``block`` and ``attribute`` nodes carry ``meta.line``). Both come
from one parse: the tree is walked for lines and its serialized form for values, pairing the n-th
nested block of a name with the n-th entry of that name.

Resources read:
- ``aws_lb_listener`` / ``aws_alb_listener``: ``ssl_policy`` through AWS's published table
  (policies/aws_elb_policies.yaml); an HTTPS/TLS listener without one gets the API default.
- ``google_compute_ssl_policy`` / ``google_compute_region_ssl_policy``: ``min_tls_version`` and
  ``profile`` (``custom_features`` for CUSTOM).
- ``azurerm_application_gateway``: the ``ssl_policy`` block (predefined ``policy_name`` or custom
  ``min_protocol_version`` + ``cipher_suites``).
- ``kubernetes_deployment`` / ``kubernetes_deployment_v1``: a Deployment workload.
A policy name that is not in the tables, or a value Terraform computes (``var.x``), is reported
as ``tls-policy-unknown`` instead of being guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from auditor.discover import SourceFile
from auditor.model import (
    CertificateRef,
    Container,
    Listener,
    Location,
    Model,
    Probe,
    Problem,
    RefStatus,
    Suppression,
    TlsSettings,
    TlsVersion,
    Workload,
)
from auditor.parsers.base import ParseContext
from auditor.suppress import scan_text

_SLEEP = re.compile(r"\bsleep\s+(\d+(?:\.\d+)?)")


@dataclass(frozen=True, slots=True)
class Block:
    """One HCL block: its lark node (for lines) and serialized body (for values)."""

    tree: Any
    data: dict[str, Any]
    file: str

    @property
    def loc(self) -> Location:
        return Location(self.file, self.tree.meta.line)

    def value(self, name: str) -> Any:
        return _value(self.data.get(name))

    def text(self, name: str) -> str | None:
        value = self.value(name)
        return None if value is None or isinstance(value, (dict, list)) else str(value)

    def number(self, name: str) -> int | None:
        value = self.value(name)
        try:
            return int(value) if value is not None and not isinstance(value, bool) else None
        except (TypeError, ValueError):
            return None

    def at(self, name: str) -> Location:
        """Line of attribute or nested block ``name``; the block's own line when absent."""
        for child in _body(self.tree):
            if child.data in ("attribute", "block") and _identifier(child) == name:
                return Location(self.file, child.meta.line)
        return self.loc

    def blocks(self, name: str) -> list[Block]:
        trees = [c for c in _body(self.tree) if c.data == "block" and _identifier(c) == name]
        entries = self.data.get(name)
        entries = entries if isinstance(entries, list) else [entries] if isinstance(entries, dict) else []
        pairs = zip(trees, entries, strict=False)
        return [Block(tree, entry, self.file) for tree, entry in pairs if isinstance(entry, dict)]

    def block(self, *path: str) -> Block | None:
        current: Block | None = self
        for name in path:
            found = current.blocks(name) if current is not None else []
            current = found[0] if found else None
        return current


def _body(tree: Any) -> list[Any]:
    for child in tree.children:
        if getattr(child, "data", None) == "body":
            return [c for c in child.children if hasattr(c, "data")]
    return []


def _identifier(tree: Any) -> str:
    first = tree.children[0]
    return str(first.children[0]) if hasattr(first, "children") else str(first)


def _value(value: Any) -> Any:
    """Serialized HCL -> plain value: quoted strings lose their quotes; `${expr}` stays as is."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [_value(item) for item in value]
    return value


def _is_expression(value: str | None) -> bool:
    return value is not None and value.startswith("${")


def parse(files: list[SourceFile], ctx: ParseContext) -> Model:
    model = Model()
    for source in files:
        model.files.add(source.rel)
        for resource_type, name, block in _resources(source, model):
            reader = _READERS.get(resource_type)
            if reader is not None:
                reader(block, f"terraform {resource_type}.{name}", model)
    return model


def _resources(source: SourceFile, model: Model) -> list[tuple[str, str, Block]]:
    import hcl2
    from lark.exceptions import LarkError, UnexpectedInput

    rel = source.rel
    try:
        raw = source.path.read_bytes()
    except OSError as exc:
        model.problems.append(Problem("parse-error", Location(rel, 1), rel, f"cannot read file: {exc.strerror}"))
        return []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # Terraform reads UTF-8 only; say where the first bad byte is
        line = raw.count(b"\n", 0, exc.start) + 1
        model.problems.append(Problem("parse-error", Location(rel, line), rel, "file is not UTF-8 text"))
        return []
    for item in scan_text(text, rel):
        (model.suppressions if isinstance(item, Suppression) else model.problems).append(item)  # type: ignore[arg-type]
    tree = None
    try:
        tree = hcl2.parses_to_tree(text if text.endswith("\n") else text + "\n")
        data = hcl2.transform(tree).serialize()
    except UnexpectedInput as exc:
        reason = str(exc).strip().splitlines()[0]
        model.problems.append(
            Problem("parse-error", Location(rel, exc.line if exc.line > 0 else 1), rel, f"HCL syntax error: {reason}")
        )
        return []
    except RuntimeError as exc:  # python-hcl2's own refusals: a block named like an argument, heredocs
        line, name = _redefined(tree) if tree is not None else (1, None)
        message = (
            f"{name!r} is both an argument and a block in one body: Terraform refuses the file"
            if name is not None
            else f"HCL could not be read: {exc}"
        )
        model.problems.append(Problem("parse-error", Location(rel, line), rel, message))
        return []
    except (LarkError, ValueError, RecursionError) as exc:  # the transformer's own complaints
        model.problems.append(
            Problem("parse-error", Location(rel, 1), rel, f"HCL could not be read: {type(exc).__name__}: {exc}")
        )
        return []
    trees = [c for c in _body(tree) if c.data == "block" and _identifier(c) == "resource"]
    entries = data.get("resource") or []
    found: list[tuple[str, str, Block]] = []
    for block_tree, entry in zip(trees, entries, strict=False):
        for quoted_type, named in entry.items():
            for quoted_name, body in named.items():
                found.append((_value(quoted_type), _value(quoted_name), Block(block_tree, body, rel)))
    return found


def _redefined(tree: Any) -> tuple[int, str | None]:
    """The first block whose name an argument of the same body already uses (line, name)."""
    stack = [tree]  # the file (``start``) and its blocks: each has one body
    while stack:
        arguments: set[str] = set()
        for child in _body(stack.pop()):
            if child.data == "attribute":
                arguments.add(_identifier(child))
            elif child.data == "block":
                if _identifier(child) in arguments:
                    return child.meta.line, _identifier(child)
                stack.append(child)
    return 1, None


# --- load balancer TLS policies -----------------------------------------------------------------


def _tls_listener(
    block: Block,
    resource: str,
    model: Model,
    *,
    protocols: tuple[TlsVersion, ...],
    ciphers: tuple[str, ...],
    explicit: bool,
    note: str,
    tls_loc: Location,
    port: int | None,
    certificate: str | None,
    spec: str,
) -> None:
    from auditor.parsers.tlsinfo import expand_ciphers

    suites = expand_ciphers(":".join(ciphers)) if ciphers else ()
    # The certificate lives in ACM / a certificate manager: it exists, but not in the tree.
    cert = CertificateRef(tls_loc, certificate, None, RefStatus.EXTERNAL, RefStatus.EXTERNAL)
    tls = TlsSettings(
        loc=tls_loc,
        protocols=protocols,
        protocols_explicit=explicit,
        protocols_note=note,
        cipher_spec=spec,
        ciphers=suites,
        ciphers_loc=tls_loc,
        alpn=(),
        alpn_explicit=False,
        alpn_loc=None,
        certificates=(cert,),
    )
    model.listeners.append(_listener(block, resource, port, tls))


def _listener(block: Block, resource: str, port: int | None, tls: TlsSettings | None) -> Listener:
    """A cloud load balancer listener: every address, no server names, HTTP/2 left to the LB."""
    return Listener(
        loc=block.loc,
        resource=resource,
        source_kind="terraform",
        instance=block.file,
        address="*",
        port=port,
        tls=tls,
        server_names=(),
        http2=False,
        http2_explicit=False,
        tls_expected=tls is not None,
    )


def _unknown(block: Block, resource: str, model: Model, loc: Location, message: str) -> None:
    model.problems.append(Problem("tls-policy-unknown", loc, resource, message))


def _aws_listener(block: Block, resource: str, model: Model) -> None:
    from auditor.policies.data import cloud_tls_policies

    table = cloud_tls_policies()
    protocol = (block.text("protocol") or "").upper()
    port = block.number("port")
    if protocol not in ("HTTPS", "TLS"):
        model.listeners.append(_listener(block, resource, port, None))
        return
    name = block.text("ssl_policy")
    if name is None:
        name, explicit, note = table.aws_default, False, f"ssl_policy not set: the API default {table.aws_default}"
    else:
        explicit, note = True, f"ssl_policy {name}"
    loc = block.at("ssl_policy")
    if _is_expression(name):
        return _unknown(block, resource, model, loc, f"ssl_policy is computed ({name}): its protocols are not checked")
    policy = table.aws.get(name)
    if policy is None:
        return _unknown(
            block,
            resource,
            model,
            loc,
            f"ssl_policy {name!r} is not in the table of ELB security "
            "policies (policies/aws_elb_policies.yaml): its protocols are not checked",
        )
    _tls_listener(
        block,
        resource,
        model,
        protocols=policy.protocols,
        ciphers=policy.ciphers,
        explicit=explicit,
        note=note,
        tls_loc=loc,
        port=port,
        certificate=block.text("certificate_arn"),
        spec=name,
    )


def _gcp_ssl_policy(block: Block, resource: str, model: Model) -> None:
    from auditor.policies.data import cloud_tls_policies

    table = cloud_tls_policies()
    minimum = block.text("min_tls_version") or table.gcp_default_min_version
    profile = (block.text("profile") or table.gcp_default_profile).upper()
    loc = block.at("min_tls_version") if block.text("min_tls_version") else block.at("profile")
    floor = table.gcp_min_versions.get(minimum)
    if profile == "CUSTOM":
        features = block.value("custom_features")
        names = tuple(str(f) for f in features) if isinstance(features, list) else ()
    else:
        names = table.gcp_profiles.get(profile, ())
    if floor is None or (profile != "CUSTOM" and profile not in table.gcp_profiles):
        return _unknown(
            block,
            resource,
            model,
            loc,
            f"SSL policy with min_tls_version {minimum!r} and profile "
            f"{profile!r} is not in the table of Google Cloud profiles: its protocols are not checked",
        )
    # Google's front ends negotiate TLS 1.3 whatever the policy; the policy sets the floor.
    protocols = tuple(v for v in TlsVersion if v.rank >= floor.rank and v.rank >= TlsVersion.TLS1_0.rank)
    ciphers = tuple(table.iana_to_openssl[n] for n in names if n in table.iana_to_openssl)
    _tls_listener(
        block,
        resource,
        model,
        protocols=protocols,
        ciphers=ciphers,
        explicit=True,
        note=f"min_tls_version {minimum}, profile {profile}",
        tls_loc=loc,
        port=None,
        certificate=None,
        spec=f"profile {profile}",
    )


def _azure_gateway(block: Block, resource: str, model: Model) -> None:
    from auditor.policies.data import cloud_tls_policies

    table = cloud_tls_policies()
    policy = block.block("ssl_policy")
    https = any((listener.text("protocol") or "").lower() == "https" for listener in block.blocks("http_listener"))
    if policy is None:
        if https:
            _unknown(
                block,
                resource,
                model,
                block.loc,
                "no ssl_policy block: the default TLS policy depends on the "
                "API version the provider uses (AppGwSslPolicy20150501, which allows TLS 1.0, before "
                "2023-02-01): set ssl_policy explicitly",
            )
        return
    name = policy.text("policy_name")
    kind = (policy.text("policy_type") or ("Predefined" if name else "Custom")).lower()
    loc = policy.at("policy_name") if name else policy.at("min_protocol_version")
    if kind == "predefined":
        predefined = table.azure.get(name or "")
        if predefined is None:
            return _unknown(
                block,
                resource,
                model,
                loc,
                f"ssl_policy policy_name {name!r} is not in the table of "
                "Application Gateway policies: its protocols are not checked",
            )
        protocols, suites, note = predefined.protocols, predefined.ciphers, f"ssl_policy {name}"
    else:
        floor = table.azure_min_versions.get(policy.text("min_protocol_version") or "")
        if floor is None:
            return _unknown(
                block,
                resource,
                model,
                loc,
                f"custom ssl_policy min_protocol_version "
                f"{policy.text('min_protocol_version')!r} is not known: its protocols are not checked",
            )
        top = TlsVersion.TLS1_3 if kind == "customv2" else TlsVersion.TLS1_2
        protocols = tuple(v for v in TlsVersion if floor.rank <= v.rank <= top.rank)
        listed = policy.value("cipher_suites")
        suites = tuple(str(s) for s in listed) if isinstance(listed, list) else ()
        note = (
            f"{policy.text('policy_type') or 'Custom'} ssl_policy, min_protocol_version "
            f"{policy.text('min_protocol_version')}"
        )
    ciphers = tuple(table.iana_to_openssl[s] for s in suites if s in table.iana_to_openssl)
    _tls_listener(
        block,
        resource,
        model,
        protocols=protocols,
        ciphers=ciphers,
        explicit=True,
        note=note,
        tls_loc=loc,
        port=None,
        certificate=None,
        spec=note,
    )


# --- Kubernetes provider --------------------------------------------------------------------------


def _k8s_deployment(block: Block, resource: str, model: Model) -> None:
    metadata = block.block("metadata")
    spec = block.block("spec")
    pod = block.block("spec", "template", "spec")
    if metadata is None or spec is None or pod is None:
        return
    name = metadata.text("name") or "?"
    namespace = metadata.text("namespace") or "default"
    label = f"{resource} (Deployment {namespace}/{name})"
    strategy = spec.block("strategy", "rolling_update")
    grace = pod.number("termination_grace_period_seconds")
    # kubernetes_service resources are not linked to deployments yet: a container that declares a
    # port is taken to serve, as the webhook does for an object reviewed alone.
    containers = tuple(_container(c, label) for c in pod.blocks("container"))
    containers = tuple(replace(c, serving=bool(c.ports)) for c in containers)
    model.workloads.append(
        Workload(
            loc=block.loc,
            resource=label,
            kind="Deployment",
            name=name,
            namespace=namespace,
            labels=_labels(metadata),
            pod_labels=_labels(block.block("spec", "template", "metadata")),
            replicas=spec.number("replicas") if spec.value("replicas") is not None else 1,
            containers=containers,
            termination_grace_seconds=grace,
            termination_grace_loc=pod.at("termination_grace_period_seconds") if grace is not None else None,
            runs_to_completion=False,
            max_unavailable=strategy.text("max_unavailable") if strategy else None,
            max_surge=strategy.text("max_surge") if strategy else None,
            strategy_loc=strategy.loc if strategy else None,
            receives_traffic=any(c.serving for c in containers),
        )
    )


def _labels(metadata: Block | None) -> tuple[tuple[str, str], ...]:
    labels = metadata.value("labels") if metadata is not None else None
    return tuple((str(k), str(_value(v))) for k, v in labels.items()) if isinstance(labels, dict) else ()


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _container(block: Block, workload: str) -> Container:
    name = block.text("name") or "?"
    pre_stop = block.block("lifecycle", "pre_stop")
    kind: str | None = None
    seconds: float | None = None
    if pre_stop is not None:
        for candidate, model_kind in (("exec", "exec"), ("http_get", "httpGet"), ("tcp_socket", "tcpSocket")):
            handler = pre_stop.block(candidate)
            if handler is not None:
                kind = model_kind
                if candidate == "exec":
                    seconds = _sleep_seconds(_strings(handler.value("command")))
                break
    command = _strings(block.value("command"))
    return Container(
        loc=block.loc,
        resource=f"{workload} container {name}",
        name=name,
        command=command,
        args=_strings(block.value("args")),
        ports=tuple(p for p in (port.number("container_port") for port in block.blocks("port")) if p is not None),
        pre_stop_kind=kind,
        pre_stop_seconds=seconds,
        pre_stop_loc=pre_stop.loc if pre_stop else None,
        readiness=_probe(block.block("readiness_probe")),
        liveness=_probe(block.block("liveness_probe")),
        command_loc=block.at("command") if command else None,
    )


def _sleep_seconds(command: tuple[str, ...]) -> float | None:
    if len(command) >= 2 and command[0].rsplit("/", 1)[-1] == "sleep":
        try:
            return float(command[1])
        except ValueError:
            return None
    match = _SLEEP.search(" ".join(command))
    return float(match.group(1)) if match else None


def _probe(block: Block | None) -> Probe | None:
    if block is None:
        return None
    kind, target = "exec", ""
    for candidate, model_kind in (
        ("http_get", "httpGet"),
        ("tcp_socket", "tcpSocket"),
        ("grpc", "grpc"),
        ("exec", "exec"),
    ):
        handler = block.block(candidate)
        if handler is not None:
            kind = model_kind
            if candidate == "http_get":
                target = f"{handler.text('path') or '/'}:{handler.text('port') or ''}"
            elif candidate == "exec":
                target = " ".join(_strings(handler.value("command")))
            else:
                target = handler.text("port") or ""
            break

    def number(name: str, default: int) -> int:
        value = block.number(name) if block is not None else None
        return default if value is None else value

    return Probe(
        loc=block.loc,
        kind=kind,
        target=target,
        period_seconds=number("period_seconds", 10),
        failure_threshold=number("failure_threshold", 3),
        initial_delay_seconds=number("initial_delay_seconds", 0),
        timeout_seconds=number("timeout_seconds", 1),
    )


_READERS = {
    "aws_lb_listener": _aws_listener,
    "aws_alb_listener": _aws_listener,
    "google_compute_ssl_policy": _gcp_ssl_policy,
    "google_compute_region_ssl_policy": _gcp_ssl_policy,
    "azurerm_application_gateway": _azure_gateway,
    "kubernetes_deployment": _k8s_deployment,
    "kubernetes_deployment_v1": _k8s_deployment,
}
