"""The shell-wrapper analysis behind shutdown-shell-pid1, checked against the real shells.

Each case runs ``SHELL -c SCRIPT`` (the script's application is ``sleep``) and looks at the
process: either ``sleep`` replaced the shell (same pid), or the shell stayed and forked it. The
analysis must agree wherever it claims to know; shells that are not installed are skipped.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from auditor.policies.shell import shell_wrapper

# (shell, script, the analysis' verdict: does the shell stay PID 1?, what the real shell does,
# when it differs from the verdict on purpose)
CASES = [
    ("dash", "sleep 30", True, None),
    ("dash", "exec sleep 30", False, None),
    ("dash", "cd / && sleep 30", True, None),
    ("dash", "set -e\nexec sleep 30 --", False, None),
    ("bash", "sleep 30", False, None),
    ("bash", "exec sleep 30", False, None),
    ("bash", "sleep 30 >/dev/null 2>&1", True, None),
    ("bash", "sleep 30 | cat", True, None),
    # bash 5.1+ execs the last command of a list; before 5.1 it forks: reported, for portability.
    ("bash", "cd / && sleep 30", True, "replaced"),
    ("busybox", "sleep 30", False, None),
    ("busybox", "cd / && sleep 30 >/dev/null", False, None),
    ("busybox", "sleep 30 &\nwait", True, None),
]


def _argv(shell: str, script: str) -> list[str]:
    return [shell, "sh", "-c", script] if shell == "busybox" else [shell, "-c", script]


def _replaced(argv: list[str]) -> bool:
    """Run ``argv`` and tell whether ``sleep`` replaced the shell or became its child."""
    process = subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            comm = Path(f"/proc/{process.pid}/comm").read_text().strip()
            if comm == "sleep":
                return True
            children = " ".join(p.read_text() for p in Path(f"/proc/{process.pid}/task").glob("*/children"))
            if any(Path(f"/proc/{child}/comm").read_text().strip() == "sleep" for child in children.split()):
                return False
            time.sleep(0.02)
        raise AssertionError(f"{argv} started neither way")
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the session this test started
        process.wait()


@pytest.mark.parametrize(("shell", "script", "keeps_pid1", "real"), CASES, ids=lambda v: str(v).replace("\n", ";"))
def test_analysis_matches_real_shell(shell: str, script: str, keeps_pid1: bool, real: str | None) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    verdict = shell_wrapper(tuple(_argv(shell, script)))
    assert verdict is not None and verdict.keeps_pid1 is keeps_pid1, verdict
    expected_replaced = (real == "replaced") if real else not keeps_pid1
    assert _replaced(_argv(shell, script)) is expected_replaced


def test_sh_is_analysed_as_dash() -> None:
    # `sh` in an image is dash on Debian/Ubuntu (forks a lone command), BusyBox on Alpine (execs
    # it): the analysis takes the shell that keeps PID 1, so the rule warns for both.
    verdict = shell_wrapper(("/bin/sh", "-c", "node server.js"))
    assert verdict is not None and verdict.keeps_pid1
    assert "dash" in verdict.reason


@pytest.mark.parametrize(
    "argv",
    [
        ("tini", "--", "sh", "-c", "node server.js"),
        ("/usr/bin/dumb-init", "sh", "-c", "node server.js"),
        ("node", "server.js"),
        ("sh", "/docker-entrypoint.sh"),
        ("sh", "--login"),
    ],
)
def test_not_a_shell_wrapper(argv: tuple[str, ...]) -> None:
    assert shell_wrapper(argv) is None


def test_signal_forwarding_script_is_fine() -> None:
    script = 'trap \'kill -TERM "$child"\' TERM\nnode server.js &\nchild=$!\nwait "$child"'
    verdict = shell_wrapper(("sh", "-c", script))
    assert verdict is not None and verdict.keeps_pid1 is False


def test_unparsable_script_is_not_judged() -> None:
    verdict = shell_wrapper(("sh", "-c", "echo 'unterminated"))
    assert verdict is not None and verdict.keeps_pid1 is None
