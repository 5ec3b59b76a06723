"""Typed access to the policy tables in ``policies/*.yaml``.

The YAML files ship inside the wheel as the package ``auditor.policy_data``; in a source checkout
they are read from the top-level ``policies/`` folder.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.model import CipherSuite, Severity, TlsVersion


def _policy_dir() -> Path:
    # A source checkout reads its own policies/ (an editable install elsewhere must not shadow it).
    checkout = Path(__file__).resolve().parents[2] / "policies"
    if (checkout / "tls.yaml").is_file():
        return checkout
    import auditor.policy_data as installed

    return Path(installed.__file__).parent


@functools.cache
def _load(name: str) -> dict[str, Any]:
    from auditor.yamlload import safe_load

    data = safe_load((_policy_dir() / name).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"policy file {name} must hold a mapping")
    return data


@dataclass(frozen=True, slots=True)
class WeakCipherClass:
    why: str
    severity: Severity
    kx: str | None = None
    au: str | None = None
    enc: str | None = None
    enc_prefix: str | None = None
    mac: str | None = None
    export: bool | None = None

    def matches(self, suite: CipherSuite) -> bool:
        kx = suite.kx.split("(")[0]
        return (
            (self.kx is None or kx == self.kx)
            and (self.au is None or suite.au == self.au)
            and (self.enc is None or suite.enc == self.enc)
            and (self.enc_prefix is None or suite.enc.startswith(self.enc_prefix))
            and (self.mac is None or suite.mac == self.mac)
            and (self.export is None or suite.export == self.export)
        )


@dataclass(frozen=True, slots=True)
class LegacySuite:
    suite: CipherSuite
    classes: frozenset[str]


@dataclass(frozen=True, slots=True)
class TlsPolicy:
    legacy_protocols: frozenset[TlsVersion]
    weak_ciphers: tuple[WeakCipherClass, ...]
    legacy_suites: tuple[LegacySuite, ...]
    expiring_days: int
    min_key_bits: dict[str, int]
    weak_signature_hashes: frozenset[str]


@dataclass(frozen=True, slots=True)
class NginxDefaults:
    version: str
    ssl_protocols: tuple[TlsVersion, ...]
    ssl_ciphers: str
    http2_listen_deprecated_since: str


@dataclass(frozen=True, slots=True)
class EnvoyDefaults:
    version: str
    downstream_tls_protocols: tuple[TlsVersion, ...]
    downstream_ciphers: str


@functools.cache
def tls_policy() -> TlsPolicy:
    raw = _load("tls.yaml")
    weak = []
    for entry in raw["weak_ciphers"]:
        match = dict(entry["match"])
        weak.append(WeakCipherClass(why=entry["why"], severity=Severity.parse(entry["severity"]), **match))
    legacy = tuple(
        LegacySuite(
            suite=CipherSuite(
                name=name,
                kx=str(spec["kx"]),
                au=str(spec["au"]),
                enc=str(spec["enc"]),
                mac=str(spec["mac"]),
                export=bool(spec.get("export", False)),
            ),
            classes=frozenset(spec["classes"]) | {name},
        )
        for name, spec in raw["legacy_cipher_suites"].items()
    )
    certs = raw["certificates"]
    return TlsPolicy(
        legacy_protocols=frozenset(TlsVersion(v) for v in raw["legacy_protocols"]),
        weak_ciphers=tuple(weak),
        legacy_suites=legacy,
        expiring_days=int(certs["expiring_days"]),
        min_key_bits={str(k): int(v) for k, v in certs["min_key_bits"].items()},
        weak_signature_hashes=frozenset(certs["weak_signature_hashes"]),
    )


@functools.lru_cache(maxsize=1024)
def weak_suites(ciphers: tuple[CipherSuite, ...]) -> tuple[tuple[WeakCipherClass, tuple[str, ...]], ...]:
    """The weak classes a cipher list hits, each with its suites in list order (memoized: many
    listeners share one list)."""
    hits: dict[int, list[str]] = {}
    classes = tls_policy().weak_ciphers
    for suite in ciphers:
        for index, weak in enumerate(classes):
            if weak.matches(suite):
                hits.setdefault(index, []).append(suite.name)
                break
    return tuple((classes[i], tuple(names)) for i, names in sorted(hits.items()))


@functools.cache
def nginx_defaults() -> NginxDefaults:
    raw = _load("servers.yaml")["nginx"]
    return NginxDefaults(
        version=str(raw["version"]),
        ssl_protocols=tuple(TlsVersion(v) for v in raw["ssl_protocols"]),
        ssl_ciphers=str(raw["ssl_ciphers"]),
        http2_listen_deprecated_since=str(raw["http2_listen_deprecated_since"]),
    )


@dataclass(frozen=True, slots=True)
class LbTlsPolicy:
    """A cloud load balancer's named TLS policy: protocols and TLS <= 1.2 suites (OpenSSL names)."""

    protocols: tuple[TlsVersion, ...]
    ciphers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CloudTlsPolicies:
    aws: dict[str, LbTlsPolicy]
    aws_default: str
    gcp_profiles: dict[str, tuple[str, ...]]  # IANA names
    gcp_min_versions: dict[str, TlsVersion]
    gcp_default_profile: str
    gcp_default_min_version: str
    azure: dict[str, LbTlsPolicy]  # IANA names
    azure_min_versions: dict[str, TlsVersion]
    iana_to_openssl: dict[str, str]


def _flat_names(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(name for item in value for name in _flat_names(item))
    return (str(value),)


def _lb_policy(raw: dict[str, Any]) -> LbTlsPolicy:
    return LbTlsPolicy(tuple(TlsVersion(v) for v in raw["protocols"]), _flat_names(raw.get("ciphers") or []))


@functools.cache
def cloud_tls_policies() -> CloudTlsPolicies:
    aws = _load("aws_elb_policies.yaml")
    cloud = _load("cloud_tls_policies.yaml")
    gcp, azure = cloud["gcp"], cloud["azure"]
    return CloudTlsPolicies(
        aws={str(name): _lb_policy(spec) for name, spec in aws["policies"].items()},
        aws_default=str(aws["default"]),
        gcp_profiles={str(name): _flat_names(names) for name, names in gcp["profiles"].items()},
        gcp_min_versions={str(k): TlsVersion(v) for k, v in gcp["min_tls_versions"].items()},
        gcp_default_profile=str(gcp["default_profile"]),
        gcp_default_min_version=str(gcp["default_min_tls_version"]),
        azure={str(name): _lb_policy(spec) for name, spec in azure["policies"].items()},
        azure_min_versions={str(k): TlsVersion(v) for k, v in azure["min_protocol_versions"].items()},
        iana_to_openssl={str(k): str(v) for k, v in cloud["iana_to_openssl"].items()},
    )


@functools.cache
def envoy_defaults() -> EnvoyDefaults:
    raw = _load("servers.yaml")["envoy"]
    return EnvoyDefaults(
        version=str(raw["version"]),
        downstream_tls_protocols=tuple(TlsVersion(v) for v in raw["downstream_tls_protocols"]),
        downstream_ciphers=str(raw["downstream_ciphers"]),
    )


@dataclass(frozen=True, slots=True)
class IngressNginxDefaults:
    ssl_protocols: tuple[TlsVersion, ...]
    ssl_ciphers: str
    use_http2: bool
    configmap_names: frozenset[str]
    controller: str
    default_class: str


@functools.cache
def ingress_nginx_defaults() -> IngressNginxDefaults:
    raw = _load("servers.yaml")["ingress-nginx"]
    return IngressNginxDefaults(
        ssl_protocols=tuple(TlsVersion(v) for v in raw["ssl_protocols"]),
        ssl_ciphers=str(raw["ssl_ciphers"]),
        use_http2=bool(raw["use_http2"]),
        configmap_names=frozenset(str(n) for n in raw["configmap_names"]),
        controller=str(raw["controller"]),
        default_class=str(raw["default_class"]),
    )


@dataclass(frozen=True, slots=True)
class WorkloadPolicy:
    default_grace_seconds: int
    grace_margin_seconds: int
    fix_pre_stop_seconds: int
    init_wrappers: frozenset[str]
    exec_last_command: frozenset[str]
    exec_single_command: frozenset[str]
    fork_single_command: frozenset[str]


@functools.cache
def workload_policy() -> WorkloadPolicy:
    raw = _load("workloads.yaml")
    return WorkloadPolicy(
        default_grace_seconds=int(raw["shutdown"]["default_grace_seconds"]),
        grace_margin_seconds=int(raw["shutdown"]["grace_margin_seconds"]),
        fix_pre_stop_seconds=int(raw["shutdown"]["fix_pre_stop_seconds"]),
        init_wrappers=frozenset(str(n) for n in raw["init_wrappers"]),
        exec_last_command=frozenset(str(n) for n in raw["exec_last_command"]),
        exec_single_command=frozenset(str(n) for n in raw["exec_single_command"]),
        fork_single_command=frozenset(str(n) for n in raw["fork_single_command"]),
    )
