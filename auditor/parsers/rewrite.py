"""Path rewrites shared by the proxies' parsers: what literal prefix an anchored regex matches."""

from __future__ import annotations

_REGEX_META = frozenset(".^$*+?()[]{}|\\")


def anchored_prefix(regex: str) -> tuple[str, str] | None:
    """Split ``^/api/(.*)$`` into its literal path prefix ("/api/") and the rest ("(.*)$").

    None when the regex is not anchored at the start. Escaped ``.``, ``/`` and ``-`` count as
    literal characters; any other metacharacter ends the prefix.
    """
    if not regex.startswith("^"):
        return None
    literal: list[str] = []
    index = 1
    while index < len(regex):
        char = regex[index]
        if char == "\\" and index + 1 < len(regex) and regex[index + 1] in "./-":
            literal.append(regex[index + 1])
            index += 2
            continue
        if char in _REGEX_META:
            break
        literal.append(char)
        index += 1
    return "".join(literal), regex[index:]
