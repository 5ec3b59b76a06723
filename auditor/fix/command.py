"""``confaudit fix PATH... [--rules ID,...] [--dry-run] [--format diff|json]``.

Convention: ``fix`` writes the edits unless ``--dry-run`` is given, whatever stdout is (a command
that writes in a terminal and prints in a pipe would surprise a script). ``--dry-run`` prints one
unified diff (``git apply``/``patch -p1`` from the scan root) or, with ``--format json``, the
planned edits. After writing, the same paths are scanned again: each finding is reported fixed or
left, and a fix that brings in a finding that was not there is undone and named.

Exit codes: 0 nothing to fix, or every fix written and verified; 1 ``--dry-run`` with edits to
make, or a fix was undone or did not remove its finding; 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.api import AuditResult
    from auditor.fix.plan import Fix, Plan
    from auditor.model import Finding

MAX_BISECT = 24  # fixes tried one at a time to find the one that introduced a finding


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "fix",
        help="apply the mechanical fixes for findings (or print them as a diff with --dry-run)",
        description="Compute edits for the findings whose fix is mechanical, keep everything else in "
        "the files byte for byte, write them (or print a unified diff with --dry-run), re-scan and "
        "report what was fixed, what is left and what needs a decision.",
    )
    parser.set_defaults(func=_fix)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories to scan and fix")
    parser.add_argument("--rules", action="append", metavar="ID[,ID]", help="fix only the findings of these rules")
    parser.add_argument("--dry-run", action="store_true", help="print the edits instead of writing them")
    parser.add_argument(
        "-f", "--format", default="diff", choices=("diff", "json"), help="diff (default) or json output"
    )
    parser.add_argument("--exclude", action="append", metavar="GLOB", help="skip paths matching this pattern")
    parser.add_argument("--config", metavar="FILE", type=Path, help="configuration file (default: .confaudit.yaml)")
    parser.add_argument("--baseline", metavar="FILE", type=Path, help="leave the findings of this baseline alone")
    parser.add_argument("--helm-bin", metavar="PATH", help="helm binary used to render charts")


def _split(values: list[str] | None) -> tuple[str, ...]:
    return tuple(v.strip() for item in values or () for v in item.split(",") if v.strip())


def _fix(args: argparse.Namespace) -> int:
    from auditor import cliopts
    from auditor.discover import scan_root
    from auditor.engine import select_rules

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"confaudit: error: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    rules = _split(args.rules)
    try:
        select_rules(rules)
        args.fail_on = None
        settings = cliopts.settings(args, scan_root([Path(p) for p in args.paths]))
    except ValueError as exc:
        print(f"confaudit: error: {exc}", file=sys.stderr)
        return 2
    scan = _scanner(args, settings)
    before = scan()
    wanted = [f for f in before.active if not rules or f.rule_id in rules]
    from auditor.fix.plan import plan as make_plan

    planned = make_plan(before.root, before.model, wanted)
    if args.dry_run:
        return _print_plan(planned, args.format)
    return _write_and_verify(planned, before, scan, args.format)


def _scanner(args: argparse.Namespace, settings: Any) -> Callable[[], AuditResult]:
    from auditor import cliopts
    from auditor.api import AuditOptions, audit
    from auditor.suppress import settle

    options = AuditOptions(excludes=settings.excludes, helm_bin=args.helm_bin)

    def scan() -> AuditResult:
        result = audit(args.paths, options)
        settled, _ = settle(result, config=settings.config, baseline=settings.baseline, today=cliopts.today(None))
        return settled

    return scan


# -- dry run -------------------------------------------------------------------------------------


def diff_text(planned: Plan, fixes: Sequence[Fix] | None = None) -> str:
    from auditor.fix.edits import unified_diff

    after = planned.results(fixes)
    return "".join(unified_diff(file, planned.texts[file], after[file]) for file in sorted(after))


def plan_json(planned: Plan) -> dict[str, Any]:
    from auditor.fix.edits import line_column

    fixes = []
    for fix in planned.fixes:
        edits = []
        for edit in fix.edits:
            text = planned.texts[edit.file]
            line, column = line_column(text, edit.start)
            end_line, end_column = line_column(text, edit.end)
            edits.append(
                {
                    "file": edit.file,
                    "start": {"line": line, "column": column, "offset": edit.start},
                    "end": {"line": end_line, "column": end_column, "offset": edit.end},
                    "text": edit.text,
                }
            )
        fixes.append(
            {
                **_finding(fix.finding),
                "description": fix.description,
                "also": [_finding(f) for f in fix.also],
                "edits": edits,
            }
        )
    unfixed = [
        {**_finding(u.finding), "reason": u.reason, "needs_decision": u.decision, "fix": u.finding.fix}
        for u in planned.unfixed
    ]
    return {"fixes": fixes, "unfixed": unfixed, "diff": diff_text(planned)}


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "rule_id": finding.rule_id,
        "file": finding.loc.file,
        "line": finding.loc.line,
        "resource": finding.resource,
        "message": finding.message,
    }


def _print_plan(planned: Plan, fmt: str) -> int:
    if fmt == "json":
        sys.stdout.write(json.dumps(plan_json(planned), indent=2) + "\n")
    else:
        sys.stdout.write(diff_text(planned))
        for fix in planned.fixes:
            print(f"confaudit: would fix {_where(fix.finding)}: {fix.description}", file=sys.stderr)
        _print_unfixed(planned, sys.stderr)
    return 1 if planned.fixes else 0


def _where(finding: Finding) -> str:
    return f"{finding.loc} {finding.rule_id}"


def _print_unfixed(planned: Plan, stream: Any) -> None:
    for item in planned.unfixed:
        label = "needs a decision" if item.decision else "not fixed"
        print(f"confaudit: {label}: {_where(item.finding)}: {_why(item.reason, item.finding.fix)}", file=stream)


def _why(reason: str, fix: str) -> str:
    return f"{reason}. {fix}" if reason else fix


# -- write, re-scan, undo ------------------------------------------------------------------------


def _key(finding: Finding) -> tuple[str, str, str]:
    return (finding.rule_id, finding.loc.file, finding.resource)


def _write(planned: Plan, fixes: Sequence[Fix]) -> None:
    from auditor.fix.edits import write_text

    after = planned.results(fixes)
    for file, text in planned.texts.items():
        write_text(planned.root / file, after.get(file, text))


def _write_and_verify(planned: Plan, before: AuditResult, scan: Callable[[], AuditResult], fmt: str) -> int:
    old = {_key(f) for f in before.active}
    kept: list[Fix] = list(planned.fixes)
    undone: list[tuple[Fix, list[Finding]]] = []
    _write(planned, kept)
    after = scan() if kept else before
    introduced = [f for f in after.active if _key(f) not in old]
    if introduced:
        kept, undone = _bisect(planned, kept, introduced, old, scan)
        after = scan()
    now = {_key(f) for f in after.active}
    report: dict[str, list[dict[str, Any]]] = {"fixed": [], "left": [], "undone": [], "unfixed": []}
    for fix in kept:
        for finding in (fix.finding, *fix.also):
            entry = {**_finding(finding), "description": fix.description}
            report["left" if _key(finding) in now else "fixed"].append(entry)
    for fix, brought in undone:
        report["undone"].append(
            {
                **_finding(fix.finding),
                "description": fix.description,
                "introduced": [_finding(f) for f in brought],
            }
        )
    for item in planned.unfixed:
        report["unfixed"].append(
            {**_finding(item.finding), "reason": item.reason, "needs_decision": item.decision, "fix": item.finding.fix}
        )
    if fmt == "json":
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        _print_report(report)
    return 1 if report["left"] or report["undone"] else 0


def _bisect(
    planned: Plan,
    fixes: list[Fix],
    introduced: list[Finding],
    old: set[tuple[str, str, str]],
    scan: Callable[[], AuditResult],
) -> tuple[list[Fix], list[tuple[Fix, list[Finding]]]]:
    """Find the fixes that bring in new findings: suspects are the fixes editing a file that now
    has a new finding (all fixes if none does); each is tried on its own on top of the others."""
    files = {f.loc.file for f in introduced}
    suspects = [fix for fix in fixes if files & set(fix.files)] or list(fixes)
    innocent = [fix for fix in fixes if fix not in suspects]
    if len(suspects) > MAX_BISECT:  # too many to try one by one: undo them all
        _write(planned, innocent)
        return innocent, [(fix, introduced) for fix in suspects]
    kept = list(innocent)
    undone: list[tuple[Fix, list[Finding]]] = []
    baseline_keys = set(old)
    for fix in suspects:
        _write(planned, [*kept, fix])
        brought = [f for f in scan().active if _key(f) not in baseline_keys]
        if brought:
            undone.append((fix, brought))
        else:
            kept.append(fix)
    _write(planned, kept)
    return kept, undone


def _print_report(report: dict[str, list[dict[str, Any]]]) -> None:
    out = sys.stdout
    for entry in report["fixed"]:
        out.write(f"fixed      {entry['file']}:{entry['line']} {entry['rule_id']}: {entry['description']}\n")
    for entry in report["left"]:
        out.write(f"left       {entry['file']}:{entry['line']} {entry['rule_id']}: still reported after the edit\n")
    for entry in report["undone"]:
        brought = "; ".join(f"{f['rule_id']} at {f['file']}:{f['line']} ({f['message']})" for f in entry["introduced"])
        out.write(
            f"undone     {entry['file']}:{entry['line']} {entry['rule_id']}: {entry['description']} "
            f"introduced {brought}\n"
        )
    for entry in report["unfixed"]:
        label = "decide    " if entry["needs_decision"] else "not fixed "
        out.write(
            f"{label} {entry['file']}:{entry['line']} {entry['rule_id']}: {_why(entry['reason'], entry['fix'])}\n"
        )
    counts = {k: len(v) for k, v in report.items()}
    out.write(
        f"{counts['fixed']} fixed, {counts['left']} left, {counts['undone']} undone, "
        f"{counts['unfixed']} without an automatic fix\n"
    )
