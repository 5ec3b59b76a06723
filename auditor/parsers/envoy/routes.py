"""Envoy route configurations (inline or RDS) into routes: matches, targets, rewrites, headers.

Headers from ``request_headers_to_add`` apply at route, virtual host and route configuration
level together (Envoy does not drop outer levels the way nginx drops inherited
``proxy_set_header``).
"""

from __future__ import annotations

import re

from auditor.model import Header, Location, Protocol, Route, Upstream
from auditor.parsers.envoy.nodes import Instance, Node, config_source_path
from auditor.parsers.rewrite import anchored_prefix

_GRPC_PATH = re.compile(r"^/[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+/")


def routes(hcm: Node, inst: Instance, has_cors: bool) -> tuple[tuple[Route, ...], tuple[str, ...]]:
    config = hcm.get("route_config")
    if config is None:
        rds = hcm.get("rds")
        if rds is None:
            return (), ()  # scoped routes or none
        name = rds.text("route_config_name")
        path = config_source_path(rds.get("config_source"))
        if path is not None:
            found = [n for n in inst.resources(path, "RDS") if n.text("name") == name]
            config = found[0] if found else None
        else:
            config = inst.route_configs.get(name)  # same xDS file, else ADS / gRPC: not in the tree
        if config is None:
            return (), ()
    routes: list[Route] = []
    domains: list[str] = []
    for vhost in config.list("virtual_hosts"):
        domains.extend(_domain(d) for d in vhost.strings("domains"))
        for entry in vhost.list("routes"):
            route = _route(entry, vhost, config, inst, has_cors)
            if route is not None:
                routes.append(route)
    return tuple(routes), tuple(d for d in dict.fromkeys(domains) if d)


def _domain(value: str) -> str:
    """``api.example.com:8443`` -> ``api.example.com``; catch-alls stay for the rules to skip."""
    if value.startswith("["):
        return value.split("]")[0] + "]"
    host, sep, port = value.rpartition(":")
    return host if sep and (port.isdigit() or port == "*") else value


def _route(entry: Node, vhost: Node, config: Node, inst: Instance, has_cors: bool) -> Route | None:
    action = entry.get("route")
    if action is None:
        return None  # redirect, direct_response, filter_action: nothing is proxied
    match = entry.get("match")
    text, prefix = _match_text(match)
    targets = _targets(action)
    upstreams = [inst.clusters.get(t) for t in targets]
    protocol = _protocol(upstreams)
    is_grpc = match is not None and (match.has("grpc") or bool(_GRPC_PATH.match(prefix or "")) or _grpc_header(match))
    strip, rewrite_loc = _strip(action, prefix)
    vhost_name = vhost.text("name") or "vhost"
    return Route(
        loc=entry.loc,
        resource=f"envoy route {text} ({vhost_name})",
        match=text,
        match_prefix=prefix,
        is_grpc=is_grpc,
        upstream=", ".join(targets) or None,
        upstream_protocol=protocol,
        strip_prefix=strip,
        rewrite_loc=rewrite_loc,
        request_headers=_level_headers((entry, vhost, config), "request_headers_to_add", "request_headers_to_remove"),
        response_headers=_level_headers((entry, vhost, config), "response_headers_to_add", "response_headers_to_remove")
        + (_cors(entry, vhost) if has_cors else ()),
        upstream_ref=next((u for u in upstreams if u is not None), None),
    )


def _match_text(match: Node | None) -> tuple[str, str | None]:
    if match is None:
        return "(no match)", None
    for key in ("prefix", "path_separated_prefix"):
        if match.has(key):
            value = match.text(key)
            return value or "/", value or "/"
    if match.has("path"):
        return f"path {match.text('path')}", None
    regex = match.get("safe_regex")
    if regex is not None:
        return f"regex {regex.text('regex')}", None
    if match.has("connect_matcher"):
        return "CONNECT", None
    template = match.dig("path_match_policy", "typed_config")
    if template is not None:
        return f"template {template.text('path_template')}", None
    return "(match)", None


def _grpc_header(match: Node) -> bool:
    for header in match.list("headers"):
        if header.text("name").lower() == "content-type":
            values = [header.text(k) for k in ("exact_match", "prefix_match")]
            string_match = header.get("string_match")
            if string_match is not None:
                values += [string_match.text(k) for k in ("exact", "prefix")]
            if any(v.startswith("application/grpc") for v in values):
                return True
    return False


def _targets(action: Node) -> list[str]:
    if action.has("cluster"):
        return [action.text("cluster")]
    weighted = action.get("weighted_clusters")
    if weighted is not None:
        return [c.text("name") for c in weighted.list("clusters") if c.text("name")]
    return []  # cluster_header / cluster_specifier_plugin: chosen per request


def _protocol(upstreams: list[Upstream | None]) -> Protocol:
    known = [u for u in upstreams if u is not None]
    if any(u.protocol is Protocol.HTTP1 for u in known):
        return Protocol.HTTP1
    if known and len(known) == len(upstreams):
        return known[0].protocol
    return Protocol.UNKNOWN  # a cluster from CDS over gRPC/ADS, or picked per request


def _strip(action: Node, prefix: str | None) -> tuple[str | None, Location | None]:
    rewrite = action.get("prefix_rewrite")
    if rewrite is not None and prefix is not None:
        strip = _strip_prefix(prefix, str(rewrite.value))
        return strip, rewrite.loc if strip else None
    regex = action.get("regex_rewrite")
    if regex is not None:
        strip = _regex_strip(regex.dig("pattern", "regex"), regex.text("substitution"))
        return strip, regex.loc if strip else None
    return None, None


def _strip_prefix(prefix: str, replacement: str) -> str | None:
    """``prefix: /prometheus/`` + ``prefix_rewrite: /`` sends /prometheus/x as /x: "/prometheus"."""
    matched, kept = prefix.rstrip("/"), replacement.rstrip("/")
    if matched.endswith(kept) and len(matched) > len(kept):
        return matched[: len(matched) - len(kept)] or None
    return None


def _regex_strip(pattern: Node | None, substitution: str) -> str | None:
    """``regex_rewrite: {pattern: {regex: "^/api/(.*)"}, substitution: "/\\1"}`` strips "/api"."""
    if pattern is None:
        return None
    split = anchored_prefix(str(pattern.value))
    if split is None:
        return None
    prefix, rest = split
    rest = rest.removesuffix("$")
    if rest in ("", ".*"):
        kept = substitution
    elif re.fullmatch(r"\((?:\?:)?/?\.[*+]\)", rest) and re.fullmatch(r"[^\\]*\\1", substitution):
        kept = substitution[:-2]
    else:
        return None
    if "\\" in kept:
        return None
    return _strip_prefix(prefix, kept)


def _level_headers(levels: tuple[Node, ...], add_key: str, remove_key: str) -> tuple[Header, ...]:
    """Headers added at route, virtual host and route configuration level (most specific first);
    a name removed at a more specific level drops what the outer levels add."""
    headers: list[Header] = []
    removed: set[str] = set()
    for level in levels:
        for item in level.list(add_key):
            header = item.get("header")
            if header is not None and header.text("key").lower() not in removed:
                headers.append(Header(header.text("key").lower(), header.text("value"), header.loc))
        removed.update(name.lower() for name in level.strings(remove_key))
    return tuple(headers)


# -- CORS --------------------------------------------------------------------------------------

_ANY_ORIGIN = ("*", "https://any-site.example")


def _cors(entry: Node, vhost: Node) -> tuple[Header, ...]:
    """The headers the CORS filter answers with, when its policy lets any origin in with
    credentials. Envoy echoes the request's Origin in Access-Control-Allow-Origin, and a matcher
    that matches "*" allows every origin (source/extensions/filters/http/cors/cors_filter.cc).
    The most specific policy wins: the route's, then the virtual host's."""
    policy = None
    for level, action in ((entry, entry.get("route")), (vhost, None)):
        policy = level.dig("typed_per_filter_config", "envoy.filters.http.cors") or (
            action.get("cors") if action is not None else level.get("cors")
        )
        if policy is not None:
            break
    if policy is None or not isinstance(policy.value, dict) or policy.value.get("allow_credentials") is not True:
        return ()
    for matcher in policy.list("allow_origin_string_match"):
        if any(_string_matches(matcher, origin) for origin in _ANY_ORIGIN):
            credentials = policy.get("allow_credentials")
            return (
                Header("access-control-allow-origin", "%REQ(origin)%", matcher.loc),
                Header(
                    "access-control-allow-credentials",
                    "true",
                    credentials.loc if credentials is not None else policy.loc,
                ),
            )
    return ()


def _string_matches(matcher: Node, value: str) -> bool:
    """Envoy's StringMatcher (exact, prefix, suffix, contains, safe_regex; ignore_case)."""
    fold = matcher.value.get("ignore_case") is True
    text = value.lower() if fold else value
    for key, test in (
        ("exact", str.__eq__),
        ("prefix", str.startswith),
        ("suffix", str.endswith),
        ("contains", str.__contains__),
    ):
        if matcher.has(key):
            wanted = matcher.text(key)
            return bool(test(text, wanted.lower() if fold else wanted))
    regex = matcher.dig("safe_regex", "regex")
    if regex is not None:
        try:
            return re.fullmatch(str(regex.value), value) is not None
        except re.error:
            return False
    return False
