"""The scanner over real public configs (../shared/corpus/real): no crash, no internal error,
and no parse error on files their own programs accept.

Skipped where the corpus is absent (a user's clone). The allowed parse errors are files that are
genuinely unreadable: each is listed with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.api import AuditOptions, audit
from tests.conftest import NOW, REPO

CORPUS = REPO.parent / "shared" / "corpus" / "real"
# file -> why a parse-error is right for it
EXPECTED_PARSE_ERRORS = {
    "argoproj__argo-cd/util/tls/testdata/empty_tls.crt": "empty file (argo-cd tests the empty case)",
    "argoproj__argo-cd/util/tls/testdata/empty_tls.key": "empty file (argo-cd tests the empty case)",
    "pyca__cryptography/vectors/cryptography_vectors/x509/cryptography.io.chain_with_garbage.pem": (
        "its PRIVATE KEY block is base64 text, not a key (a pyca test vector)"
    ),
    "pyca__cryptography/vectors/cryptography_vectors/x509/custom/malformed-san.pem": (
        "deliberately malformed SAN (a pyca test vector)"
    ),
    "nginxinc__NGINX-Demos/consul-template-demo/nginx/nginx.conf": (
        "a consul-template template ({{range services}} ...): nginx refuses it until it is rendered"
    ),
}
# zlint's lint test vectors include certificates that violate RFC 5280 on purpose (empty RDNs,
# bad RSA exponents...); cryptography refuses to load those, which is a parse-error by design.
ZLINT = "zmap__zlint/v3/testdata/"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/real is not present")


def test_corpus_scans_without_crash_or_unexpected_parse_errors() -> None:
    result = audit([CORPUS], AuditOptions(now=NOW, strict=True))
    assert not result.internal_errors
    unexpected = [
        f"{f.loc}: {f.message}"
        for f in result.errors
        if f.rule_id == "parse-error" and f.loc.file not in EXPECTED_PARSE_ERRORS and not f.loc.file.startswith(ZLINT)
    ]
    assert unexpected == []
    assert result.files > 500
    nginx_files = [f for f in result.model.files if f.endswith(".conf")]
    assert len(nginx_files) >= 80


def test_every_expected_parse_error_still_occurs() -> None:
    result = audit([CORPUS], AuditOptions(now=NOW, strict=True))
    files = {f.loc.file for f in result.errors}
    assert set(EXPECTED_PARSE_ERRORS) <= files


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*/")) if CORPUS.is_dir() else [], ids=lambda p: Path(p).name)
def test_each_repository_alone(path: Path) -> None:
    result = audit([path], AuditOptions(now=NOW, strict=True))
    assert not result.internal_errors
