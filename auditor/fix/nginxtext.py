"""nginx configuration text with character offsets: what crossplane reads, plus where each token is.

crossplane gives each directive its line but no columns, and a fix must replace exactly one
argument or insert one directive without re-serialising the file. This lexer follows nginx's own
(ngx_conf_read_token): words end at whitespace, ``;``, ``{`` or ``}``; quotes and backslash escapes
hold them together; ``#`` starts a comment at the start of a word; ``${`` is part of a variable.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # as written, quotes included
    value: str  # quotes removed
    start: int
    end: int
    line: int


@dataclass(slots=True)
class Statement:
    words: list[Token]
    end: int  # offset after the closing ``;`` or ``}``
    open_brace: int | None = None  # offset of ``{`` for a block
    close_brace: int | None = None
    children: list[Statement] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.words[0].value

    @property
    def args(self) -> list[Token]:
        return self.words[1:]

    @property
    def start(self) -> int:
        return self.words[0].start

    @property
    def line(self) -> int:
        return self.words[0].line

    def walk(self) -> list[Statement]:
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


class NginxSyntaxError(ValueError):
    pass


def _tokens(text: str) -> list[Token]:
    """Words, and ``;``, ``{``, ``}`` as one-character tokens (a quoted ``";"`` keeps its quotes)."""
    out: list[Token] = []
    i, n, line = 0, len(text), 1
    while i < n:
        char = text[i]
        if char == "\n":
            line += 1
            i += 1
        elif char in " \t\r":
            i += 1
        elif char == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif char in ";{}":
            out.append(Token(char, char, i, i + 1, line))
            i += 1
        else:
            start, start_line = i, line
            value: list[str] = []
            if char in "\"'":
                quote = char
                i += 1
                while i < n and text[i] != quote:
                    if text[i] == "\\" and i + 1 < n:
                        value.append(text[i + 1] if text[i + 1] == quote else text[i : i + 2])
                        i += 2
                        continue
                    if text[i] == "\n":
                        line += 1
                    value.append(text[i])
                    i += 1
                if i >= n:
                    raise NginxSyntaxError(f"unterminated quote at line {start_line}")
                i += 1
            else:
                while i < n and text[i] not in " \t\r\n;":
                    if text[i] == "{" and not (i > start and text[i - 1] == "$"):
                        break
                    if text[i] == "}" and "${" not in text[start:i]:
                        break
                    if text[i] == "\\" and i + 1 < n:
                        value.append(text[i : i + 2])
                        i += 2
                        continue
                    value.append(text[i])
                    i += 1
            out.append(Token(text[start:i], "".join(value), start, i, start_line))
    return out


def parse(text: str) -> list[Statement]:
    """The statements of a file, nested by blocks."""
    tokens = _tokens(text)
    stack: list[list[Statement]] = [[]]
    opened: list[Statement] = []
    words: list[Token] = []
    for token in tokens:
        if token.text not in (";", "{", "}"):
            words.append(token)
            continue
        if token.text == ";":
            if words:
                stack[-1].append(Statement(words, token.end))
            words = []
        elif token.text == "{":
            if not words:
                raise NginxSyntaxError(f"unexpected '{{' at line {token.line}")
            statement = Statement(words, token.end, open_brace=token.start)
            stack[-1].append(statement)
            opened.append(statement)
            stack.append(statement.children)
            words = []
        else:  # "}"
            if words or not opened:
                raise NginxSyntaxError(f"unexpected '}}' at line {token.line}")
            statement = opened.pop()
            stack.pop()
            statement.close_brace = token.start
            statement.end = token.end
    if opened or words:
        raise NginxSyntaxError("unexpected end of file")
    return stack[0]


def walk(statements: list[Statement]) -> list[Statement]:
    out: list[Statement] = []
    for statement in statements:
        out.extend(statement.walk())
    return out


def at_line(statements: list[Statement], name: str, line: int | None) -> list[Statement]:
    return [s for s in walk(statements) if s.name == name and s.line == line]


def parent_of(statements: list[Statement], target: Statement) -> Statement | None:
    for statement in walk(statements):
        if any(child is target for child in statement.children):
            return statement
    return None


def quote(value: str) -> str:
    """An nginx word for ``value``: bare when nginx reads it back unchanged, else double-quoted."""
    if value and not any(c in value for c in " \t\r\n;{}\"'#\\"):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
