"""Envoy TLS contexts, certificates (files, inline PEM, SDS) and clusters into the model.

Defaults are Envoy's own (``policies/servers.yaml``, section ``envoy``): a DownstreamTlsContext
without ``tls_params`` allows TLSv1_2..TLSv1_3 with the default server cipher list, and an empty
``alpn_protocols`` means Envoy offers no ALPN at all: "There is no default for this parameter. If
empty, Envoy will not expose ALPN." (CommonTlsContext.alpn_protocols,
https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/transport_sockets/tls/v3/tls.proto).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from auditor.model import (
    CertificateBundle,
    CertificateRef,
    Location,
    PrivateKey,
    Protocol,
    RefStatus,
    TlsSettings,
    TlsVersion,
    Upstream,
)
from auditor.parsers import tlsinfo
from auditor.parsers.base import is_file, map_absolute
from auditor.parsers.certs import CertFile, parse_bytes
from auditor.parsers.envoy.nodes import Instance, Node, config_source_path, is_type, typed
from auditor.policies.data import envoy_defaults

# TlsParameters.TlsProtocol; the enum may also be written as its number.
_TLS_ENUM = {
    "TLSv1_0": TlsVersion.TLS1_0,
    "TLSv1_1": TlsVersion.TLS1_1,
    "TLSv1_2": TlsVersion.TLS1_2,
    "TLSv1_3": TlsVersion.TLS1_3,
    "1": TlsVersion.TLS1_0,
    "2": TlsVersion.TLS1_1,
    "3": TlsVersion.TLS1_2,
    "4": TlsVersion.TLS1_3,
}


def is_tls_socket(socket: Node | None, context: str) -> bool:
    config = typed(socket)
    if config is not None and config.has("@type"):
        return is_type(config, context)
    return socket is not None and socket.text("name") in ("envoy.transport_sockets.tls", "tls")


def alpn_list(common: Node | None) -> tuple[tuple[str, ...], Location | None]:
    """``alpn_protocols`` in order; Envoy also splits each entry on commas ("h2,http/1.1")."""
    if common is None or common.get("alpn_protocols") is None:
        return (), None
    names = [p.strip() for item in common.strings("alpn_protocols") for p in item.split(",")]
    return tuple(p for p in names if p), common.dig("alpn_protocols").loc  # type: ignore[union-attr]


def downstream_tls(socket: Node, inst: Instance) -> TlsSettings:
    defaults = envoy_defaults()
    context = typed(socket) or socket
    common = context.get("common_tls_context")
    params = common.get("tls_params") if common is not None else None
    low_node = params.get("tls_minimum_protocol_version") if params is not None else None
    high_node = params.get("tls_maximum_protocol_version") if params is not None else None
    low = _TLS_ENUM.get(str(low_node.value)) if low_node else None
    high = _TLS_ENUM.get(str(high_node.value)) if high_node else None
    default_low, default_high = defaults.downstream_tls_protocols[0], defaults.downstream_tls_protocols[-1]
    protocols = tlsinfo.version_range(low or default_low, high or default_high)
    explicit = low is not None or high is not None
    if explicit:
        low_text = (
            f"tls_minimum_protocol_version {low_node.value}" if low_node else f"minimum {default_low.value} by default"
        )
        high_text = (
            f"tls_maximum_protocol_version {high_node.value}"
            if high_node
            else f"maximum {default_high.value} by default"
        )
        note = f"{low_text}, {high_text}"
    else:
        note = f"tls_params not set: Envoy {defaults.version} default {default_low.value}..{default_high.value} assumed"
    loc = (low_node or high_node or params or socket).loc
    suites_node = params.get("cipher_suites") if params is not None else None
    suites = params.strings("cipher_suites") if params is not None else ()
    spec = ":".join(suites) if suites else None
    # BoringSSL equal-preference groups "[A|B]" are plain alternatives for what is enabled.
    openssl_spec = spec.replace("[", "").replace("]", "").replace("|", ":") if spec else defaults.downstream_ciphers
    alpn, alpn_loc = alpn_list(common)
    return TlsSettings(
        loc=loc,
        protocols=protocols,
        protocols_explicit=explicit,
        protocols_note=note,
        cipher_spec=spec,
        ciphers=tlsinfo.expand_ciphers(openssl_spec),
        ciphers_loc=suites_node.loc if suites_node is not None else None,
        alpn=alpn,
        alpn_explicit=alpn_loc is not None,
        alpn_loc=alpn_loc,
        certificates=certificates(common, inst) if common is not None else (),
    )


def upstream_tls(socket: Node | None) -> tuple[bool, str | None, tuple[str, ...]]:
    """(TLS?, SNI, ALPN) of a cluster's transport socket."""
    if socket is None or not is_tls_socket(socket, "UpstreamTlsContext"):
        return False, None, ()
    context = typed(socket) or socket
    alpn, _ = alpn_list(context.get("common_tls_context"))
    return True, context.text("sni") or None, alpn


# -- certificates ------------------------------------------------------------------------------


def certificates(common: Node, inst: Instance) -> tuple[CertificateRef, ...]:
    refs = [_tls_certificate(cert, inst) for cert in common.list("tls_certificates")]
    for sds in common.list("tls_certificate_sds_secret_configs"):
        refs.extend(_sds_certificate(sds, inst))
    provider = common.get("tls_certificate_provider_instance")
    if provider is not None:
        refs.append(CertificateRef(provider.loc, "certificate provider", None, RefStatus.EXTERNAL, RefStatus.EXTERNAL))
    return tuple(refs)


def _sds_certificate(sds: Node, inst: Instance) -> list[CertificateRef]:
    name = sds.text("name")
    source = sds.get("sds_config")
    if source is None:
        secret = inst.secrets.get(name)
        if secret is None:
            inst.problem(
                sds,
                f"static secret {name!r} is not defined in static_resources.secrets; Envoy refuses the configuration",
            )
            return []
        return [_secret_certificate(secret, sds, inst)]
    path = config_source_path(source)
    if path is None:  # ADS or a gRPC SDS server: the certificate is not in the tree
        return [CertificateRef(sds.loc, f"SDS secret {name}", None, RefStatus.EXTERNAL, RefStatus.EXTERNAL)]
    secrets = [n for n in inst.resources(path, "SDS") if n.text("name") == name]
    if not secrets:
        if inst.files.resolve(str(path.value), path.doc) is not None:
            inst.problem(path, f"SDS file {path.value!r} has no secret named {name!r}")
        return [CertificateRef(sds.loc, f"SDS secret {name}", None, RefStatus.EXTERNAL, RefStatus.EXTERNAL)]
    return [_secret_certificate(secrets[0], sds, inst)]


def _secret_certificate(secret: Node, sds: Node, inst: Instance) -> CertificateRef:
    cert = secret.get("tls_certificate")
    if cert is None:
        return CertificateRef(sds.loc, f"secret {secret.text('name')}", None, RefStatus.EXTERNAL, RefStatus.EXTERNAL)
    return _tls_certificate(cert, inst)


def _tls_certificate(cert: Node, inst: Instance) -> CertificateRef:
    chain = cert.get("certificate_chain")
    key = cert.get("private_key")
    chain_path, chain_status, chain_file = _data_source(chain, inst, "certificate")
    key_path, key_status, key_file = _data_source(key, inst, "key")
    if cert.has("private_key_provider") and key is None:
        key_status = RefStatus.EXTERNAL
    bundle = chain_file.bundle if chain_file is not None else None
    if chain_status is RefStatus.OK and bundle is None:
        chain_status = RefStatus.UNREADABLE
    key_facts: PrivateKey | None = None
    if key_file is not None:
        key_facts = key_file.keys[0] if key_file.keys else None
        if key_facts is None:
            key_status = RefStatus.UNREADABLE
    loc = (chain or cert).loc
    if chain is not None and chain.get("filename") is not None:
        loc = chain.dig("filename").loc  # type: ignore[union-attr]
    return CertificateRef(loc, chain_path, key_path, chain_status, key_status, bundle, key_facts)


def _data_source(source: Node | None, inst: Instance, what: str) -> tuple[str | None, RefStatus, CertFile | None]:
    """A DataSource: (path as written, status, parsed content)."""
    if source is None:
        return None, RefStatus.MISSING, None
    filename = source.get("filename")
    if filename is not None:
        name = str(filename.value)
        path = _find(name, inst)
        if path is None:
            return name, (RefStatus.EXTERNAL if Path(name).is_absolute() else RefStatus.MISSING), None
        return name, RefStatus.OK, inst.ctx.certs.load(path)
    for key in ("inline_string", "inline_bytes"):
        inline = source.get(key)
        if inline is not None:
            return None, RefStatus.OK, _inline(inline, key == "inline_bytes", inst, what)
    return None, RefStatus.EXTERNAL, None  # environment_variable, watched directory...


def _find(name: str, inst: Instance) -> Path | None:
    # Envoy opens a relative filename from its working directory: we try the bootstrap's folder,
    # then the scan root (Files.bases). Absolute paths map into the tree like nginx's.
    path = Path(name)
    if path.is_absolute():
        return map_absolute(path, inst.bases)
    for base in inst.bases:
        if is_file(base / path):
            return base / path
    return None


def _inline(node: Node, is_base64: bool, inst: Instance, what: str) -> CertFile:
    """Inline PEM in the config: its blocks take their line inside the YAML (a ``|`` block
    scalar starts on the next line); base64 ``inline_bytes`` keep the line of the field."""
    text = str(node.value)
    first_line = node.loc.line or 1
    # A multi-line PEM in YAML is a block scalar (``inline_string: |``) whose text starts on the
    # line after its key; in JSON it is one quoted line.
    is_block = not node.file.endswith(".json") and "\n" in text.strip()
    if is_base64:
        try:
            data = base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError):
            data = b""
    else:
        data = text.encode()
        if is_block:
            first_line += 1
    result = parse_bytes(data, node.file, first_line, resource=f"{node.file} (inline {what})")
    if result.bundle is not None:
        bundle = result.bundle
        result.bundle = CertificateBundle(bundle.loc, f"{node.file}:{bundle.loc.line}", bundle.certificates)
        inst.model.certificates.append(result.bundle)
    inst.model.keys.extend(result.keys)
    inst.model.problems.extend(result.problems)
    return result


# -- clusters ----------------------------------------------------------------------------------


def cluster(node: Node, inst: Instance) -> Upstream:
    name = node.text("name") or f"cluster at line {node.loc.line}"
    protocol, explicit = _cluster_protocol(node)
    is_tls, sni, alpn = upstream_tls(node.get("transport_socket"))
    endpoints = []
    assignment = node.get("load_assignment")
    for locality in assignment.list("endpoints") if assignment is not None else []:
        for lb in locality.list("lb_endpoints"):
            address = lb.dig("endpoint", "address", "socket_address")
            if address is not None:
                endpoints.append(f"{address.text('address')}:{address.text('port_value')}")
    return Upstream(node.loc, f"envoy cluster {name}", name, protocol, explicit, is_tls, sni, alpn, tuple(endpoints))


def _cluster_protocol(node: Node) -> tuple[Protocol, bool]:
    """What the cluster speaks upstream. Envoy's default is HTTP/1.1; HttpProtocolOptions
    (https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/upstreams/http/v3/http_protocol_options.proto)
    picks HTTP/2 explicitly, by ALPN (auto_config, TLS only) or like the downstream connection."""
    options = node.get("typed_extension_protocol_options")
    if options is not None and isinstance(options.value, dict):
        for key in options.value:
            option = options.get(str(key))
            config = typed(option) if option is not None else None
            if config is None or not is_type(config, "HttpProtocolOptions"):
                continue
            explicit = config.get("explicit_http_config")
            if explicit is not None:
                return (Protocol.H2 if explicit.has("http2_protocol_options") else Protocol.HTTP1), True
            if config.has("auto_config"):
                return Protocol.AUTO, True
            downstream = config.get("use_downstream_protocol_config")
            if downstream is not None:
                # Follows the client: HTTP/2 for HTTP/2 clients only when HTTP/2 options are given.
                return (Protocol.AUTO if downstream.has("http2_protocol_options") else Protocol.HTTP1), True
    if node.has("http2_protocol_options"):  # deprecated Cluster field, still honoured
        return Protocol.H2, True
    if node.text("protocol_selection") == "USE_DOWNSTREAM_PROTOCOL":
        return Protocol.AUTO, True
    return Protocol.HTTP1, False
