"""Does a container's ``SHELL -c SCRIPT`` command leave the shell as PID 1?

A shell that stays PID 1 receives the kubelet's SIGTERM itself. PID 1 has no default signal
actions, so a shell without a ``trap`` ignores it, the application never hears it and is
SIGKILLed at the end of the grace period, dropping its in-flight requests. The shell is replaced
by the application when the script ends in ``exec CMD``; for a lone simple command it depends on
the shell (see ``policies/workloads.yaml``): bash, BusyBox ash and zsh exec it, dash (``/bin/sh``
on Debian and Ubuntu) forks it. Measured, not assumed: tests/policies/test_shell.py runs the real
shells.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from auditor.policies.data import workload_policy

_SEPARATORS = {";", "&&", "||", "&", "|", "|&", ";;", "\n"}


@dataclass(frozen=True, slots=True)
class ShellWrapper:
    shell: str  # the shell's program name, e.g. "sh"
    script: str
    keeps_pid1: bool | None  # None: cannot tell (unparsable script)
    reason: str  # why the shell stays PID 1 (or why it does not)


def program(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def shell_wrapper(argv: tuple[str, ...]) -> ShellWrapper | None:
    """Analyse ``argv`` when it is ``SHELL [options] -c SCRIPT``; None for anything else."""
    policy = workload_policy()
    if not argv or program(argv[0]) in policy.init_wrappers:
        return None
    words = list(argv)
    shell = program(words[0])
    if shell == "busybox" and len(words) > 1 and words[1] in ("sh", "ash"):
        words = words[1:]
    if shell not in policy.exec_last_command | policy.exec_single_command | policy.fork_single_command:
        return None
    for position, word in enumerate(words[1:], start=1):
        if not word.startswith("-") or word.startswith("--"):
            return None  # `sh script.sh`: the script's own last line decides, and it is not here
        if "c" in word[1:]:
            return _analyse(shell, words[position + 1]) if position + 1 < len(words) else None
    return None


def _analyse(shell: str, script: str) -> ShellWrapper:
    policy = workload_policy()
    parsed = _commands(script)
    if parsed is None:
        return ShellWrapper(shell, script, None, "the script could not be tokenised")
    commands, last_joined_by, trailing = parsed
    if any(c[0] == "trap" for c in commands):
        return ShellWrapper(shell, script, False, "the script traps signals itself")
    last = commands[-1] if commands else []
    shown = script.strip() if len(commands) <= 1 else " ".join(last)
    if last and last[0] == "exec" and any(not _is_redirect(word) for word in last[1:]):
        return ShellWrapper(shell, script, False, "the script ends in exec")
    if not last or last_joined_by == "|" or trailing == "&" or "(" in last:
        return ShellWrapper(shell, script, True, f"its last command, {shown!r}, runs in a pipeline, subshell or "
                            "the background")
    if shell in policy.exec_last_command:
        return ShellWrapper(shell, script, False, f"{shell} execs the last command")
    simple = len(commands) == 1 and not any(_is_redirect(w) for w in last)
    if simple and shell in policy.exec_single_command:
        return ShellWrapper(shell, script, False, f"{shell} execs a lone simple command")
    if simple:
        return ShellWrapper(shell, script, True, f"{shell} (dash on Debian and Ubuntu images) runs {shown!r} as a "
                            "child instead of exec-ing it")
    if len(commands) == 1:
        return ShellWrapper(shell, script, True, f"{shown!r} has a redirection, so {shell} forks it instead of "
                            "exec-ing it")
    return ShellWrapper(shell, script, True, f"its last command, {shown!r}, is not started with exec "
                        f"(dash and bash before 5.1 fork it)")


def _commands(script: str) -> tuple[list[list[str]], str | None, str | None] | None:
    """(the script's commands, the separator before the last one, a separator after it), split at
    ; && || & | and newlines; None if the script does not tokenise."""
    commands: list[list[str]] = [[]]
    separators: list[str] = []
    trailing: str | None = None
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.commenters = "#"
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:
            return None
        for word in [*tokens, "\n"]:
            if word in _SEPARATORS:
                if commands[-1]:
                    commands.append([])
                    separators.append(word)
                    trailing = None
                if word != "\n":
                    trailing = word
            else:
                commands[-1].append(word)
                trailing = None
    found = [c for c in commands if c]
    before_last = separators[len(found) - 2] if len(found) >= 2 and len(separators) >= len(found) - 1 else None
    return found, before_last, trailing


def _is_redirect(word: str) -> bool:
    """An operator token of a redirection (the lexer splits ``2>&1`` into ``2``, ``>&``, ``1``)."""
    return ("<" in word or ">" in word) and set(word) <= set("<>&|")
