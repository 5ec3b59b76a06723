"""What an Envoy operator expects to be told: filter chains that can never be selected, and
configuration the running Envoy no longer accepts."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Model, Severity
from auditor.policies.registry import RuleContext, pseudo_rule, rule


@rule(
    id="tls-inspector-missing",
    severity=Severity.HIGH,
    title="Filter chain is chosen by SNI or ALPN but the listener never reads the ClientHello",
    rationale="Envoy matches `server_names`, `transport_protocol: tls` and `application_protocols` "
    "against what a listener filter found in the ClientHello; without the `tls_inspector` listener "
    "filter nothing is found, so these chains are never selected and connections go to the chain "
    "without a match (often the wrong certificate) or are closed. Envoy stopped adding the "
    "inspector automatically in 1.18 and removed the option in 1.20, so old configs that relied "
    "on it broke silently on upgrade: `envoy --mode validate` accepts them.",
    fix="Add the TLS inspector to the listener's `listener_filters`: `{name: envoy.filters.listener.tls_inspector, "
    'typed_config: {"@type": '
    "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector}}`.",
)
def tls_inspector_missing(model: Model, ctx: RuleContext) -> Iterator[Finding]:
    for listener in model.listeners:
        if listener.selected_by and not listener.client_hello_read:
            yield ctx.finding(
                listener,
                f"{listener.endpoint} selects this filter chain by "
                f"{' and '.join(listener.selected_by)} but has no tls_inspector listener filter, "
                "so the chain is never chosen",
                loc=listener.selection_loc or listener.loc,
            )


pseudo_rule(
    id="config-api-removed",
    severity=Severity.HIGH,
    title="Configuration uses an API version the server no longer accepts",
    rationale="Envoy stopped accepting the v2 xDS API in 2021 (1.17 made it opt-in, later releases "
    "removed it; Envoy 1.40 refuses it): a bootstrap with `envoy.api.v2` or `envoy.config.filter.*.v2` "
    "types, or v2-only fields such as a filter's `config`, a filter chain's `tls_context` or a cluster's `hosts`, "
    "makes current Envoy refuse to start. confaudit does not model such a file.",
    fix="Migrate the configuration to the v3 API: v3 `@type` names (e.g. "
    "`envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`), "
    "`typed_config` instead of `config`, a `transport_socket` instead of `tls_context`, "
    "`load_assignment` instead of `hosts`.",
    family="envoy",
)
