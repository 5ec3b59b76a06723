"""nginx parsing: locations, includes, inheritance, and bad input that must not crash."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from auditor.api import AuditOptions, audit
from auditor.model import Protocol, TlsVersion
from tests.conftest import NOW, REPO, TESTS

MIXED = TESTS / "parsers" / "nginx" / "mixed_tree"
SAMPLES = REPO / "samples"


def findings(path: Path, **options: object) -> list[tuple[str, str, int | None]]:
    result = audit([path], AuditOptions(now=NOW, strict=True, **options))  # type: ignore[arg-type]
    return [(f.rule_id, f.loc.file, f.loc.line) for f in result.active]


def test_mixed_tree_reports_each_broken_file_and_scans_the_rest(tmp_path: Path) -> None:
    # Given the committed mix of broken and valid files, plus what git cannot hold well:
    tree = tmp_path / "tree"
    shutil.copytree(MIXED, tree, symlinks=True)
    for name in ("api.fullchain.crt", "api.key"):
        (tree / "certs" / name).write_bytes((TESTS / "certs" / name).read_bytes())
    (tree / "conf.d" / "good.conf").write_text(
        (tree / "conf.d" / "good.conf").read_text().replace("../../../certs/", "certs/")
    )
    (tree / "conf.d" / "binary.conf").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    (tree / "loop" / "self").symlink_to(tree / "loop")  # a symlink loop
    (tree / "conf.d" / "huge.conf").write_bytes(b"# padding\n" * 2_200_000)  # 22 MB
    # When it is scanned
    found = findings(tree)
    # Then every problem is a finding with file and line, and the valid server is still checked
    assert ("parse-error", "conf.d/broken.conf", 5) in found
    assert ("parse-error", "conf.d/binary.conf", 1) in found
    assert ("parse-error", "conf.d/huge.conf", 1) in found
    assert ("parse-error", "certs/garbage.pem", 1) in found
    assert ("cert-key-encrypted", "certs/encrypted.key", 1) in found
    assert ("parse-error", "loop/b.conf", 1) in found  # include cycle, at the include line
    assert ("tls-legacy-protocol", "conf.d/good.conf", 4) in found
    assert not any(f[1] == "conf.d/latin1.conf" for f in found)  # nginx accepts non-UTF-8 bytes


def test_encrypted_key_is_never_decrypted_or_printed(capsys: object) -> None:
    from auditor.cli import main

    assert main(["scan", str(MIXED / "certs"), "--format", "json"]) == 1
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "cert-key-encrypted" in out
    key_body = (MIXED / "certs" / "encrypted.key").read_text().splitlines()[1]
    assert key_body not in out
    assert "PRIVATE KEY-----" not in out


def test_samples_model_locations_and_inheritance() -> None:
    result = audit([SAMPLES / "nginx"], AuditOptions(now=NOW, strict=True))
    listeners = {(lst.resource, lst.address, lst.port): lst for lst in result.model.listeners}
    api = listeners[("nginx server api.example.com:443", "*", 443)]
    assert ("nginx server api.example.com:443", "[::]", 443) in listeners
    assert api.loc.file == "sites-enabled/api.conf" and api.loc.line == 3
    assert api.http2 and api.http2_explicit and api.tls is not None
    assert api.tls.alpn == ("h2", "http/1.1")
    # ssl_protocols comes from conf.d/tls.conf, included at http level by nginx.conf
    assert api.tls.protocols == (TlsVersion.TLS1_2, TlsVersion.TLS1_3)
    assert api.tls.loc.file == "conf.d/tls.conf" and api.tls.loc.line == 2
    routes = {r.match: r for r in api.routes}
    # proxy headers come from the snippet included in the server block ...
    assert {h.name for h in routes["/"].request_headers} >= {"host", "x-forwarded-for"}
    assert routes["/"].request_headers[0].loc.file == "snippets/proxy-headers.conf"
    # ... and a location with its own proxy_set_header drops every inherited one (nginx's rule)
    assert [h.name for h in routes["/grafana/"].request_headers] == ["x-forwarded-prefix"]
    assert routes["/prometheus/"].strip_prefix == "/prometheus"
    assert routes["/"].strip_prefix is None


def test_grpc_routes_and_socket_wide_listen_parameters() -> None:
    result = audit([SAMPLES / "nginx"], AuditOptions(now=NOW, strict=True))
    by_name = {(lst.server_names[0], lst.port): lst for lst in result.model.listeners if lst.server_names}
    grpc = by_name[("grpc.example.com", 443)]
    routes = {r.match: r for r in grpc.routes}
    assert routes["/orders.v1.OrderService/"].upstream_protocol is Protocol.GRPC
    assert routes["/inventory.v1.Inventory/"].is_grpc
    assert routes["/inventory.v1.Inventory/"].upstream_protocol is Protocol.HTTP1
    status = by_name[("status.example.com", 8443)]
    assert status.http2 and not status.http2_explicit  # from partners.example.com's `listen 8443 ssl http2`


def test_absolute_include_maps_into_the_tree_and_missing_system_files_are_fine(tmp_path: Path) -> None:
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "tls.conf").write_text("ssl_protocols TLSv1.1 TLSv1.2;\n")
    (tmp_path / "nginx.conf").write_text(
        "events {}\nhttp {\n    include /etc/nginx/mime.types;\n    include /etc/nginx/snippets/tls.conf;\n"
        "    server {\n        listen 443 ssl;\n        server_name a.example.com;\n"
        "        ssl_certificate /etc/letsencrypt/live/a/fullchain.pem;\n"
        "        ssl_certificate_key /etc/letsencrypt/live/a/privkey.pem;\n    }\n}\n"
    )
    found = findings(tmp_path)
    assert ("tls-legacy-protocol", "snippets/tls.conf", 1) in found
    assert not [f for f in found if f[0] in ("parse-error", "cert-missing")]


def test_confauditignore_and_exclude(tmp_path: Path) -> None:
    shutil.copytree(SAMPLES / "nginx", tmp_path / "nginx")
    assert any(f[1].startswith("nginx/sites-enabled/legacy.conf") for f in findings(tmp_path))
    (tmp_path / ".confauditignore").write_text("nginx/certs/\n")
    assert not any(f[1].startswith("nginx/certs/") for f in findings(tmp_path))
    excluded = findings(tmp_path, excludes=("**/conf.d/",))
    assert all(not f[1].startswith("nginx/conf.d/") for f in excluded)


def test_relative_paths_resolve_from_the_entry_file_not_the_including_file(tmp_path: Path) -> None:
    shutil.copytree(SAMPLES / "nginx", tmp_path / "etc-nginx")
    cwd = os.getcwd()
    try:
        os.chdir("/")  # the scan must not depend on the working directory
        found = findings(tmp_path)
    finally:
        os.chdir(cwd)
    assert not [f for f in found if f[0] == "cert-missing"]


def test_scanning_through_a_symlinked_folder_keeps_paths_under_the_root(tmp_path: Path) -> None:
    # Given a tree reached through a symlink (CI lays ../shared out this way, users symlink repos)
    (tmp_path / "link").symlink_to(SAMPLES)
    # When it is scanned by the link's name
    result = audit([tmp_path / "link"], AuditOptions(now=NOW, strict=True))
    # Then every finding is relative to the link, as for the real folder
    direct = audit([SAMPLES], AuditOptions(now=NOW, strict=True))
    assert sorted((f.rule_id, str(f.loc)) for f in result.findings) == sorted(
        (f.rule_id, str(f.loc)) for f in direct.findings
    )
    assert not [f for f in result.findings if f.loc.file.startswith("..")]
