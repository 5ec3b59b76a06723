"""`confaudit scan samples/` gives exactly the pinned findings.

The golden files list one finding per line, ``rule-id file:line``, per top-level folder of
samples/ (tests/golden/samples/<folder>.txt). Regenerate one after a deliberate change with
``python -m tests.test_samples`` and review the diff.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

from auditor.api import AuditOptions, audit
from tests.conftest import NOW, REPO, nginx_test

GOLDEN = REPO / "tests" / "golden" / "samples"


def current() -> dict[str, list[str]]:
    result = audit([REPO / "samples"], AuditOptions(now=NOW, strict=True))
    assert not result.internal_errors
    groups: dict[str, list[str]] = defaultdict(list)
    for finding in result.findings:
        top = finding.loc.file.split("/", 1)[0]
        mark = " (suppressed)" if finding.suppression else ""
        groups[top].append(f"{finding.rule_id} {finding.loc}{mark}")
    return {k: sorted(v) for k, v in groups.items()}


def test_samples_findings_are_pinned() -> None:
    found = current()
    pinned = {p.stem: p.read_text().splitlines() for p in GOLDEN.glob("*.txt")}
    assert set(found) == set(pinned), "a samples/ folder has findings but no golden file, or vice versa"
    for folder, lines in pinned.items():
        assert found[folder] == lines, f"samples/{folder} findings changed"


if __name__ == "__main__":
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for folder, lines in current().items():
        (GOLDEN / f"{folder}.txt").write_text("\n".join(lines) + "\n")
        print(f"wrote {GOLDEN / folder}.txt ({len(lines)} findings)", file=sys.stderr)


def test_samples_nginx_passes_real_nginx_t(tmp_path: Path) -> None:
    # Every deliberate problem in samples/nginx is one nginx accepts: it would ship.
    run = nginx_test(REPO / "samples" / "nginx" / "nginx.conf", tmp_path)
    assert run.returncode == 0, run.stderr


def test_samples_nginx_edge_is_refused_by_nginx_where_we_say(tmp_path: Path) -> None:
    # samples/nginx-edge holds what nginx itself refuses; nginx stops at the first error, which
    # must be one confaudit reports at the same place.
    run = nginx_test(REPO / "samples" / "nginx-edge" / "nginx.conf", tmp_path)
    assert run.returncode != 0
    match = re.search(r'unknown directive "([^"]+)" in (\S+):(\d+)', run.stderr)
    assert match, run.stderr
    result = audit([REPO / "samples" / "nginx-edge"], AuditOptions(now=NOW, strict=True))
    where = {(f.rule_id, f.loc.file, f.loc.line) for f in result.findings}
    rel = Path(match.group(2)).relative_to(REPO / "samples" / "nginx-edge").as_posix()
    assert ("unknown-directive", rel, int(match.group(3))) in where
