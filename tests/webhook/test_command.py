"""`confaudit webhook` refuses bad settings before it starts serving (exit 2, a precise message)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from auditor import cli
from auditor.webhook.server import ServerSettings
from auditor.webhook.settings import review_settings
from tests.conftest import TESTS

CERT = str(TESTS / "certs" / "localhost.crt")
KEY = str(TESTS / "certs" / "localhost.key")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tls-key", str(TESTS / "certs" / "other.key")], "cannot load --tls-cert/--tls-key"),
        (["--tls-cert", str(TESTS / "certs" / "missing.crt")], "cannot load --tls-cert/--tls-key"),
        (["--exclude-selector", "team in (a,b)"], "set-based requirements"),
        (["--rules", "no-such-rule"], "unknown rule id(s): no-such-rule"),
        (["--port", "0"], "--port must be between 1 and 65535"),
        (["--workers", "0"], "--workers must be 1 or more"),
        (["--config", "/nonexistent/.confaudit.yaml"], "--config"),
    ],
)
def test_usage_errors(extra: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["webhook", "--tls-cert", CERT, "--tls-key", KEY, *extra]
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_the_command_is_cheap_to_register() -> None:
    # `confaudit --version` builds the parser: registering the webhook imports no server library.
    for name in ("uvicorn", "starlette", "prometheus_client", "kubernetes"):
        sys.modules.pop(name, None)
    assert cli.main(["--version"]) == 0
    assert not {"uvicorn", "starlette", "prometheus_client", "kubernetes"} & set(sys.modules)


@pytest.mark.skipif(
    importlib.util.find_spec("auditor.config") is None,
    reason="configuration files (auditor.config) are not part of this build",
)
def test_config_file_sets_rules_and_threshold(tmp_path: Path) -> None:
    config = tmp_path / ".confaudit.yaml"
    config.write_text("version: 1\nfail-on: medium\nrules:\n  shutdown-shell-pid1: {enabled: false}\n")
    settings = review_settings(ServerSettings(config_file=str(config)))
    assert settings.fail_on.value == "medium"
    assert "shutdown-shell-pid1" in settings.options.skip_rules
    # Flags win over the file
    assert review_settings(ServerSettings(config_file=str(config), fail_on="critical")).fail_on.value == "critical"


@pytest.mark.skipif(
    importlib.util.find_spec("auditor.config") is None
    or not hasattr(importlib.import_module("auditor.suppress"), "apply_config"),
    reason="configuration files (auditor.config) are not part of this build",
)
def test_config_exceptions_suppress_webhook_findings(tmp_path: Path) -> None:
    from auditor.webhook.admission import parse_review
    from auditor.webhook.review import Reviewer
    from tests.webhook.support import body, manifest

    config = tmp_path / ".confaudit.yaml"
    config.write_text(
        "version: 1\nexceptions:\n  - rule: shutdown-shell-pid1\n    resource: 'Deployment shop/*'\n"
        "    reason: the entrypoint script is being replaced\n    until: 2099-01-01\n"
    )
    reviewer = Reviewer(review_settings(ServerSettings(config_file=str(config), fail_on="high")))
    verdict = reviewer.review(parse_review(body(manifest("deployment-shell.yaml"))))
    assert verdict.allowed
    assert [(f.rule_id, f.suppression.kind) for f in verdict.suppressed] == [("shutdown-shell-pid1", "config")]
