"""``confaudit probe``: the command line of the live prober (registered through ``cli.FRONT_ENDS``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from auditor.cli import _date, _split
from auditor.cliopts import SEVERITIES, write
from auditor.report import FORMATS


def register(commands: Any) -> None:
    probe = commands.add_parser(
        "probe",
        help="handshake with live TLS endpoints and check them with the same rules",
        description="Perform real TLS handshakes (one connection per question) and report, with the rules of "
        "`confaudit scan`, which protocol versions the endpoint accepts, which ALPN protocol it selects and "
        "what certificate chain it serves. Only the endpoints named here (or in --from-config) are contacted.",
    )
    probe.set_defaults(func=run)
    probe.add_argument(
        "targets", nargs="*", metavar="HOST[:PORT]", help="endpoints to probe (port 443 by default; IPv6 as [::1]:8443)"
    )
    probe.add_argument(
        "--sni",
        action="append",
        metavar="NAME",
        help="server name to send and to check the certificate against (repeatable; default: the host)",
    )
    probe.add_argument(
        "--alpn",
        default="h2,http/1.1",
        metavar="PROTO[,PROTO]",
        help="ALPN list to offer, most preferred first; each protocol is also offered alone (default: h2,http/1.1)",
    )
    probe.add_argument(
        "--grpc",
        action="store_true",
        help="the endpoints serve gRPC: report alpn-h2-missing when they do not negotiate h2",
    )
    probe.add_argument(
        "--from-config",
        action="append",
        metavar="PATH",
        help="scan these configurations, probe the endpoints their TLS listeners declare and "
        "compare static and live verdicts (repeatable)",
    )
    probe.add_argument(
        "--resolve",
        action="append",
        metavar="NAME=ADDR[:PORT]",
        help="connect to ADDR (and PORT) when probing NAME, a server name or a listener address "
        "such as unix:/run/app.sock (repeatable)",
    )
    probe.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds allowed for each connect + handshake (default: 5)",
    )
    probe.add_argument(
        "--ca-file",
        metavar="PEM",
        help="verify served chains against these CA certificates instead of the system trust store",
    )
    probe.add_argument("-f", "--format", default="table", choices=FORMATS)
    probe.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    probe.add_argument(
        "--fail-on",
        default="high",
        choices=SEVERITIES,
        help="exit 1 when a finding at or above this severity exists (default: high)",
    )
    probe.add_argument("--skip-rules", action="append", metavar="ID[,ID]", help="do not run these rules")
    probe.add_argument(
        "--cert-expiry-days",
        type=int,
        default=30,
        metavar="N",
        help="report certificates expiring within N days (default: 30)",
    )
    probe.add_argument("--now", type=_date, metavar="DATE", help="evaluate certificate validity at this date")


def _usage(message: str) -> int:
    print(f"confaudit probe: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from auditor.model import Severity
    from auditor.probe.report import render
    from auditor.probe.run import ProbeOptions, probe, probe_configs
    from auditor.probe.session import Settings
    from auditor.probe.target import parse_resolve, parse_target

    configs = list(args.from_config or ())
    if bool(args.targets) == bool(configs):
        return _usage(
            "give HOST[:PORT] targets or --from-config PATH, not both"
            if configs
            else "give at least one HOST[:PORT] target or --from-config PATH"
        )
    if configs and (args.sni or args.grpc):
        return _usage("--sni and --grpc apply to HOST[:PORT] targets; --from-config takes names from the configuration")
    if not 0 < args.timeout <= 300:
        return _usage("--timeout must be more than 0 and at most 300 seconds")
    if args.cert_expiry_days < 0:
        return _usage("--cert-expiry-days must be 0 or more")
    if args.ca_file and not Path(args.ca_file).is_file():
        return _usage(f"--ca-file {args.ca_file}: no such file")
    missing = [p for p in configs if not Path(p).exists()]
    if missing:
        return _usage(f"no such file or directory: {', '.join(missing)}")
    alpn = _split([args.alpn])
    try:
        targets = [parse_target(t) for t in args.targets]
        overrides = parse_resolve(list(args.resolve or ()))
    except ValueError as exc:
        return _usage(str(exc))
    bad_alpn = [p for p in alpn if len(p.encode()) > 255]
    if bad_alpn:
        return _usage(f"--alpn: protocol names are at most 255 bytes: {bad_alpn[0][:40]}...")
    options = ProbeOptions(
        Settings(args.timeout, alpn, args.ca_file), args.now, args.cert_expiry_days, _split(args.skip_rules), overrides
    )
    try:
        result = (
            probe_configs(configs, options) if configs else probe(targets, list(args.sni or ()), options, args.grpc)
        )
    except ValueError as exc:  # unknown rule ids
        return _usage(str(exc))
    write(render(args.format, result), args.output)
    threshold = Severity.parse(args.fail_on).rank
    return 1 if any(f.severity.rank >= threshold for f in result.result.active) else 0
