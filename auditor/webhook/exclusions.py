"""What the webhook does not evaluate, and what an object's owner says to ignore.

- Namespaces: ``kube-system`` and the webhook's own namespace by default (a webhook that could
  refuse its own Deployment can lock itself out), plus ``--exclude-namespace``.
- A label selector, ``--exclude-selector``, in the equality-based syntax of ``kubectl -l``:
  ``team=infra,tier!=web,legacy,!canary`` (all requirements must hold to exclude an object).
- The annotation ``confaudit.io/ignore: rule-id[,rule-id] -- reason`` on the object itself. The
  reason is required, as for inline comments: an annotation without one ignores nothing and is
  reported (``suppression-invalid``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.suppress import ANNOTATION, parse_annotation

__all__ = ["ANNOTATION", "Requirement", "Selector", "parse_annotation", "parse_selector"]
# Kubernetes label keys: an optional DNS-subdomain prefix and a name of 63 characters at most.
_LABEL_KEY = re.compile(
    r"^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?/)?"
    r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "exists", "!exists"
    value: str = ""

    def matches(self, labels: dict[str, str]) -> bool:
        if self.operator == "=":
            return labels.get(self.key) == self.value
        if self.operator == "!=":
            return labels.get(self.key) != self.value
        if self.operator == "exists":
            return self.key in labels
        return self.key not in labels


@dataclass(frozen=True, slots=True)
class Selector:
    requirements: tuple[Requirement, ...]
    text: str

    def matches(self, labels: dict[str, str]) -> bool:
        return bool(self.requirements) and all(r.matches(labels) for r in self.requirements)


def parse_selector(text: str) -> Selector:
    """``key=value,key2!=v,key3,!key4`` -> Selector; ValueError with the offending part."""
    requirements = []
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            continue
        if "(" in part or " in " in part or " notin " in part:
            raise ValueError(
                f"selector {text!r}: set-based requirements ({part!r}) are not supported; "
                "use key=value, key!=value, key or !key"
            )
        if "!=" in part:
            key, _, value = part.partition("!=")
            requirement = Requirement(key.strip(), "!=", value.strip())
        elif "=" in part:
            key, _, value = part.partition("==") if "==" in part else part.partition("=")
            requirement = Requirement(key.strip(), "=", value.strip())
        elif part.startswith("!"):
            requirement = Requirement(part[1:].strip(), "!exists")
        else:
            requirement = Requirement(part, "exists")
        if not _LABEL_KEY.match(requirement.key):
            raise ValueError(f"selector {text!r}: {requirement.key!r} is not a label key")
        if not _LABEL_VALUE.match(requirement.value):
            raise ValueError(f"selector {text!r}: {requirement.value!r} is not a label value")
        requirements.append(requirement)
    if not requirements:
        raise ValueError(f"selector {text!r} has no requirement")
    return Selector(tuple(requirements), text)
