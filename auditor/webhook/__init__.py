"""``confaudit webhook``: a validating admission webhook that applies the scan's rules at the door.

``register`` adds the subcommand (see ``cli.FRONT_ENDS``); the server and its dependencies
(uvicorn, starlette, prometheus_client, optionally kubernetes: ``pip install confaudit[webhook]``)
are imported only when the command runs. See docs/webhook.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

SEVERITIES = ("info", "low", "medium", "high", "critical")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "webhook",
        help="run the validating admission webhook (HTTPS)",
        description="Serve POST /validate for admission.k8s.io/v1 AdmissionReview, plus /healthz, /readyz "
        "and /metrics, evaluating objects with the same rules as `confaudit scan`.",
    )
    parser.set_defaults(func=_run)
    tls = parser.add_argument_group("server")
    tls.add_argument("--tls-cert", required=True, metavar="FILE", help="serving certificate (PEM, with chain)")
    tls.add_argument("--tls-key", required=True, metavar="FILE", help="its private key (PEM)")
    tls.add_argument("--host", default="0.0.0.0", help="address to listen on (default: 0.0.0.0)")  # noqa: S104
    tls.add_argument("--port", type=int, default=8443, help="port (default: 8443)")
    tls.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (default: 1)")
    tls.add_argument(
        "--review-timeout",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="time budget of one review, well under the webhook's timeoutSeconds (default: 2)",
    )
    tls.add_argument(
        "--fail-closed",
        action="store_true",
        help="in deny mode, refuse objects that could not be evaluated in time (default: allow them with a warning)",
    )
    tls.add_argument(
        "--max-body-bytes",
        type=int,
        default=8 * 1024 * 1024,
        metavar="N",
        help="larger requests get 413 (default: 8 MiB, two objects at the API server's limit)",
    )
    tls.add_argument(
        "--graceful-timeout",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="on SIGTERM, how long requests in flight may take to finish (default: 15)",
    )
    tls.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    policy = parser.add_argument_group("decisions")
    policy.add_argument(
        "--mode",
        default="deny",
        choices=("deny", "warn", "audit"),
        help="deny: refuse at --fail-on; warn: allow with warnings; audit: log and count only",
    )
    policy.add_argument("--fail-on", choices=SEVERITIES, help="refuse at or above this severity (default: high)")
    policy.add_argument(
        "--warn-on",
        default="low",
        choices=SEVERITIES,
        help="return warnings for findings at or above this severity (default: low)",
    )
    policy.add_argument("--config", metavar="FILE", help="a .confaudit.yaml (rules, severities, exceptions)")
    policy.add_argument(
        "--only-new", action="store_true", help="on UPDATE, report only findings the old object did not already have"
    )
    policy.add_argument("--rules", action="append", metavar="ID[,ID]", help="run only these rules")
    policy.add_argument("--skip-rules", action="append", metavar="ID[,ID]", help="do not run these rules")
    policy.add_argument(
        "--cert-expiry-days", type=int, metavar="N", help="report certificates expiring within N days (default: 30)"
    )
    scope = parser.add_argument_group("scope")
    scope.add_argument(
        "--namespace",
        default=os.environ.get("POD_NAMESPACE"),
        help="the webhook's own namespace, never evaluated (default: $POD_NAMESPACE)",
    )
    scope.add_argument(
        "--exclude-namespace",
        action="append",
        metavar="NS",
        help="also skip this namespace (kube-system and the own namespace always are)",
    )
    scope.add_argument(
        "--exclude-selector", metavar="SELECTOR", help="skip objects whose labels match, e.g. 'team=infra,tier!=web'"
    )
    lookup = parser.add_argument_group("cross-object checks")
    lookup.add_argument(
        "--lookup",
        action="store_true",
        help="read the TLS Secrets an Ingress names from the API (needs RBAC: deploy/lookup)",
    )
    lookup.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig for --lookup outside a cluster")
    lookup.add_argument(
        "--lookup-timeout", type=float, default=1.0, metavar="SECONDS", help="timeout of one Secret read (default: 1)"
    )
    lookup.add_argument(
        "--lookup-ttl",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long a Secret read is cached (default: 30)",
    )


def _split(values: list[str] | None) -> tuple[str, ...]:
    return tuple(v.strip() for item in values or () for v in item.split(",") if v.strip())


def _run(args: argparse.Namespace) -> int:
    try:
        from auditor.webhook import server
        from auditor.webhook.settings import review_settings
        from auditor.webhook.tlsreload import ReloadingContext
    except ModuleNotFoundError as exc:
        print(f"confaudit: error: the webhook needs {exc.name}: pip install 'confaudit[webhook]'", file=sys.stderr)
        return 2
    problems = []
    if not 0 < args.port < 65536:
        problems.append("--port must be between 1 and 65535")
    if args.workers < 1:
        problems.append("--workers must be 1 or more")
    if args.review_timeout <= 0 or args.lookup_timeout <= 0 or args.graceful_timeout < 0:
        problems.append("timeouts must be positive")
    if args.max_body_bytes < 1024:
        problems.append("--max-body-bytes must be at least 1024")
    if args.cert_expiry_days is not None and args.cert_expiry_days < 0:
        problems.append("--cert-expiry-days must be 0 or more")
    excluded = {"kube-system", *(_split(args.exclude_namespace))}
    if args.namespace:
        excluded.add(args.namespace)
    settings = server.ServerSettings(
        mode=args.mode,
        fail_on=args.fail_on,
        warn_on=args.warn_on,
        only_new=args.only_new,
        exclude_namespaces=tuple(sorted(excluded)),
        exclude_selector=args.exclude_selector,
        rules=_split(args.rules),
        skip_rules=_split(args.skip_rules),
        cert_expiry_days=args.cert_expiry_days,
        config_file=args.config,
        lookup=args.lookup,
        kubeconfig=args.kubeconfig,
        lookup_timeout=args.lookup_timeout,
        lookup_ttl=args.lookup_ttl,
        review_timeout=args.review_timeout,
        fail_closed=args.fail_closed,
        max_body_bytes=args.max_body_bytes,
    )
    if not problems:
        try:
            review_settings(settings)  # configuration, selector and rule ids, before any worker starts
        except ValueError as exc:
            problems.append(str(exc))
        try:
            ReloadingContext(args.tls_cert, args.tls_key)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            problems.append(f"cannot load --tls-cert/--tls-key: {getattr(exc, 'strerror', None) or exc}")
    if problems:
        for problem in problems:
            print(f"confaudit: error: {problem}", file=sys.stderr)
        return 2
    from auditor.webhook.process import serve

    return serve(
        settings,
        cert_file=args.tls_cert,
        key_file=args.tls_key,
        host=args.host,
        port=args.port,
        workers=args.workers,
        graceful_timeout=args.graceful_timeout,
        log_level=args.log_level,
    )
