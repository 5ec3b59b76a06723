"""nginx fixes: minimal text edits at the directive a finding points at (never a re-written file)."""

from __future__ import annotations

from auditor.fix import nginxtext
from auditor.fix.edits import Edit, indentation, line_end, line_start, newline_of
from auditor.fix.nginxtext import Statement
from auditor.fix.plan import Fix, FixContext, Skip
from auditor.model import Finding, TlsVersion
from auditor.policies.data import tls_policy


def _statements(ctx: FixContext, file: str) -> tuple[str, list[Statement]] | Skip:
    text = ctx.text(file)
    if text is None:
        return Skip(f"{file} cannot be read", decision=False)
    try:
        return text, nginxtext.parse(text)
    except nginxtext.NginxSyntaxError as exc:
        return Skip(f"{file} does not parse ({exc})", decision=False)


def _is_nginx(finding: Finding) -> bool:
    return finding.resource.startswith("nginx ")


# -- ssl_protocols -------------------------------------------------------------------------------


def good_protocols(names: list[str], *, drop_legacy: bool, add_tls13: bool) -> list[str]:
    """The protocol list without SSLv2/SSLv3/TLSv1/TLSv1.1 and/or with TLSv1.3; TLSv1.2 is added
    when only legacy versions were listed (the fallback the list evidently wanted)."""
    legacy = {v.value for v in tls_policy().legacy_protocols} | {"SSLv2", "SSLv3"}
    kept = [n for n in names if n not in legacy] if drop_legacy else list(names)
    if TlsVersion.TLS1_2.value not in kept and len(kept) < len(names):
        kept.append(TlsVersion.TLS1_2.value)
    if add_tls13 and TlsVersion.TLS1_3.value not in kept:
        kept.append(TlsVersion.TLS1_3.value)
    order = [v.value for v in TlsVersion]
    return sorted(kept, key=lambda n: order.index(n) if n in order else len(order))


def fix_tls_legacy_protocol(finding: Finding, ctx: FixContext) -> Fix | Skip | None:
    if not _is_nginx(finding):
        return None
    parsed = _statements(ctx, finding.loc.file)
    if isinstance(parsed, Skip):
        return parsed
    _text, statements = parsed
    found = nginxtext.at_line(statements, "ssl_protocols", finding.loc.line)
    if not found:
        return Skip("ssl_protocols is not set; nothing to edit", decision=False)
    statement = found[0]
    if not statement.args:
        return Skip("ssl_protocols has no arguments", decision=False)
    names = [token.value for token in statement.args]
    new = good_protocols(
        names,
        drop_legacy=ctx.wants("tls-legacy-protocol", finding.loc),
        add_tls13=ctx.wants("tls13-disabled", finding.loc),
    )
    if new == names:
        return Skip("ssl_protocols already lists what the rule asks for", decision=False)
    start, end = statement.args[0].start, statement.args[-1].end
    edit = Edit(finding.loc.file, start, end, " ".join(new))
    return Fix(finding, f"ssl_protocols {' '.join(names)} -> {' '.join(new)}", (edit,))


fix_tls13_disabled = fix_tls_legacy_protocol


# -- listen ... http2 ----------------------------------------------------------------------------


def fix_http2_listen_deprecated(finding: Finding, ctx: FixContext) -> Fix | Skip | None:
    if not _is_nginx(finding):
        return None
    parsed = _statements(ctx, finding.loc.file)
    if isinstance(parsed, Skip):
        return parsed
    text, statements = parsed
    listens = [s for s in nginxtext.at_line(statements, "listen", finding.loc.line) if _has_http2(s)]
    if not listens:
        return Skip("no `listen ... http2` at this line", decision=False)
    listen = listens[0]
    server = nginxtext.parent_of(statements, listen)
    edits: list[Edit] = []
    for token in listen.args:
        if token.value == "http2":
            # Remove the word and the blank before it: `listen 443 ssl http2;` -> `listen 443 ssl;`.
            before = token.start
            while before > 0 and text[before - 1] in " \t":
                before -= 1
            edits.append(Edit(finding.loc.file, before, token.end, ""))
    directive = [s for s in (server.children if server else []) if s.name == "http2"]
    if any(s.args and s.args[0].value == "off" for s in directive):
        return Skip("the server sets `http2 off;` while its listen line turns HTTP/2 on: decide which it wants")
    if not directive and not _http2_on_elsewhere(ctx, finding):
        if server is None or server.name != "server":
            return Skip("the listen line is not directly inside a server block (an included file?)", decision=False)
        edits.append(_http2_on(finding.loc.file, text, server))
    return Fix(finding, "move http2 from the listen line to `http2 on;` in the server", tuple(edits))


def _http2_on(file: str, text: str, server: Statement) -> Edit:
    """``http2 on;`` on its own line after the server's last listen line (one place per server,
    so that the fixes for two listen lines insert it once)."""
    listens = [s for s in server.children if s.name == "listen"]
    anchor = listens[-1] if listens else None
    if anchor is None:
        assert server.open_brace is not None
        at = line_end(text, server.open_brace)
        line = indentation(text, server.start) + "    http2 on;" + newline_of(text)
    else:
        at = line_end(text, anchor.end)
        line = indentation(text, anchor.start) + "http2 on;" + newline_of(text)
    if at == len(text) and not text.endswith("\n"):
        line = newline_of(text) + line
    return Edit(file, at, at, line)


def fix_alpn_h2_missing(finding: Finding, ctx: FixContext) -> Fix | Skip | None:
    """nginx offers h2 in ALPN when HTTP/2 is on for the server: ``http2 on;`` is the whole fix."""
    if not _is_nginx(finding):
        return None
    parsed = _statements(ctx, finding.loc.file)
    if isinstance(parsed, Skip):
        return parsed
    text, statements = parsed
    listens = nginxtext.at_line(statements, "listen", finding.loc.line)
    server = nginxtext.parent_of(statements, listens[0]) if listens else None
    if server is None or server.name != "server":
        return Skip("the server's listen line is not where the finding points (an included file?)", decision=False)
    if any(s.name == "http2" for s in server.children):
        return Skip("the server sets `http2` itself; decide whether it should be on")
    return Fix(
        finding,
        "turn HTTP/2 on for the server (`http2 on;`), so that it offers h2",
        (_http2_on(finding.loc.file, text, server),),
    )


fix_grpc_listener_no_http2 = fix_alpn_h2_missing


def fix_grpc_upstream_h1(finding: Finding, ctx: FixContext) -> Fix | Skip | None:
    if not _is_nginx(finding):
        return None
    return Skip(
        "proxy_pass -> grpc_pass also changes which directives apply (proxy_* settings such as "
        "proxy_set_header and timeouts have grpc_* counterparts that must be written by hand)"
    )


def _has_http2(statement: Statement) -> bool:
    return any(token.value == "http2" for token in statement.args)


def _http2_on_elsewhere(ctx: FixContext, finding: Finding) -> bool:
    """The server already has ``http2 on;`` in force (its own, from http level or an include)."""
    for listener in ctx.listeners(finding):
        if listener.http2_loc is not None and listener.http2_loc != listener.loc:
            return True
    return False


# -- X-Forwarded-Prefix --------------------------------------------------------------------------


def fix_forwarded_prefix_missing(finding: Finding, ctx: FixContext) -> Fix | Skip | None:
    if not _is_nginx(finding):
        return None
    route = ctx.route(finding)
    if route is None or not route.strip_prefix:
        return Skip("the route could not be found again", decision=False)
    parsed = _statements(ctx, route.loc.file)
    if isinstance(parsed, Skip):
        return parsed
    text, statements = parsed
    locations = [s for s in nginxtext.at_line(statements, "location", route.loc.line) if s.open_brace is not None]
    if not locations:
        return Skip("the location block is not at the recorded line", decision=False)
    location = locations[0]
    passes = [s for s in location.children if s.name in ("proxy_pass", "grpc_pass")]
    header_directive = "grpc_set_header" if passes and passes[0].name == "grpc_pass" else "proxy_set_header"
    own = [s for s in location.children if s.name == header_directive]
    lines = [f"{header_directive} X-Forwarded-Prefix {nginxtext.quote(route.strip_prefix)};"]
    if not own:
        if any(s.name == "include" for s in location.children):
            return Skip(
                f"the location includes a file that may set {header_directive}: add "
                f"`{lines[0]}` where the location's headers are set",
                decision=False,
            )
        # One proxy_set_header here drops every inherited one: write them out as well.
        for header in route.request_headers:
            copied = _statement_text(ctx, header.loc.file, header.loc.line, header_directive, header.name)
            if copied is None:
                return Skip(f"the inherited header {header.name} at {header.loc} could not be copied", decision=False)
            lines.insert(len(lines) - 1, copied)
    anchor = own[-1] if own else None
    newline = newline_of(text)
    if anchor is not None:
        at = line_end(text, anchor.end)
        indent = indentation(text, anchor.start)
    elif passes:
        at = line_start(text, passes[0].start)
        indent = indentation(text, passes[0].start)
        if text[at : passes[0].start].strip():  # the pass shares its line with something else
            return Skip("the location is written on one line; add the header by hand", decision=False)
    else:
        return Skip("the location has no proxy_pass of its own", decision=False)
    block = "".join(indent + line + newline for line in lines)
    what = "set X-Forwarded-Prefix " + route.strip_prefix
    if len(lines) > 1:
        what += f" (and write out the {len(lines) - 1} inherited header(s) it would drop)"
    return Fix(finding, what, (Edit(route.loc.file, at, at, block),))


def _statement_text(ctx: FixContext, file: str, line: int | None, name: str, header: str) -> str | None:
    text = ctx.text(file)
    if text is None:
        return None
    try:
        statements = nginxtext.parse(text)
    except nginxtext.NginxSyntaxError:
        return None
    for statement in nginxtext.at_line(statements, name, line):
        if statement.args and statement.args[0].value.lower() == header:
            return text[statement.start : statement.end]
    return None
