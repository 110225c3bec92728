"""GET/POST /sparql/determinations and /reports/prior-authorization on an app keeping the seeded determinations."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from reasoner import KnowledgeBase
from reasoner.analytics import queries
from reasoner.analytics.dataset import kb_graph
from reasoner.analytics.service import DeterminationQueries
from reasoner.store import EmbeddedStore, Stored, case_graph_of
from reasoner.vocab import GR

from ..analytics_seed import seed
from ..conftest import ROOT

ST = "https://w3id.org/guideline-reasoner/store#"
RESULTS = "application/sparql-results+json"
MAX_ROWS = 50


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase
) -> Iterator[tuple[TestClient, dict[str, Stored], Path]]:
    data = tmp_path_factory.mktemp("analytics-api") / "data"
    settings = Settings(kb_dir=ROOT, store=True, data_dir=data, sparql_max_rows=MAX_ROWS, sparql_timeout_s=60.0)
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as client:
        store = EmbeddedStore(data)  # the app's database: one per folder in a process
        try:
            yield client, seed(store, kb), data
        finally:
            store.close()


def _select(client: TestClient, text: str) -> list[dict[str, str]]:
    response = client.post(
        "/sparql/determinations", content=text, headers={"content-type": "application/sparql-query", "accept": RESULTS}
    )
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in b.items()} for b in response.json()["results"]["bindings"]]


@pytest.mark.parametrize("name", queries.NAMES)
def test_each_query_answers_as_it_does_directly(
    app: tuple[TestClient, dict[str, Stored], Path], kb: KnowledgeBase, name: str
) -> None:
    client, _, data = app
    rows = _select(client, queries.text(name))
    store = EmbeddedStore(data)
    try:
        direct = queries.run(store, name, kb_graph(kb.content_hash))
    finally:
        store.close()
    assert rows == direct and rows


def test_the_rates_through_the_endpoint(app: tuple[TestClient, dict[str, Stored], Path]) -> None:
    rows = _select(app[0], queries.text("determination-rates"))
    assert [(r["policy"], r["determinations"], r["overturned"], r["pendedRate"]) for r in rows] == [
        ("medicare-bariatric", "2", "1", "0"),
        ("medicare-pap", "3", "0", "0.333"),
    ]


def test_no_case_graph_is_in_the_dataset(app: tuple[TestClient, dict[str, Stored], Path]) -> None:
    client, kept, _ = app
    every = _select(client, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g")
    assert len(every) == 7  # five determinations, two reviews
    assert not any(r["g"].endswith("/case") for r in every)
    case = case_graph_of(kept["bar-bmi-33"].id)
    assert _select(client, f"SELECT * WHERE {{ GRAPH <{case}> {{ ?s ?p ?o }} }}") == []
    assert _select(client, f"SELECT * WHERE {{ ?s <{ST}caseFacts> ?o }}") == []
    assert _select(client, f"SELECT * WHERE {{ GRAPH ?g {{ ?s <{ST}reason> ?o }} }}") == []  # a review's reason
    for quoting in (f"{ST}json", f"{ST}claim", str(GR.finding)):  # each quotes the case or names the patient
        assert _select(client, f"SELECT * WHERE {{ GRAPH ?g {{ ?s <{quoting}> ?o }} }}") == [], quoting
    facts = _select(client, "SELECT * WHERE { GRAPH ?g { ?s ?p ?o FILTER(CONTAINS(STR(?o), '/case-data/')) } }")
    assert facts == []
    response = client.get(
        "/sparql/determinations",
        params={"query": "ASK { GRAPH ?g { ?s ?p ?o FILTER(CONTAINS(STR(?o), 'secret clinical')) } }"},
        headers={"accept": RESULTS},
    )
    assert response.status_code == 200 and response.json()["boolean"] is False


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM <{case}> WHERE { ?s ?p ?o }",
        "SELECT * FROM NAMED <{case}> WHERE { GRAPH ?g { ?s ?p ?o } }",
        "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
    ],
)
def test_the_dataset_cannot_be_widened(app: tuple[TestClient, dict[str, Stored], Path], text: str) -> None:
    client, kept, _ = app
    query = text.replace("{case}", case_graph_of(kept["bar-bmi-33"].id))
    response = client.get("/sparql/determinations", params={"query": query})
    assert response.status_code == 400 and response.json()["code"] == "sparql-rejected"
    response = client.get(
        "/sparql/determinations",
        params={"query": "SELECT * WHERE { ?s ?p ?o }", "named-graph-uri": case_graph_of(kept["bar-bmi-33"].id)},
    )
    assert response.status_code == 400 and "named-graph-uri" in response.json()["detail"]


def test_updates_are_refused(app: tuple[TestClient, dict[str, Stored], Path]) -> None:
    client = app[0]
    drop = "DROP ALL"
    assert client.get("/sparql/determinations", params={"update": drop}).status_code == 403
    response = client.post(
        "/sparql/determinations", content=drop, headers={"content-type": "application/sparql-update"}
    )
    assert response.status_code == 403 and response.json()["code"] == "sparql-update-refused"
    response = client.get("/sparql/determinations", params={"query": "INSERT DATA { <a:b> <a:c> <a:d> }"})
    assert response.status_code == 403
    assert len(_select(client, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")) == 7


def test_rows_are_capped_and_formats_offered(app: tuple[TestClient, dict[str, Stored], Path]) -> None:
    client = app[0]
    response = client.get(
        "/sparql/determinations",
        params={"query": "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }"},
        headers={"accept": "text/csv"},
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["x-result-truncated"] == "true"
    assert len(response.text.strip().split("\r\n")) == MAX_ROWS + 1  # the header and the rows
    response = client.get(
        "/sparql/determinations",
        params={"query": "CONSTRUCT { ?d ?p ?o } WHERE { GRAPH ?d { ?d ?p ?o } } LIMIT 3"},
        headers={"accept": "application/n-triples"},
    )
    assert response.status_code == 200 and len(response.text.strip().splitlines()) == 3


def test_a_slow_query_is_stopped_at_the_deadline(app: tuple[TestClient, dict[str, Stored], Path]) -> None:
    client, _, data = app
    state = client.app.state  # type: ignore[attr-defined]
    state.determination_queries = DeterminationQueries(timeout=2.0, max_rows=MAX_ROWS)
    try:
        start = time.monotonic()
        response = client.get(
            "/sparql/determinations",
            params={"query": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?a { ?s ?p ?o } GRAPH ?b { ?t ?q ?r } ?u ?v ?w }"},
        )
        took = time.monotonic() - start
    finally:
        state.determination_queries = None
    assert response.status_code == 503 and response.json()["code"] == "sparql-timeout"
    assert took < 4.0
    assert not [p for p in data.parent.iterdir() if p.name.startswith(".data-query-")]  # the snapshot is gone


def test_the_report(app: tuple[TestClient, dict[str, Stored], Path]) -> None:
    client = app[0]
    response = client.get("/reports/prior-authorization")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    figures = response.json()
    assert figures["totals"]["determinations"] == 5 and figures["totals"]["overturned"] == 1
    assert (figures["totals"]["medianSecondsToDecision"], figures["totals"]["p90SecondsToDecision"]) == (900.0, 7200.0)
    assert [(p["policy"], p["approved"], p["denied"], p["pended"]) for p in figures["policies"]] == [
        ("medicare-bariatric", 1, 1, 0),
        ("medicare-pap", 1, 1, 1),
    ]
    response = client.get(
        "/reports/prior-authorization", params={"since": "2026-12-06T09:25:00Z"}, headers={"accept": "text/markdown"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/markdown")
    assert "| **Total** | 2 | 1 | 1 | 0 | 1 | 0 | 1 h | 2 h |" in response.text
    response = client.get("/reports/prior-authorization", headers={"accept": "text/html"})
    assert response.status_code == 200 and '<th scope="row">Total</th><td class="n">5</td>' in response.text


def test_the_report_of_nothing_and_of_a_bad_date(app: tuple[TestClient, dict[str, Stored], Path]) -> None:
    client = app[0]
    response = client.get("/reports/prior-authorization", params={"since": "2030-01-01"})
    assert response.status_code == 200
    totals = response.json()["totals"]
    assert totals["determinations"] == 0 and totals["medianSecondsToDecision"] is None
    response = client.get("/reports/prior-authorization", params={"since": "soon"})
    assert response.status_code == 422 and response.json()["code"] == "invalid-since"
    assert "soon" not in response.text


def test_a_server_on_a_remote_store_answers_the_same(
    app: tuple[TestClient, dict[str, Stored], Path], kb: KnowledgeBase
) -> None:
    from reasoner.store import RemoteStore

    from ..store_backends import own_server

    url = own_server("analytics").url
    remote = RemoteStore(url)
    try:
        remote._update("CLEAR ALL")
        seed(remote, kb)
    finally:
        remote.close()
    settings = Settings(kb_dir=ROOT, store=True, store_url=url, sparql_max_rows=MAX_ROWS, sparql_timeout_s=60.0)
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as client:
        for name in queries.NAMES:
            assert _select(client, queries.text(name)) == _select(app[0], queries.text(name)), name
        every = _select(client, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        assert len(every) == 7 and not any(r["g"].endswith("/case") for r in every)
        construct = (
            f"CONSTRUCT {{ ?d <{ST}outcome> ?o }} WHERE {{ GRAPH ?d {{ ?d <{ST}outcome> ?o ; <{ST}storedAt> ?x }} }}"
        )
        graphs = [
            c.get("/sparql/determinations", params={"query": construct}, headers={"accept": "application/n-triples"})
            for c in (client, app[0])
        ]
        assert [g.status_code for g in graphs] == [200, 200]
        assert sorted(graphs[0].text.splitlines()) == sorted(graphs[1].text.splitlines())
        assert graphs[0].text.count("not-medically-necessary") == 2  # bar-bmi-33, pap-continued-not-adherent
        report = client.get("/reports/prior-authorization")
        assert report.status_code == 200 and report.json() == app[0].get("/reports/prior-authorization").json()
