"""``confaudit diff [--base REF] [--head REF] [PATH...]``: what a change adds and fixes.

Exit codes: 0 no new finding at or above --fail-on, 1 at least one, 2 usage error (not a git
repository, unknown ref, invalid configuration or baseline).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auditor import cliopts

FORMATS = ("table", "json", "sarif", "markdown", "github", "junit")


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "diff",
        help="report the findings a change adds and fixes (pull-request check)",
        description="Scan two revisions of a git repository and report new, fixed and unchanged findings. "
        "Neither revision is checked out: files are read from git into temporary folders.",
    )
    parser.set_defaults(func=_diff)
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="limit the scan to these paths (default: the whole repository)"
    )
    parser.add_argument(
        "--base", metavar="REF", help="base revision (default: the merge-base of head with origin/HEAD, main or master)"
    )
    parser.add_argument("--head", metavar="REF", help="head revision (default: the working tree)")
    cliopts.add_report_arguments(parser, FORMATS)
    cliopts.add_policy_arguments(parser)
    parser.add_argument("--rules", action="append", metavar="ID[,ID]", help="report only these rules")
    parser.add_argument("--skip-rules", action="append", metavar="ID[,ID]", help="do not report these rules")
    parser.add_argument("--exclude", action="append", metavar="GLOB", help="skip paths matching this pattern")
    parser.add_argument("--cert-expiry-days", type=int, metavar="N", help="certificate expiry window (default: 30)")
    parser.add_argument("--now", metavar="DATE", help="evaluate certificate validity at this date")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the result cache")


def _split(values: list[str] | None) -> tuple[str, ...]:
    return tuple(v.strip() for item in values or () for v in item.split(",") if v.strip())


def _now(text: str | None) -> dt.datetime:
    if text is None:
        # Day granularity, so that results cached today stay valid all day.
        today = dt.datetime.now(dt.timezone.utc).date()
        return dt.datetime(today.year, today.month, today.day, tzinfo=dt.timezone.utc)
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _diff(args: argparse.Namespace) -> int:
    from auditor.engine import select_rules
    from auditor.gcpause import gc_paused
    from auditor.gitops import diff, git
    from auditor.gitops.cache import Cache, default_dir
    from auditor.gitops.incremental import ScanOptions
    from auditor.model import Severity
    from auditor.report import diff_renderer

    try:
        repo = git.toplevel(Path.cwd())
        scope = _scope(args.paths, repo)
        reports = cliopts.outputs(args)
        settings = cliopts.settings(args, repo)
        rules, skip = _split(args.rules), _split(args.skip_rules)
        select_rules(rules, skip)
        now = _now(args.now)
    except (ValueError, git.GitError) as exc:
        print(f"confaudit: error: {exc}", file=sys.stderr)
        return 2
    options = ScanOptions(scope, now, settings.cert_expiry_days, settings.excludes)
    request = diff.DiffRequest(repo, args.base, args.head, options, rules, skip, settings.config, settings.baseline)
    cache = Cache(None if args.no_cache else default_dir())
    # Two revisions' findings and dependency records stay alive to the end and hold no cycles
    # worth collecting: the collector only rescanned them (about 15% of a warm diff; the peak
    # memory of a cold diff of the bench repository is the same without it).
    with gc_paused():
        try:
            with _exit_on_sigterm():
                result, expired = diff.run(request, cache)
        except git.GitError as exc:
            print(f"confaudit: error: {exc}", file=sys.stderr)
            return 2
        cliopts.warn_expired(expired, settings.config)
        for fmt, output in reports:
            cliopts.write(diff_renderer(fmt, args.link_base)(result), output)
    threshold = Severity.parse(settings.fail_on).rank
    return 1 if any(f.severity.rank >= threshold for f in result.new) else 0


@contextlib.contextmanager
def _exit_on_sigterm() -> Iterator[None]:
    """A cancelled CI job gets SIGTERM: leave through ``SystemExit`` so that the temporary folders
    the revisions are written to (in memory, under /dev/shm, for a large one) are removed."""
    main = os.getpid()

    def leave(signum: int, _frame: object) -> None:
        if os.getpid() != main:  # a worker of the parsing pool: its parent cleans up
            os._exit(128 + signum)
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, leave)
    except ValueError:  # not the main thread: signals are not ours to handle
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _scope(paths: list[str], repo: Path) -> tuple[str, ...]:
    scope = []
    for raw in paths or ["."]:
        absolute = Path(os.path.abspath(raw))
        try:
            rel = (
                absolute.relative_to(repo.resolve())
                if absolute.is_relative_to(repo.resolve())
                else absolute.relative_to(repo)
            )
        except ValueError:
            raise ValueError(f"{raw} is outside the repository {repo}") from None
        scope.append(rel.as_posix() or ".")
    return tuple(sorted(set(scope)))
