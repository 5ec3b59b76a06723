"""Read the TLS Secrets an Ingress names, through the Kubernetes API (``--lookup``).

A review holds one object; the certificate an Ingress serves lives in another. With ``--lookup``
the webhook reads that Secret with the ``kubernetes`` client (in-cluster service account, or a
kubeconfig), bounded by a short timeout and kept in a small TTL cache. When the API cannot answer
(no credentials, RBAC refuses, timeout, network), the lookup says why and the checks that need the
Secret are skipped with a warning: a lookup never fails or stalls a review. After a failure the API
is not asked again for ``failure_backoff`` seconds, so an unreachable API server costs one timeout,
not one per review.

Secrets hold private keys: their data goes into the model (which keeps only facts about keys) and
never into a log line or a message.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("confaudit.webhook")

# Fields that carry nothing a rule reads and can be large.
_DROPPED_METADATA = ("managedFields",)


@dataclass(frozen=True, slots=True)
class Lookup:
    # "found"; "not-found" and "denied" (RBAC) are answers about this Secret and cached like it;
    # "error" means the API could not answer (network, timeout, 5xx): no Secret is asked for a while.
    status: str
    secret: dict[str, Any] | None
    reason: str  # short, without the Secret's name (the caller names it); never Secret data
    cached: bool = False


Fetch = Callable[[str, str], Lookup]


class SecretLookup:
    """``get(namespace, name)`` with a TTL cache and a back-off after failures; thread-safe."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        ttl: float = 30.0,
        max_entries: int = 256,
        failure_backoff: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        observe: Callable[[str], None] | None = None,
    ) -> None:
        self._fetch = fetch
        self._observe = observe or (lambda result: None)
        self._ttl = ttl
        self._max_entries = max_entries
        self._failure_backoff = failure_backoff
        self._clock = clock
        self._cache: OrderedDict[tuple[str, str], tuple[float, Lookup]] = OrderedDict()
        self._failed_until = 0.0
        self._last_failure = ""
        self._lock = threading.Lock()

    def get(self, namespace: str, name: str) -> Lookup:
        key = (namespace, name)
        now = self._clock()
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None and entry[0] > now:
                self._cache.move_to_end(key)
                found = entry[1]
                self._observe("cached")
                return Lookup(found.status, found.secret, found.reason, cached=True)
            if now < self._failed_until:
                self._observe("backoff")
                reason = f"{self._last_failure} (API server not asked again for {self._failure_backoff:g} s)"
                return Lookup("error", None, reason, cached=True)
        result = self._fetch(namespace, name)
        self._observe(result.status)
        with self._lock:
            if result.status == "error":
                self._failed_until = self._clock() + self._failure_backoff
                self._last_failure = result.reason
            else:
                self._cache[key] = (self._clock() + self._ttl, result)
                self._cache.move_to_end(key)
                while len(self._cache) > self._max_entries:
                    self._cache.popitem(last=False)
        return result


def kubernetes_fetch(kubeconfig: str | None, timeout: float) -> Fetch:
    """A fetch function over the ``kubernetes`` client: in-cluster configuration when running in a
    pod, else ``kubeconfig`` (or $KUBECONFIG, ~/.kube/config). Raises ValueError when neither exists."""
    from kubernetes import client, config  # heavy: only with --lookup
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    try:
        if kubeconfig is None:
            try:
                config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            except ConfigException:
                config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, client_configuration=configuration
            )
    except (ConfigException, OSError, TypeError) as exc:
        raise ValueError(f"--lookup: no Kubernetes API credentials (in-cluster or kubeconfig): {exc}") from None
    configuration.retries = 0  # one bounded attempt; the cache's back-off decides when to try again
    api = client.CoreV1Api(client.ApiClient(configuration))

    def fetch(namespace: str, name: str) -> Lookup:
        import urllib3

        try:
            response = api.read_namespaced_secret(
                name, namespace, _request_timeout=(timeout, timeout), _preload_content=False
            )
            secret = json.loads(response.data)  # type: ignore[arg-type]  # raw urllib3 body
        except client.ApiException as exc:
            if exc.status == 404:
                return Lookup("not-found", None, "it does not exist")
            if exc.status in (401, 403):
                return Lookup(
                    "denied",
                    None,
                    "forbidden by RBAC (see deploy/lookup)"
                    if exc.status == 403
                    else "unauthorized (service-account token)",
                )
            return Lookup("error", None, f"the API server answered HTTP {exc.status}")
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            return Lookup("error", None, _short(exc))
        if not isinstance(secret, dict):
            return Lookup("error", None, "the API server sent no Secret")
        metadata = secret.get("metadata")
        if isinstance(metadata, dict):
            for field in _DROPPED_METADATA:
                metadata.pop(field, None)
        secret.setdefault("apiVersion", "v1")
        secret.setdefault("kind", "Secret")
        return Lookup("found", secret, "")

    return fetch


def _short(exc: BaseException) -> str:
    """A one-line reason for a network failure (urllib3 wraps the cause in a long message)."""
    reason = getattr(exc, "reason", None)
    text = str(reason if reason is not None else exc) or type(exc).__name__
    if "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
        return "the API server did not answer in time"
    if "refused" in text.lower():
        return "connection refused"
    return text.splitlines()[0][:120]
