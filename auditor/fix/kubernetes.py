"""Kubernetes manifest fixes: minimal text edits at the nodes PyYAML located (``fix.yamltext``).

Each fix names the change to the loaded data it means to make, and ``yamltext.verify`` loads the
edited file to check that this is exactly what changed. Objects rendered from something else
(Helm, Kustomize, Argo CD) carry a source note in their resource label and are not edited here:
the file a finding points at is not the file that holds the setting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import yaml

from auditor.fix import shellexec, yamltext
from auditor.fix.edits import Edit
from auditor.fix.plan import Fix, FixContext, Skip
from auditor.model import Container, Finding, Workload
from auditor.parsers.kubernetes.ingress_nginx import ANNOTATION_PREFIX
from auditor.parsers.kubernetes.workloads import POD_SPEC_PATHS
from auditor.policies.data import workload_policy
from auditor.policies.shell import shell_wrapper

Change = Callable[[Any], None]


class _Object:
    """One object as written in its file: the text, the document node and its position."""

    def __init__(self, file: str, text: str, index: int, node: yaml.Node) -> None:
        self.file = file
        self.text = text
        self.index = index
        self.node = node
        self.step = yamltext.indent_step(node)

    def fix(self, finding: Finding, description: str, edits: list[Edit], change: Change) -> Fix | Skip:
        problem = yamltext.verify(self.text, edits, self.index, change)
        if problem is not None:
            return Skip(problem, decision=False)
        return Fix(finding, description, tuple(edits))


def _rendered(resource: str) -> bool:
    """The object's label carries a source note ("rendered by helm; line approximate")."""
    return " (" in resource


def _object(ctx: FixContext, file: str, kind: str, name: str, line: int | None) -> _Object | Skip:
    text = ctx.text(file)
    if text is None:
        return Skip(f"{file} cannot be read", decision=False)
    try:
        documents = yamltext.compose(text)
    except yamltext.YamlTextError as exc:
        return Skip(f"{file}: {exc}", decision=False)
    found = yamltext.find_object(documents, kind, name, line)
    if found is None:
        return Skip(f"{kind} {name} is not written in {file} as its own document", decision=False)
    return _Object(file, text, found[0], found[1])


def _workload_object(ctx: FixContext, workload: Workload) -> _Object | Skip:
    return _object(ctx, workload.loc.file, workload.kind, workload.name, workload.loc.line)


def _pod_spec(obj: _Object, workload: Workload) -> yaml.Node | Skip:
    pod = yamltext.child(obj.node, *POD_SPEC_PATHS[workload.kind])
    if not yamltext.is_block_mapping(pod):
        return Skip("the pod spec is not a block mapping", decision=False)
    assert pod is not None
    return pod


def _container_node(obj: _Object, workload: Workload, container: Container) -> tuple[int, yaml.Node] | Skip:
    containers = yamltext.child(obj.node, *POD_SPEC_PATHS[workload.kind], "containers")
    if isinstance(containers, yaml.SequenceNode):
        for position, item in enumerate(containers.value):
            if yamltext.scalar(yamltext.child(item, "name")) == container.name:
                if not yamltext.is_block_mapping(item):
                    return Skip(f"container {container.name!r} is written in flow style", decision=False)
                return position, item
    return Skip(f"container {container.name!r} is not where the manifest was read", decision=False)


def _pod(data: Any, workload: Workload) -> Any:
    for step in POD_SPEC_PATHS[workload.kind]:
        data = data[step]
    return data


def _located(finding: Finding, ctx: FixContext) -> tuple[Workload, Container, _Object, int, yaml.Node] | Skip | None:
    """The container a finding is about, as written; None for findings that are not about one."""
    found = ctx.container(finding)
    if found is None:
        return None
    workload, container = found
    if _rendered(workload.resource):
        return None
    obj = _workload_object(ctx, workload)
    if isinstance(obj, Skip):
        return obj
    node = _container_node(obj, workload, container)
    if isinstance(node, Skip):
        return node
    return workload, container, obj, node[0], node[1]


# -- preStop and the grace period ----------------------------------------------------------------


def grace_target(workload: Workload, delays: list[float]) -> int:
    """The grace period a fix writes: the longest preStop delay plus the time Kubernetes gives an
    application by default (30 s), so the application keeps its usual drain time after the delay."""
    policy = workload_policy()
    return math.ceil(max(delays, default=0.0)) + policy.default_grace_seconds


def _grace_edit(obj: _Object, workload: Workload, seconds: int) -> tuple[Edit, Change] | Skip:
    pod = _pod_spec(obj, workload)
    if isinstance(pod, Skip):
        return pod
    found = yamltext.entry(pod, "terminationGracePeriodSeconds")
    if found is not None:
        edit = yamltext.replace_scalar(obj.file, found[1], str(seconds))
    else:
        edit = yamltext.append_entry(
            obj.text, obj.file, pod, obj.step, [(0, f"terminationGracePeriodSeconds: {seconds}")]
        )

    def change(data: Any) -> None:
        _pod(data, workload)["terminationGracePeriodSeconds"] = seconds

    return edit, change


def fix_shutdown_no_prestop(finding: Finding, ctx: FixContext) -> Fix | Skip | None:
    located = _located(finding, ctx)
    if located is None or isinstance(located, Skip):
        return located
    workload, container, obj, position, node = located
    policy = workload_policy()
    seconds = policy.fix_pre_stop_seconds
    if container.pre_stop_kind == "sleep" and container.pre_stop_seconds == 0:
        value = yamltext.child(node, "lifecycle", "preStop", "sleep", "seconds")
        if value is None:
            return Skip("the preStop sleep is not where the manifest was read", decision=False)
        edits = [yamltext.replace_scalar(obj.file, value, str(seconds))]
    elif container.pre_stop_kind is None:
        lifecycle = yamltext.entry(node, "lifecycle")
        hook = [(0, "preStop:"), (1, "sleep:"), (2, f"seconds: {seconds}")]
        if lifecycle is None:
            edits = [yamltext.append_entry(obj.text, obj.file, node, obj.step, [(0, "lifecycle:"), *_deeper(hook)])]
        elif yamltext.is_block_mapping(lifecycle[1]) and yamltext.entry(lifecycle[1], "preStop") is None:
            edits = [yamltext.append_entry(obj.text, obj.file, lifecycle[1], obj.step, hook)]
        else:
            return Skip("the container's lifecycle is written in a form the fix does not edit", decision=False)
    else:
        return Skip(f"the container has a {container.pre_stop_kind} preStop hook: decide what it should do instead")
    changes: list[Change] = []

    def add_hook(data: Any) -> None:
        target = _pod(data, workload)["containers"][position]
        if not isinstance(target.get("lifecycle"), dict):
            target["lifecycle"] = {}
        target["lifecycle"]["preStop"] = {"sleep": {"seconds": seconds}}

    changes.append(add_hook)
    description = f"add a {seconds} s preStop sleep to container {container.name!r}"
    # A delay the grace period does not cover would bring in shutdown-grace-too-short: raise it too.
    delays = [c.pre_stop_seconds or 0.0 for c in workload.containers if c is not container] + [float(seconds)]
    grace = workload.termination_grace_seconds
    current = grace if grace is not None else policy.default_grace_seconds
    if current <= max(delays) + policy.grace_margin_seconds:
        target = grace_target(workload, delays)
        raised = _grace_edit(obj, workload, target)
        if isinstance(raised, Skip):
            return raised
        edits.append(raised[0])
        changes.append(raised[1])
        description += f" and raise terminationGracePeriodSeconds {current} -> {target}"

    def change(data: Any) -> None:
        for one in changes:
            one(data)

    return obj.fix(finding, description, edits, change)


def _deeper(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return [(depth + 1, content) for depth, content in lines]


def fix_shutdown_grace_too_short(finding: Finding, ctx: FixContext) -> Fix | Skip | None:
    workload = ctx.workload(finding)
    if workload is None or _rendered(workload.resource):
        return None
    obj = _workload_object(ctx, workload)
    if isinstance(obj, Skip):
        return obj
    delays = [c.pre_stop_seconds for c in workload.containers if c.pre_stop_seconds is not None]
    target = grace_target(workload, delays)
    found = _grace_edit(obj, workload, target)
    if isinstance(found, Skip):
        return found
    edit, change = found
    current = workload.termination_grace_seconds
    was = f"{current}" if current is not None else f"unset ({workload_policy().default_grace_seconds} s)"
    return obj.fix(finding, f"terminationGracePeriodSeconds {was} -> {target}", [edit], change)


# -- exec in a shell wrapper ---------------------------------------------------------------------


def fix_shutdown_shell_pid1(finding: Finding, ctx: FixContext) -> Fix | Skip | None:
    located = _located(finding, ctx)
    if located is None or isinstance(located, Skip):
        return located
    workload, container, obj, position, node = located
    argv = (*container.command, *container.args)
    script_index = _script_index(argv)
    if script_index is None:
        return Skip("the shell's script could not be found in the command", decision=False)
    script = argv[script_index]
    offset = shellexec.exec_offset(script)
    new_script = script[:offset] + "exec " + script[offset:] if offset is not None else None
    new_argv = (*argv[:script_index], new_script or "", *argv[script_index + 1 :])
    checked = shell_wrapper(new_argv) if new_script is not None else None
    if new_script is None or offset is None or checked is None or checked.keeps_pid1 is not False:
        return Skip("the script's last command cannot simply be prefixed with exec")
    key, item = (
        ("command", script_index)
        if script_index < len(container.command)
        else (
            "args",
            script_index - len(container.command),
        )
    )
    scalar_node = yamltext.child(node, key, item)
    at = _source_offset(obj.text, scalar_node, script, offset) if scalar_node is not None else None
    if at is None:
        return Skip("the script is written in a YAML form the fix does not edit in place", decision=False)

    def change(data: Any) -> None:
        _pod(data, workload)["containers"][position][key][item] = new_script

    last = new_script[offset:].split("\n", 1)[0].strip()
    return obj.fix(
        finding, f"start the script's last command with exec: `{last}`", [Edit(obj.file, at, at, "exec ")], change
    )


def _script_index(argv: tuple[str, ...]) -> int | None:
    for position, word in enumerate(argv[1:], start=1):
        if word.startswith("-") and not word.startswith("--") and "c" in word[1:]:
            return position + 1 if position + 1 < len(argv) else None
    return None


def _source_offset(text: str, node: yaml.Node, value: str, offset: int) -> int | None:
    """Where character ``offset`` of a scalar's value is written in ``text``, when the value is
    written verbatim (plain or quoted without escapes on one line, or a literal block)."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    start, end = int(node.start_mark.index), int(node.end_mark.index)
    style = node.style or ""
    if style in ("", "'", '"'):
        inner = text[start + len(style) : end - len(style)]
        return start + len(style) + offset if inner == value else None
    if style != "|":
        return None
    line_number = value.count("\n", 0, offset)
    column = offset - (value.rfind("\n", 0, offset) + 1)
    value_line = value.split("\n")[line_number]
    lines = text[start:end].split("\n")
    body = lines[1:]  # the first line holds the `|` indicator
    if line_number >= len(body):
        return None
    source = body[line_number].rstrip("\r")
    indent = len(source) - len(source.lstrip(" "))
    if source[indent:] != value_line:
        return None
    line_offset = start + sum(len(line) + 1 for line in lines[: line_number + 1])
    return line_offset + indent + column


# -- readiness -----------------------------------------------------------------------------------


def fix_shutdown_no_readiness(finding: Finding, ctx: FixContext) -> Fix | Skip | None:
    found = ctx.container(finding)
    if found is None:
        return None
    _workload, container = found
    if container.liveness is not None:
        return Skip(
            "a copy of the livenessProbe would be the same check in both probes (what "
            "probe-liveness-equals-readiness reports): readiness must say the application can serve"
        )
    return Skip("there is no probe to start from: choose what tells that the application can serve")


# -- ingress-nginx X-Forwarded-Prefix ------------------------------------------------------------


def fix_forwarded_prefix_missing(finding: Finding, ctx: FixContext) -> Fix | Skip | None:
    if not finding.resource.startswith("Ingress ") or _rendered(finding.resource):
        return None
    route = ctx.route(finding)
    if route is None or not route.strip_prefix or route.rewrite_loc is None:
        return None
    prefix = route.strip_prefix
    label = finding.resource.split(" ", 2)[1]  # namespace/name
    name = label.rsplit("/", 1)[-1]
    ingress = route.resource[: len(route.resource) - len(route.resource.split(" ")[-1]) - 1]
    others = {r.strip_prefix for _, r in ctx.model.routes() if r.resource.startswith(ingress + " ") and r.strip_prefix}
    if len(others) > 1:
        return Skip(
            f"the Ingress strips several prefixes ({', '.join(sorted(others))}) and its annotation "
            "applies to every path: split it into one Ingress per prefix"
        )
    obj = _object(ctx, route.rewrite_loc.file, "Ingress", name, route.rewrite_loc.line)
    if isinstance(obj, Skip):
        return obj
    annotations = yamltext.child(obj.node, "metadata", "annotations")
    rewrite = ANNOTATION_PREFIX + "rewrite-target"
    if (
        annotations is None
        or not yamltext.is_block_mapping(annotations)
        or yamltext.entry(annotations, rewrite) is None
    ):
        return Skip("the Ingress annotations are written in a form the fix does not edit", decision=False)
    key = ANNOTATION_PREFIX + "x-forwarded-prefix"
    edit = yamltext.insert_after(
        obj.text, obj.file, annotations, rewrite, obj.step, [(0, f"{key}: {yamltext.plain(prefix)}")]
    )

    def change(data: Any) -> None:
        data["metadata"]["annotations"][key] = prefix

    return obj.fix(finding, f"annotate the Ingress with x-forwarded-prefix {prefix}", [edit], change)
