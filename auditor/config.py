""".confaudit.yaml -> a frozen ``Config``, validated on load against the shipped JSON Schema.

Found at the scan root (or given with ``--config``). Order of precedence: defaults, then the file,
then command-line flags. Paths in the file (``exclude``, ``ignore-paths``, exception ``paths``,
``baseline``) are relative to the file's folder and use gitignore syntax.

    version: 1
    fail-on: medium
    rules:
      tls13-disabled: {enabled: false}
      cert-expiring: {severity: high, ignore-paths: ["staging/**"]}
    exceptions:
      - rule: cert-weak-key
        paths: [nginx/certs/legacy.crt]
        reason: partner appliance only takes RSA-1024 until its firmware update
        until: 2027-03-31

An unknown key, rule id or a malformed value is a usage error that names the file, the line and
the key (``ConfigError``), never a silent default.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
import functools
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.model import Finding, Severity

CONFIG_NAMES = (".confaudit.yaml", ".confaudit.yml")


class ConfigError(ValueError):
    """The configuration file is invalid: a usage error (exit 2)."""


@dataclass(frozen=True, slots=True)
class RuleConfig:
    enabled: bool = True
    severity: Severity | None = None
    ignore_paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Waiver:
    """One entry of ``exceptions``: findings it matches are accepted until ``until`` (inclusive)."""

    rule: str
    reason: str
    until: dt.date
    line: int
    paths: tuple[str, ...] = ()
    resource: str | None = None


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None = None  # None: no file, defaults only
    rules: Mapping[str, RuleConfig] = field(default_factory=dict)
    exceptions: tuple[Waiver, ...] = ()
    fail_on: str | None = None
    cert_expiry_days: int | None = None
    exclude: tuple[str, ...] = ()
    baseline: str | None = None
    rule_lines: Mapping[str, int] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()

    def disabled(self) -> frozenset[str]:
        return frozenset(rule_id for rule_id, rule in self.rules.items() if not rule.enabled)

    def severities(self) -> dict[str, Severity]:
        return {rule_id: rule.severity for rule_id, rule in self.rules.items() if rule.severity is not None}

    def relative(self, finding: Finding, root: Path) -> str:
        """The finding's path relative to this file's folder, POSIX separators."""
        return os.path.relpath(root / finding.loc.file, self.folder).replace(os.sep, "/")


def find(root: Path) -> Path | None:
    """The configuration file at the scan root, if any."""
    for name in CONFIG_NAMES:
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def schema() -> dict[str, Any]:
    from auditor.policies.data import _policy_dir

    path = _policy_dir() / "config.schema.json"
    source = Path(__file__).resolve().parents[1] / "policies" / "config.schema.json"
    if not path.is_file() and source.is_file():  # a source checkout next to another installed copy
        path = source
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def load(path: Path, known_rules: Iterable[str]) -> Config:
    """Read and validate ``path``; ``known_rules`` are the registered rule ids."""
    import yaml

    from auditor.yamlload import compose_all, nodes_to_python

    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}: cannot read configuration: {exc}") from None
    try:
        nodes = [n for n in compose_all(text) if n is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if len(nodes) > 1:
        raise ConfigError(f"{name}:{nodes[1].start_mark.line + 1}: the configuration must be one YAML document")
    if not nodes:
        return Config(path=path)
    node = nodes[0]
    data = nodes_to_python(node)
    _validate(data, node, name)
    known = set(known_rules)
    rules: dict[str, RuleConfig] = {}
    rule_lines: dict[str, int] = {}
    for rule_id, settings in (data.get("rules") or {}).items():
        line = _line(node, ("rules", rule_id), key=True)
        _check_rule(rule_id, known, f"{name}:{line}: rules")
        severity = settings.get("severity")
        rules[rule_id] = RuleConfig(
            settings.get("enabled", True),
            Severity(severity) if severity else None,
            tuple(settings.get("ignore-paths", ())),
        )
        rule_lines[rule_id] = line
    exceptions = []
    for index, item in enumerate(data.get("exceptions") or ()):
        line = _line(node, ("exceptions", index))
        rule_line = _line(node, ("exceptions", index, "rule"))
        _check_rule(item["rule"], known, f"{name}:{rule_line}: exceptions[{index}].rule")
        try:
            until = dt.date.fromisoformat(item["until"])
        except ValueError:
            until_line = _line(node, ("exceptions", index, "until"))
            raise ConfigError(
                f"{name}:{until_line}: exceptions[{index}].until: {item['until']!r} is not a date (YYYY-MM-DD)"
            ) from None
        exceptions.append(
            Waiver(
                item["rule"], item["reason"].strip(), until, line, tuple(item.get("paths", ())), item.get("resource")
            )
        )
    return Config(
        path=path,
        rules=rules,
        exceptions=tuple(exceptions),
        fail_on=data.get("fail-on"),
        cert_expiry_days=data.get("cert-expiry-days"),
        exclude=tuple(data.get("exclude", ())),
        baseline=data.get("baseline"),
        rule_lines=rule_lines,
    )


def _check_rule(rule_id: str, known: set[str], where: str) -> None:
    if rule_id in known:
        return
    close = difflib.get_close_matches(rule_id, sorted(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else " (see `confaudit rules`)"
    raise ConfigError(f"{where}: unknown rule id {rule_id!r}{hint}")


def _validate(data: Any, node: Any, name: str) -> None:
    import jsonschema  # type: ignore[import-untyped]

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors:
        return
    error = errors[0]
    path = tuple(error.absolute_path)
    dotted = _dotted(path) or "(top level)"
    message = error.message
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        if extra:
            path = (*path, extra[0])
            allowed = ", ".join(sorted(error.schema.get("properties", {})))
            message = f"unknown key {extra[0]!r} (allowed: {allowed})"
            dotted = _dotted(path)
    elif error.validator == "required":
        message = error.message.replace("is a required property", "is required")
    elif error.validator == "pattern" and path and path[-1] == "reason":
        message = "reason must not be empty"
    elif error.validator == "pattern" and path and path[-1] == "until":
        message = f"{error.instance!r} is not a date (YYYY-MM-DD)"
    elif error.validator == "propertyNames":
        message = f"{error.instance!r} is not a rule id"
    raise ConfigError(f"{name}:{_line(node, path, key=error.validator == 'additionalProperties')}: {dotted}: {message}")


def _dotted(path: tuple[Any, ...]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _line(node: Any, path: tuple[Any, ...], key: bool = False) -> int:
    """1-based line of the value (or, with ``key``, of the key) at ``path``; the nearest parent's
    line when the path does not exist."""
    import yaml

    line = int(node.start_mark.line) + 1
    for step in path:
        found = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == step:
                    found = (key_node, value_node)
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            found = (node.value[step], node.value[step])
        if found is None:
            return line
        line = int((found[0] if key else found[1]).start_mark.line) + 1
        node = found[1]
    return line


def matches(patterns: tuple[str, ...], rel: str) -> bool:
    """gitignore-style match of a path relative to the configuration's folder."""
    return bool(patterns) and bool(_spec(patterns).match_file(rel))


@functools.lru_cache(maxsize=256)
def _spec(patterns: tuple[str, ...]) -> Any:
    import pathspec

    return pathspec.PathSpec.from_lines("gitignore", patterns)


def resource_matches(pattern: str | None, resource: str) -> bool:
    return pattern is None or fnmatch.fnmatchcase(resource, pattern)
