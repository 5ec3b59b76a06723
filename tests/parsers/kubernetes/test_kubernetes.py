"""The Kubernetes parser: objects, links between them, locations, and hostile input."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest

from auditor.api import AuditOptions, audit
from auditor.discover import Kind, SourceFile
from auditor.model import Location, Model, Protocol, RefStatus
from auditor.parsers import kubernetes, yamlfiles, yamlpool
from auditor.parsers.base import CertStore, ParseContext
from auditor.parsers.kubernetes.ingress import _rewrite_strip
from tests.conftest import NOW

HERE = Path(__file__).resolve().parent


def parse(*names: str, root: Path = HERE) -> Model:
    files = [SourceFile(root / n, n, Kind.YAML) for n in names]
    return yamlfiles.parse(files, ParseContext(root, CertStore(root)))


def test_workload_containers_probes_and_locations() -> None:
    model = parse("shop.yaml")
    (web,) = model.workloads
    assert (web.kind, web.namespace, web.name, web.replicas) == ("Deployment", "shop", "web", 3)
    assert web.loc == Location("shop.yaml", 5)  # metadata.name
    assert web.termination_grace_seconds == 40 and web.termination_grace_loc == Location("shop.yaml", 21)
    assert (web.strategy, web.max_unavailable, web.strategy_loc) == ("RollingUpdate", "25%", Location("shop.yaml", 11))
    (container,) = web.containers
    assert container.loc == Location("shop.yaml", 23)
    assert container.command == ("/bin/sh", "-c", "exec ./web") and container.command_loc == Location("shop.yaml", 25)
    assert container.ports == (8080,)
    assert (container.pre_stop_kind, container.pre_stop_seconds) == ("exec", 10.0)
    assert container.pre_stop_loc == Location("shop.yaml", 30)
    assert container.readiness is not None and container.liveness is not None
    # The named port resolves, so both probes name the same socket.
    assert container.readiness.target == "http://:8080/ready" and container.liveness.target == "http://:8080/live"
    assert (container.readiness.period_seconds, container.readiness.failure_threshold) == (10, 3)
    assert (container.liveness.period_seconds, container.liveness.failure_threshold) == (20, 5)
    assert container.liveness.loc == Location("shop.yaml", 37)


def test_service_and_budget_link_by_selector_and_namespace() -> None:
    (web,) = parse("shop.yaml").workloads
    assert web.selected_by_service and web.selected_by == ("Service shop/web",)
    assert web.has_disruption_budget  # matchExpressions: tier In [frontend]
    assert web.namespace_managed  # the namespace has a budget in the tree


def test_ingress_listeners_routes_and_annotations() -> None:
    model = parse("shop.yaml")
    tls, plain = sorted(model.listeners, key=lambda item: item.port or 0, reverse=True)
    assert (tls.port, tls.server_names, tls.source_kind) == (443, ("shop.example.com",), "ingress")
    assert tls.loc == Location("shop.yaml", 79)
    assert tls.tls is not None and tls.tls.alpn == ("h2", "http/1.1")
    assert "ingress-nginx default TLSv1.2 TLSv1.3 assumed" in tls.tls.protocols_note
    (ref,) = tls.tls.certificates
    assert (ref.origin, ref.cert_path, ref.cert_status, ref.loc) == (
        "Secret",
        "shop/shop-tls",
        RefStatus.MISSING,
        Location("shop.yaml", 80),
    )
    (route,) = tls.routes
    assert (route.match, route.match_prefix, route.strip_prefix) == ("/shop/(.*)", None, "/shop")
    assert route.rewrite_loc == Location("shop.yaml", 74)
    assert [(h.name, h.value, h.loc.line) for h in route.request_headers] == [("x-forwarded-prefix", "/shop", 75)]
    assert (route.upstream, route.upstream_protocol, route.is_grpc) == ("web:http", Protocol.HTTP1, False)
    assert (plain.port, plain.tls, plain.server_names) == (80, None, ("plain.example.com",))


def test_kind_list_and_json_manifests() -> None:
    model = parse("list.yaml", "rollout.json")
    by_name = {w.name: w for w in model.workloads}
    assert by_name["debug"].namespace == "default" and by_name["debug"].loc == Location("list.yaml", 7)
    assert by_name["once"].runs_to_completion and by_name["once"].containers[0].loc == Location("list.yaml", 23)
    api = by_name["api"]
    assert (api.kind, api.strategy, api.max_unavailable) == ("Rollout", "Canary", "100%")
    assert api.strategy_loc == Location("rollout.json", 7)
    assert api.containers[0].loc == Location("rollout.json", 13)


def test_argo_cd_objects_and_tool_configs_are_not_kubernetes_objects() -> None:
    model = parse("application.yaml")
    # The Application is the Argo CD front end's: no workload, and only its own finding (the
    # folder it deploys is not in this fixture tree).
    assert model.workloads == []
    assert [p.rule_id for p in model.problems] == ["argocd-source-missing"]
    data = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application"}
    assert yamlfiles.classify(data) == "argocd"
    assert yamlfiles.classify({**data, "kind": "Rollout"}) == "kubernetes"


def test_documents_from_elsewhere_keep_their_offset_and_note() -> None:
    # Given documents cut out of `helm template` output, as the Helm front end builds them
    model = Model()
    text = (HERE / "shop.yaml").read_bytes()
    docs = yamlfiles.load_text(text, "charts/shop/templates/web.yaml", model, line_offset=100)
    for doc in docs:
        doc.source_note = "rendered by helm; line approximate"
    # When the Kubernetes parser reads them
    result = kubernetes.parse_documents(docs, ParseContext(HERE, CertStore(HERE)))
    # Then locations carry the offset and labels carry the note
    (web,) = result.workloads
    assert web.loc == Location("charts/shop/templates/web.yaml", 105)
    assert web.resource == "Deployment shop/web (rendered by helm; line approximate)"
    assert all("(rendered by helm; line approximate)" in listener.resource for listener in result.listeners)


@pytest.mark.parametrize(
    ("path", "target", "stripped"),
    [
        ("/api(/|$)(.*)", "/$2", "/api"),
        ("/something/(.*)", "/$1", "/something"),
        ("/grafana(/.*)", "$1", "/grafana"),
        ("/api(/|$)(.*)", "/$1", None),  # group 1 is the slash, not the rest
        ("/api/(.*)", "/v2/$1", None),  # replaced, not stripped
        ("/(.*)", "/$1", None),
        ("/app", "/", None),  # every request becomes "/"
    ],
)
def test_rewrite_target_strip(path: str, target: str, stripped: str | None) -> None:
    assert _rewrite_strip(path, target) == stripped


# -- hostile input -----------------------------------------------------------------------------

HOSTILE = HERE / "hostile"


@pytest.mark.parametrize(
    ("name", "line", "words"),
    [
        ("billion-laughs.yaml", 2, "alias bomb"),
        ("nested-300.yaml", 2, "deeper than 200"),
        ("deep.yaml", 2, "maximum nesting depth"),
        ("tabs.yaml", 4, "tabs are not allowed"),
        ("binary.yaml", 1, "binary file"),
    ],
)
def test_hostile_yaml_is_a_parse_error_with_a_line(name: str, line: int, words: str) -> None:
    started = time.perf_counter()
    result = audit([HOSTILE / name], AuditOptions(now=NOW, strict=True))
    elapsed = time.perf_counter() - started
    (finding,) = [f for f in result.findings if f.rule_id == "parse-error"]
    assert finding.loc == Location(name, line) and words in finding.message
    assert elapsed < 10, f"{name} took {elapsed:.1f} s"


def test_alias_bomb_is_refused_within_a_memory_budget() -> None:
    # The composer only links aliases; the conversion counts nodes and stops at 2 million, so the
    # 387 million strings are never built (a 2-million-node prefix costs a few tens of MB).
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = Model()
    assert yamlfiles.load_text((HOSTILE / "billion-laughs.yaml").read_bytes(), "lol.yaml", model) == []
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 400 and "alias bomb" in model.problems[0].message


def test_fifty_megabyte_yaml_is_reported_not_parsed(tmp_path: Path) -> None:
    big = tmp_path / "huge.yaml"
    line = b"  key-%07d: some value that makes the line longer\n"
    with big.open("wb") as handle:
        handle.write(b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\ndata:\n")
        for number in range(0, 1_000_000):
            handle.write(line % number)
    assert big.stat().st_size > 50 * 1024 * 1024
    started = time.perf_counter()
    result = audit([tmp_path], AuditOptions(now=NOW, strict=True))
    assert time.perf_counter() - started < 10
    (finding,) = result.findings
    assert finding.rule_id == "parse-error" and finding.loc == Location("huge.yaml", 1)
    assert "not parsed" in finding.message


def test_documents_before_a_syntax_error_are_kept() -> None:
    model = Model()
    text = b"apiVersion: v1\nkind: Service\nmetadata:\n  name: ok\n---\nkind: [broken\n"
    docs = yamlfiles.load_text(text, "two.yaml", model)
    assert [d.data["metadata"]["name"] for d in docs] == ["ok"]
    assert model.problems[0].loc.line == 7


def test_parallel_loading_gives_the_sequential_result(monkeypatch: pytest.MonkeyPatch) -> None:
    files = [SourceFile(p, p.name, Kind.YAML) for p in sorted(HERE.glob("*.*"))] * 80
    sequential = [(item.rel, [d.data for d in item.documents], item.problems) for item in yamlpool.load_files(files)]
    monkeypatch.setattr(yamlpool, "PARALLEL_MIN_BYTES", 0)
    assert yamlpool._worker_count(files) > 1 or pytest.skip("one CPU: no worker pool")
    parallel = [(item.rel, [d.data for d in item.documents], item.problems) for item in yamlpool.load_files(files)]
    assert parallel == sequential


def test_legacy_extensions_ingress() -> None:
    (listener,) = parse("legacy-ingress.yaml").listeners
    assert listener.instance == "ingress-nginx class nginx" and listener.port == 80
    routes = [(r.match, r.upstream, r.loc.line) for r in listener.routes]
    assert routes == [("/api", "api:80", 17), ("/", "fallback:8080", 10)]


def test_ignore_annotation_suppresses_findings_inside_the_object() -> None:
    result = audit([HERE / "annotated.yaml"], AuditOptions(now=NOW, strict=True))
    found = {(f.rule_id, f.loc.line, f.suppression is not None) for f in result.findings}
    assert ("shutdown-no-prestop", 19, True) in found and ("shutdown-no-readiness", 19, True) in found
    # Without a reason the annotation silences nothing and is itself reported.
    assert ("shutdown-no-prestop", 41, False) in found and ("suppression-invalid", 30, False) in found
    (annotated,) = [f for f in result.suppressed if f.rule_id == "shutdown-no-readiness"]
    assert annotated.suppression is not None and annotated.suppression.kind == "annotation"


def _paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _replace(value: object, path: tuple[object, ...], new: object) -> object:
    import copy

    result = copy.deepcopy(value)
    target = result
    for step in path[:-1]:
        target = target[step]  # type: ignore[index]
    target[path[-1]] = new  # type: ignore[index]
    return result


@pytest.mark.parametrize(
    "sample",
    [
        "apps/shop/ingress.yaml",
        "apps/inventory/inventory.yaml",
        "apps/monitoring/monitoring.yaml",
        "apps/reports/reports.yaml",
        "platform/gateway/gateway.yaml",
        "apps/shop/tls/shop-tls.secret.yaml",
        "apps/shop/search.yaml",
        "apps/payments/payments.yaml",
        "platform/ingress-nginx/controller.yaml",
    ],
)
def test_malformed_fields_never_crash_the_parser(sample: str) -> None:
    # Given every document of a sample with each of its values replaced by a value of another type
    # (what a typo or a bad template produces)
    root = HERE.parents[2] / "samples" / "k8s"
    model = Model()
    docs = yamlfiles.load_text((root / sample).read_bytes(), sample, model)
    ctx = ParseContext(root, CertStore(root))
    for position, doc in enumerate(docs):
        for path in _paths(doc.data):
            for wrong in ("text", 7, [], {"a": 1}):
                mutated = yamlfiles.Document(
                    doc.file, doc.index, None, _replace(doc.data, path, wrong), lines=doc.lines
                )
                # When the parser reads it with the rest of the file, then nothing raises
                kubernetes.parse_documents([*docs[:position], mutated, *docs[position + 1 :]], ctx)
