"""Command-line options shared by ``scan`` and ``diff``: report outputs, configuration, baseline.

``--format X --output FILE`` may be repeated: an ``--output`` belongs to the ``--format`` before it,
and at most one format goes to standard output. A single ``--format``/``--output`` pair may come in
either order, as it always could.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.baseline import Baseline
    from auditor.config import Config, Waiver

log = logging.getLogger("confaudit")
SEVERITIES = ("info", "low", "medium", "high", "critical")


class _Ordered(argparse.Action):
    """Appends (option, value) to ``namespace.report_args`` to keep --format/--output order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        items = list(getattr(namespace, "report_args", None) or [])
        items.append((self.dest, values))
        namespace.report_args = items


def add_report_arguments(parser: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    parser.set_defaults(report_args=[])
    parser.add_argument(
        "-f",
        "--format",
        dest="format",
        action=_Ordered,
        choices=formats,
        help=f"report format (repeatable with --output): {', '.join(formats)}; default table",
    )
    parser.add_argument(
        "-o",
        "--output",
        dest="output",
        action=_Ordered,
        metavar="FILE",
        help="write the report of the --format before it to FILE instead of stdout",
    )
    parser.add_argument(
        "--link-base",
        metavar="URL",
        help="markdown: link locations to URL/<file>#L<line> (a blob URL at the head commit)",
    )


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        help="exit 1 when a finding at or above this severity exists (default: high, or fail-on in .confaudit.yaml)",
    )
    parser.add_argument(
        "--config", metavar="FILE", type=Path, help="configuration file (default: .confaudit.yaml at the scan root)"
    )
    parser.add_argument(
        "--baseline",
        metavar="FILE",
        type=Path,
        help="hide the findings recorded in this baseline (see --write-baseline)",
    )


def outputs(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """(format, file or None for stdout) pairs; raises ValueError on an ambiguous combination."""
    items: list[tuple[str, str]] = list(getattr(args, "report_args", None) or [])
    formats = [v for k, v in items if k == "format"]
    files = [v for k, v in items if k == "output"]
    if len(formats) <= 1 and len(files) <= 1:
        return [(formats[0] if formats else "table", files[0] if files else None)]
    pairs: list[list[Any]] = []
    for kind, value in items:
        if kind == "format":
            pairs.append([value, None])
        elif pairs and pairs[-1][1] is None:
            pairs[-1][1] = value
        else:
            raise ValueError(f"--output {value} does not follow a --format (write --format X --output FILE)")
    if sum(1 for _, file in pairs if file is None) > 1:
        raise ValueError("only one --format can go to standard output: give the others an --output FILE")
    return [(fmt, file) for fmt, file in pairs]


def write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


@dataclass(frozen=True, slots=True)
class Settings:
    """Configuration file and CLI flags merged (flags win)."""

    config: Config | None
    baseline: Baseline | None
    fail_on: str
    cert_expiry_days: int
    excludes: tuple[str, ...]


def settings(args: argparse.Namespace, root: Path) -> Settings:
    """Load ``.confaudit.yaml`` and the baseline; raises ValueError (a usage error) when invalid."""
    from auditor import baseline as baselines
    from auditor import config as configs
    from auditor.policies import REGISTRY

    path = args.config
    if path is not None and not path.is_file():
        raise ValueError(f"configuration file not found: {path}")
    path = path or configs.find(root)
    config = configs.load(path, REGISTRY.rules) if path is not None else None
    baseline_path = args.baseline
    if baseline_path is None and config is not None and config.baseline:
        baseline_path = config.folder / config.baseline
    baseline = baselines.load(baseline_path) if baseline_path is not None else None
    fail_on = args.fail_on or (config.fail_on if config else None) or "high"
    days = getattr(args, "cert_expiry_days", None)
    if days is None:
        days = config.cert_expiry_days if config and config.cert_expiry_days is not None else 30
    excludes = tuple(getattr(args, "exclude", None) or ()) + (config.exclude if config else ())
    return Settings(config, baseline, fail_on, days, excludes)


def warn_expired(expired: Sequence[Waiver], config: Config | None) -> None:
    name = str(config.path) if config is not None and config.path is not None else ".confaudit.yaml"
    for waiver in expired:
        print(
            f"confaudit: warning: {name}:{waiver.line}: the exception for {waiver.rule} expired on "
            f"{waiver.until.isoformat()}; its findings are reported again",
            file=sys.stderr,
        )


def today(now: dt.datetime | None) -> dt.date:
    return (now or dt.datetime.now(dt.timezone.utc)).date()
