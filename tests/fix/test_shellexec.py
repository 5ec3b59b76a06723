"""Where `exec` goes in a `sh -c` script, and the scripts that are left to a person."""

from __future__ import annotations

import pytest

from auditor.fix.shellexec import exec_offset


@pytest.mark.parametrize(
    ("script", "fixed"),
    [
        ("node server.js", "exec node server.js"),
        ("cd /srv && gunicorn app.wsgi", "cd /srv && exec gunicorn app.wsgi"),
        ("migrate; nginx -g 'daemon off;'", "migrate; exec nginx -g 'daemon off;'"),
        ("app --log x 2>&1", "exec app --log x 2>&1"),
        ("setup\n  run-app --port 80  # the server\n\n", "setup\n  exec run-app --port 80  # the server\n\n"),
        ('echo "a;b" && ./app', 'echo "a;b" && exec ./app'),
    ],
)
def test_exec_goes_before_the_last_command(script: str, fixed: str) -> None:
    offset = exec_offset(script)
    assert offset is not None
    assert script[:offset] + "exec " + script[offset:] == fixed


@pytest.mark.parametrize(
    "script",
    [
        "app | tee /log",
        "app &",
        "app & wait",
        "(cd /x && app)",
        "exec app",
        "PORT=80 app",
        "if true; then app; fi",
        "app \\\n  --flag",
        "cat <<EOF\nx\nEOF",
        "app $(cat /args)",
    ],
)
def test_scripts_left_to_a_person(script: str) -> None:
    assert exec_offset(script) is None
