"""`confaudit scan samples/` gives exactly the pinned findings.

The golden files list one finding per line, ``rule-id file:line``, per top-level folder of
samples/ (tests/golden/samples/<folder>.txt). Regenerate one after a deliberate change with
``python -m tests.test_samples`` and review the diff.
"""

from __future__ import annotations

import sys
from collections import defaultdict

from auditor.api import AuditOptions, audit
from tests.conftest import NOW, REPO

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
