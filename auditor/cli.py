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

from auditor import __version__

SEVERITIES = ("info", "low", "medium", "high", "critical")
# Front ends with a subcommand: each module has ``register(subparsers)``, which adds its parser and
# sets ``func`` (args -> exit code). Their heavy imports happen inside ``func``.
FRONT_ENDS: tuple[str, ...] = ("auditor.webhook",)


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="confaudit", description="Find configuration mistakes that cause outages: TLS, "
                     "ALPN, certificates, proxy prefixes, CORS, unknown directives.")
    parser.add_argument("--version", action="version", version=f"confaudit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    scan = commands.add_parser("scan", help="scan files and directories")
    scan.set_defaults(func=_scan)
    scan.add_argument("paths", nargs="+", metavar="PATH", help="files or directories to scan")
    scan.add_argument("-f", "--format", default="table", choices=("table", "json", "sarif"))
    scan.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    scan.add_argument("--fail-on", default="high", choices=SEVERITIES,
                      help="exit 1 when a finding at or above this severity exists (default: high)")
    scan.add_argument("--rules", action="append", metavar="ID[,ID]", help="run only these rules")
    scan.add_argument("--skip-rules", action="append", metavar="ID[,ID]", help="do not run these rules")
    scan.add_argument("--exclude", action="append", metavar="GLOB",
                      help="skip paths matching this gitignore-style pattern (repeatable)")
    scan.add_argument("--cert-expiry-days", type=int, default=30, metavar="N",
                      help="report certificates expiring within N days (default: 30)")
    scan.add_argument("--now", type=_date, metavar="DATE",
                      help="evaluate certificate validity at this date (reproducible reports)")

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
    from auditor.model import Severity
    from auditor.report import renderer

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"confaudit: error: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.cert_expiry_days < 0:
        print("confaudit: error: --cert-expiry-days must be 0 or more", file=sys.stderr)
        return 2
    options = AuditOptions(rules=_split(args.rules), skip_rules=_split(args.skip_rules),
                           excludes=tuple(args.exclude or ()), now=args.now,
                           cert_expiry_days=args.cert_expiry_days)
    try:
        result = audit(args.paths, options)
    except ValueError as exc:  # unknown rule ids
        print(f"confaudit: error: {exc}", file=sys.stderr)
        return 2
    _write(renderer(args.format)(result), args.output)
    threshold = Severity.parse(args.fail_on).rank
    return 1 if any(f.severity.rank >= threshold for f in result.active) else 0


def _rules(args: argparse.Namespace) -> int:
    from auditor import ruledocs

    _write(ruledocs.render(args.format), args.output)
    return 0


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def entry() -> None:
    sys.exit(main())
