"""Command line: ``confaudit scan PATH...``, ``confaudit rules``. ``main(argv) -> exit code``.

Exit codes: 0 no finding at or above --fail-on, 1 at least one, 2 usage error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from auditor import __version__, cliopts

SEVERITIES = cliopts.SEVERITIES
REPORT_FORMATS = ("table", "json", "sarif", "markdown", "github", "junit")
# Front ends with a subcommand: each module has ``register(subparsers)``, which adds its parser and
# sets ``func`` (args -> exit code). Their heavy imports happen inside ``func``.
FRONT_ENDS: tuple[str, ...] = ("auditor.gitops.command", "auditor.probe.cli", "auditor.webhook", "auditor.fix.command")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message}")


def _split(values: list[str] | None) -> tuple[str, ...]:
    return tuple(v.strip() for item in values or () for v in item.split(",") if v.strip())


def _date(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _repo_map(text: str) -> tuple[str, str]:
    url, sep, directory = text.partition("=")
    if not sep or not url or not directory:
        raise argparse.ArgumentTypeError(f"expected URL=DIR, got {text!r}")
    return url, directory


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="confaudit",
        description="Find configuration mistakes that cause outages: TLS, "
        "ALPN, certificates, proxy prefixes, CORS, unknown directives.",
    )
    parser.add_argument("--version", action="version", version=f"confaudit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    scan = commands.add_parser("scan", help="scan files and directories")
    scan.set_defaults(func=_scan)
    scan.add_argument("paths", nargs="+", metavar="PATH", help="files or directories to scan")
    cliopts.add_report_arguments(scan, REPORT_FORMATS)
    cliopts.add_policy_arguments(scan)
    scan.add_argument(
        "--write-baseline",
        metavar="FILE",
        type=Path,
        help="record today's findings in FILE (JSON) and exit 0; later --baseline FILE hides them",
    )
    scan.add_argument("--rules", action="append", metavar="ID[,ID]", help="run only these rules")
    scan.add_argument("--skip-rules", action="append", metavar="ID[,ID]", help="do not run these rules")
    scan.add_argument(
        "--exclude",
        action="append",
        metavar="GLOB",
        help="skip paths matching this gitignore-style pattern (repeatable)",
    )
    scan.add_argument(
        "--cert-expiry-days", type=int, metavar="N", help="report certificates expiring within N days (default: 30)"
    )
    scan.add_argument(
        "--now", type=_date, metavar="DATE", help="evaluate certificate validity at this date (reproducible reports)"
    )
    scan.add_argument("--helm-bin", metavar="PATH", help="helm binary used to render charts (default: helm on PATH)")
    scan.add_argument(
        "--values",
        action="append",
        metavar="FILE",
        help="extra helm values file for every chart render, applied last (repeatable)",
    )
    scan.add_argument(
        "--set",
        action="append",
        metavar="K=V",
        dest="helm_set",
        help="extra helm --set value for every chart render, applied last (repeatable)",
    )
    scan.add_argument(
        "--helm-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="give up rendering a chart after this many seconds (default: 60)",
    )
    scan.add_argument(
        "--repo-map",
        action="append",
        metavar="URL=DIR",
        type=_repo_map,
        help="Argo CD repoURL URL is checked out at DIR (default: every repoURL is the scanned tree)",
    )

    rules = commands.add_parser("rules", help="list the rule catalogue")
    rules.set_defaults(func=_rules)
    rules.add_argument("-f", "--format", default="table", choices=("table", "json", "markdown"))
    rules.add_argument("-o", "--output", metavar="FILE")
    for module in FRONT_ENDS:
        importlib.import_module(module).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="confaudit: %(message)s")
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    code: int = func(args)
    return code


def _scan(args: argparse.Namespace) -> int:
    from auditor.api import AuditOptions, audit
    from auditor.discover import scan_root
    from auditor.gcpause import gc_paused
    from auditor.model import Severity
    from auditor.report import renderer
    from auditor.suppress import settle

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"confaudit: error: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.cert_expiry_days is not None and args.cert_expiry_days < 0:
        print("confaudit: error: --cert-expiry-days must be 0 or more", file=sys.stderr)
        return 2
    if args.helm_timeout <= 0:
        print("confaudit: error: --helm-timeout must be more than 0", file=sys.stderr)
        return 2
    missing_values = [v for v in args.values or () if not Path(v).is_file()]
    missing_dirs = [d for _, d in args.repo_map or () if not Path(d).is_dir()]
    if missing_values or missing_dirs:
        print(
            f"confaudit: error: no such file or directory: {', '.join(missing_values + missing_dirs)}", file=sys.stderr
        )
        return 2
    try:
        reports = cliopts.outputs(args)
        settings = cliopts.settings(args, scan_root([Path(p) for p in args.paths]))
    except ValueError as exc:  # bad --format/--output pairs, configuration or baseline
        print(f"confaudit: error: {exc}", file=sys.stderr)
        return 2
    options = AuditOptions(
        rules=_split(args.rules),
        skip_rules=_split(args.skip_rules),
        excludes=settings.excludes,
        now=args.now,
        cert_expiry_days=settings.cert_expiry_days,
        helm_bin=args.helm_bin,
        values=tuple(str(Path(v).resolve()) for v in args.values or ()),
        sets=tuple(args.helm_set or ()),
        helm_timeout=args.helm_timeout,
        repo_map=tuple(args.repo_map or ()),
    )
    # What the parsers build stays alive until the report is written and holds no cycles worth
    # collecting: automatic collections only rescan it (0.6-1.8 s of a 6-7 s scan of 10,000
    # manifests and 1,000 nginx sites, at the same peak memory).
    with gc_paused():
        try:
            result = audit(args.paths, options)
        except ValueError as exc:  # unknown rule ids
            print(f"confaudit: error: {exc}", file=sys.stderr)
            return 2
        if args.write_baseline is not None:
            from auditor import baseline

            result, _ = settle(result, config=settings.config, today=cliopts.today(args.now), keep_rules=options.rules)
            count = baseline.write(args.write_baseline, result.active, result.root)
            print(f"confaudit: wrote {count} findings to the baseline {args.write_baseline}", file=sys.stderr)
            return 0
        result, expired = settle(
            result,
            config=settings.config,
            baseline=settings.baseline,
            today=cliopts.today(args.now),
            keep_rules=options.rules,
        )
        cliopts.warn_expired(expired, settings.config)
        for fmt, output in reports:
            cliopts.write(renderer(fmt, args.link_base)(result), output)
        threshold = Severity.parse(settings.fail_on).rank
        return 1 if any(f.severity.rank >= threshold for f in result.active) else 0


def _rules(args: argparse.Namespace) -> int:
    from auditor import ruledocs

    cliopts.write(ruledocs.render(args.format), args.output)
    return 0


def entry() -> None:
    sys.exit(main())
