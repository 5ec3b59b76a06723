"""Terraform: load balancer TLS policies become listeners, kubernetes_deployment a workload, with
the lines python-hcl2's parse tree gives (pinned: python-hcl2 8.x)."""

from __future__ import annotations

from pathlib import Path

from auditor.api import AuditOptions, audit
from auditor.model import TlsVersion

HERE = Path(__file__).resolve().parent / "terraform"


def _model():  # type: ignore[no-untyped-def]
    result = audit([HERE / "main.tf"], AuditOptions(strict=True))
    return result


def test_listeners_and_lines() -> None:
    result = _model()
    by_name = {listener.resource: listener for listener in result.model.listeners}
    legacy = by_name["terraform aws_alb_listener.legacy"]
    assert (legacy.loc.file, legacy.loc.line, legacy.port) == ("main.tf", 1, 443)
    assert legacy.tls is not None and legacy.tls.loc.line == 5
    assert legacy.tls.protocols == (TlsVersion.TLS1_1, TlsVersion.TLS1_2)
    assert "AES128-SHA" in {c.name for c in legacy.tls.ciphers}
    default = by_name["terraform aws_lb_listener.default_policy"]
    assert default.tls is not None and not default.tls.protocols_explicit
    assert "ELBSecurityPolicy-2016-08" in default.tls.protocols_note
    assert default.tls.loc.line == 9  # no ssl_policy line: the resource
    gateway = by_name["terraform azurerm_application_gateway.gw"]
    assert gateway.tls is not None and gateway.tls.protocols == (TlsVersion.TLS1_2,)
    assert gateway.tls.loc.line == 31  # policy_name


def test_computed_policy_is_not_guessed() -> None:
    result = _model()
    [unknown] = [f for f in result.findings if f.rule_id == "tls-policy-unknown"]
    assert (unknown.loc.line, unknown.resource) == (18, "terraform aws_lb_listener.computed")
    assert "var.ssl_policy" in unknown.message
    assert "terraform aws_lb_listener.computed" not in {item.resource for item in result.model.listeners}


def test_kubernetes_deployment_workload() -> None:
    [workload] = _model().model.workloads
    assert (workload.kind, workload.name, workload.namespace, workload.replicas) == ("Deployment", "web", "shop", 3)
    assert workload.loc.line == 35 and workload.termination_grace_seconds == 20
    assert workload.termination_grace_loc is not None and workload.termination_grace_loc.line == 61
    [container] = workload.containers
    assert (container.loc.line, container.command, container.ports) == (63, ("sh", "-c", "node server.js"), (8080,))
    assert container.command_loc is not None and container.command_loc.line == 66
    assert (container.pre_stop_kind, container.pre_stop_seconds) == ("exec", 15.0)
    assert container.pre_stop_loc is not None and container.pre_stop_loc.line == 73
    assert container.readiness is not None and container.readiness.loc.line == 80
    assert (container.readiness.target, container.readiness.period_seconds) == ("/ready:8080", 5)


def test_syntax_error_is_a_parse_error_with_its_line() -> None:
    result = audit([HERE / "broken"], AuditOptions(strict=True))
    [finding] = result.findings
    assert (finding.rule_id, finding.loc.file, finding.loc.line) == ("parse-error", "broken.tf", 3)
    assert finding.message.startswith("HCL syntax error")
