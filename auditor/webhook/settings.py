"""ServerSettings (command-line values) -> a Reviewer, in each worker process.

Precedence as for ``confaudit scan``: defaults, then the configuration file (``--config``), then
flags. The configuration file support (``auditor.config``) is shared with ``scan``; a build without
it refuses ``--config`` with a usage error rather than ignoring the file.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.api import AuditOptions
from auditor.model import Finding, Severity
from auditor.webhook.exclusions import parse_selector
from auditor.webhook.lookup import Lookup, SecretLookup, kubernetes_fetch
from auditor.webhook.review import Reviewer, ReviewSettings

if TYPE_CHECKING:
    from auditor.webhook.server import ServerSettings


def load_config(path: str) -> Any:
    """The ``.confaudit.yaml`` at ``path`` (ValueError when invalid or unsupported)."""
    try:
        module = importlib.import_module("auditor.config")
    except ModuleNotFoundError:
        raise ValueError("--config: this build of confaudit has no configuration file support") from None
    from auditor.policies import REGISTRY

    if not Path(path).is_file():
        raise ValueError(f"--config: no such file: {path}")
    return module.load(Path(path), REGISTRY.rules)


def _adjust(config: Any, keep_rules: tuple[str, ...]) -> Callable[[list[Finding]], list[Finding]]:
    """The configuration's severities and exceptions (``suppress.apply_config``, as for ``scan``)."""
    suppress = importlib.import_module("auditor.suppress")

    def adjust(findings: list[Finding]) -> list[Finding]:
        today = dt.datetime.now(dt.timezone.utc).date()
        result: list[Finding] = suppress.apply_config(findings, config, Path.cwd(), today, keep_rules)[0]
        return result

    return adjust


def review_settings(settings: ServerSettings) -> ReviewSettings:
    """ValueError for invalid values (usage errors, checked before the server starts)."""
    from auditor.engine import select_rules

    config = load_config(settings.config_file) if settings.config_file else None
    fail_on = settings.fail_on or (config.fail_on if config is not None else None) or "high"
    skip = settings.skip_rules + (tuple(sorted(config.disabled() - set(settings.rules))) if config else ())
    select_rules(settings.rules, skip)  # unknown rule ids
    expiry = settings.cert_expiry_days
    if expiry is None:
        expiry = config.cert_expiry_days if config is not None and config.cert_expiry_days is not None else 30
    options = AuditOptions(
        rules=settings.rules,
        skip_rules=skip,
        cert_expiry_days=expiry,
        severities=config.severities() if config is not None else {},
    )
    return ReviewSettings(
        mode=settings.mode,
        fail_on=Severity.parse(fail_on),
        warn_on=Severity.parse(settings.warn_on),
        only_new=settings.only_new,
        exclude_namespaces=frozenset(settings.exclude_namespaces),
        exclude_selector=parse_selector(settings.exclude_selector) if settings.exclude_selector else None,
        options=options,
        adjust=_adjust(config, settings.rules) if config is not None else None,
    )


def reviewer(settings: ServerSettings, observe: Callable[[str], None] | None = None) -> Reviewer:
    lookup = None
    if settings.lookup:
        try:
            fetch = kubernetes_fetch(settings.kubeconfig, settings.lookup_timeout)
        except ValueError as exc:
            import logging

            reason = str(exc)
            logging.getLogger("confaudit.webhook").warning(
                "Secret lookups disabled", extra={"fields": {"reason": reason}}
            )

            def fetch(namespace: str, name: str) -> Lookup:
                return Lookup("error", None, "no Kubernetes API credentials (see the webhook log)")

        lookup = SecretLookup(fetch, ttl=settings.lookup_ttl, observe=observe)
    return Reviewer(review_settings(settings), lookup)
