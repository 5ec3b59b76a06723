"""Discovery: which links are followed, and unreadable corners that must not stop a scan."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.discover import discover
from tests.conftest import REPO

BAD_SITE = REPO / "tests" / "rules" / "tls-legacy-protocol" / "bad_tls10.conf"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="no /proc on this machine")
def test_links_into_kernel_file_systems_are_not_followed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Given a tree with a site, and links to /proc, /sys and to the root of the machine
    (tmp_path / "site.conf").write_text(BAD_SITE.read_text())
    (tmp_path / "proc").symlink_to("/proc/self")
    (tmp_path / "kernel").symlink_to("/sys")
    (tmp_path / "machine").symlink_to("/")
    # When only /proc and /sys are looked at below the link to / (the walk of the rest is cut
    # short by excluding it, as a test cannot walk a whole machine)
    with caplog.at_level(logging.WARNING, logger="confaudit"):
        found = discover([tmp_path], excludes=["machine/*", "!machine/proc", "!machine/sys"])
    # Then none of them is read, each is named in a warning, and the site is found
    assert [f.rel for f in found.files] == ["site.conf"]
    warned = {r.getMessage().split(" ")[0] for r in caplog.records}
    assert {"proc", "kernel", "machine/proc", "machine/sys"} <= warned


def test_contained_discovery_reads_nothing_outside_the_root(tmp_path: Path) -> None:
    # Given a revision written out for `confaudit diff`, with links out of it and within it
    outside = tmp_path / "runner-files"
    outside.mkdir()
    (outside / "leak.conf").write_text(BAD_SITE.read_text())
    root = tmp_path / "revision"
    (root / "sites").mkdir(parents=True)
    (root / "sites" / "api.conf").write_text(BAD_SITE.read_text())
    (root / "host").symlink_to(outside)
    (root / "host.conf").symlink_to(outside / "leak.conf")
    (root / "current.conf").symlink_to("sites/api.conf")
    # Then only the links that stay inside are followed when contained; all of them otherwise
    contained = sorted(f.rel for f in discover([root], root=root, contained=True).files)
    assert contained == ["current.conf", "sites/api.conf"]
    free = sorted(f.rel for f in discover([root], root=root).files)
    assert free == ["current.conf", "host.conf", "host/leak.conf", "sites/api.conf"]


def test_an_ignore_file_that_cannot_be_read_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a directory whose .confauditignore cannot even be looked at (EACCES, as under /proc)
    (tmp_path / "site.conf").write_text(BAD_SITE.read_text())
    real_is_file = Path.is_file

    def denied(self: Path) -> bool:
        if self.name == ".confauditignore":
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_file(self)

    monkeypatch.setattr(Path, "is_file", denied)
    assert [f.rel for f in discover([tmp_path]).files] == ["site.conf"]


def test_certificate_library_warnings_stay_off_stderr(tmp_path: Path) -> None:
    # Given a certificate with serial number 0, which cryptography parses with a warning today
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zero.example.com")])
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start.replace(year=2044))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    marker = bytes.fromhex("a003020102020101")  # version v3, then INTEGER 1: the serial
    assert der.count(marker) == 1
    body = der.replace(marker, marker[:-1] + b"\x00")
    (tmp_path / "zero.crt").write_text(
        "-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(body).decode() + "-----END CERTIFICATE-----\n"
    )
    # When it is scanned by the command line
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "scan", str(tmp_path), "--now", "2026-12-01"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )
    # Then the report is all there is: no library warning on stderr
    assert done.returncode in (0, 1), done.stderr
    assert done.stderr == ""
    assert "zero.crt" in done.stdout
