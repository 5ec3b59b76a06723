"""``exec`` in front of the last command of a ``sh -c`` script, where that is all it takes.

Only a script whose last line is a plain command (possibly after ``;``, ``&&`` or ``||``) is
edited; a pipeline, a background job, a subshell, a heredoc, a line continuation, a compound
command or a leading variable assignment (``exec FOO=1 app`` would run a program named
``FOO=1``) needs a person. The caller checks the result with the rule's own analysis
(``policies.shell.shell_wrapper``), so a script this gets wrong is refused, never written.
"""

from __future__ import annotations

_KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "case", "esac", "{", "}", "!"}


def exec_offset(script: str) -> int | None:
    """Offset in ``script`` where ``exec `` goes, or None when it is not a mechanical edit."""
    if "<<" in script:  # a heredoc: its last line is data, not a command
        return None
    end = len(script.rstrip())
    start = script.rfind("\n", 0, end) + 1
    line = script[start:end]
    while start > 0 and (not line.strip() or line.lstrip().startswith("#")):
        end = start - 1
        start = script.rfind("\n", 0, end) + 1
        line = script[start:end]
    if not line.strip() or line.rstrip().endswith("\\") or script[:start].rstrip().endswith("\\"):
        return None
    after = _after_last_separator(line)
    if after is None:
        return None
    while after < len(line) and line[after] in " \t":
        after += 1
    word = line[after:].split(maxsplit=1)[0] if line[after:].strip() else ""
    if not word or word in _KEYWORDS or word == "exec" or "=" in word.split("/")[0]:
        return None
    return start + after


def _after_last_separator(line: str) -> int | None:
    """Offset after the last ``;``, ``&&`` or ``||`` outside quotes; None for a pipeline,
    background job, subshell or heredoc."""
    position, last, quote = 0, 0, ""
    while position < len(line):
        char = line[position]
        if quote:
            if char == "\\" and quote == '"':
                position += 1
            elif char == quote:
                quote = ""
        elif char == "\\":
            position += 1
        elif char in "'\"":
            quote = char
        elif char == "#" and (position == 0 or line[position - 1] in " \t"):
            break
        elif line.startswith(("&&", "||"), position):
            position += 1
            last = position + 1
        elif char == ";":
            last = position + 1
        elif char in "|&()`" or line.startswith(("<<", "$("), position):
            if char == "&" and line[position - 1 : position] in (">", "<"):
                pass  # 2>&1, <&0: a redirection, not a background job
            elif char == "&" and line[position + 1 : position + 2] == ">":
                pass  # &> file
            else:
                return None
        position += 1
    return None if quote else last
