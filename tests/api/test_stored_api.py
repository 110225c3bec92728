"""Determinations kept over HTTP: POST keeps (unless asked not to), GET reads in every format, lists filter
and page, a reviewer's decision binds the digest and becomes the final status."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph

from api import create_app
from api.settings import Settings
from reasoner import KnowledgeBase, determine
from reasoner.store import EmbeddedStore, graph_of

from ..conftest import EXAMPLES, ROOT

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app with a store of its own, on loopback without tokens (every role but admin)."""
    settings = Settings(kb_dir=ROOT, store=True, data_dir=tmp_path_factory.mktemp("kept"))
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as c:
        yield c


def _post(c: TestClient, name: str, **params: str) -> tuple[dict, dict]:  # type: ignore[type-arg]
    r = c.post("/determinations", content=(EXAMPLES / f"{name}.json").read_bytes(), headers=JSON, params=params)
    assert r.status_code == 200, r.text
    return r.json(), dict(r.headers)


def test_a_determination_posted_is_kept_and_read_back(kept: TestClient) -> None:
    d, headers = _post(kept, "pap-continued-not-adherent")
    assert headers["location"] == f"/determinations/{d['determinationId']}"
    assert headers["x-review-status"] == "awaiting-review" and headers["etag"].startswith('"sha256:')
    r = kept.get(headers["location"])
    assert r.status_code == 200 and r.headers["etag"] == headers["etag"]
    body = r.json()
    record = body.pop("record")
    assert body == d  # the determination as it was given
    assert record["status"] == "awaiting-review" and record["finalOutcome"] is None and record["reviews"] == []
    assert record["digest"] == headers["etag"].strip('"')


@pytest.mark.parametrize(
    ("accept", "check"),
    [
        ("text/markdown", lambda t: t.startswith("# Determination: Not medically necessary") and "| Status |" in t),
        ("text/html", lambda t: "<h1>Determination: Not medically necessary</h1>" in t and "awaiting clinician" in t),
        ("text/turtle", lambda t: len(Graph().parse(data=t, format="turtle")) > 50),
        ("application/ld+json", lambda t: isinstance(json.loads(t), list)),
    ],
)
def test_a_kept_determination_is_read_in_every_format(kept: TestClient, accept: str, check: object) -> None:
    d, headers = _post(kept, "pap-continued-not-adherent")
    r = kept.get(headers["location"], headers={"accept": accept})
    assert r.status_code == 200 and r.headers["content-type"].startswith(accept)
    assert callable(check) and check(r.text)


def test_a_kept_letter_in_html_draws_the_marked_pathway(kept: TestClient) -> None:
    d, headers = _post(kept, "sij-rfa-two-blocks", policy="sij-clinical-pathway")
    r = kept.get(headers["location"], headers={"accept": "text/html"})
    assert r.status_code == 200 and r.text.count("<svg") == 1
    assert r.text.count('data-mark="requested"') == 1 and r.text.count('data-mark="done"') == 4
    assert kept.get(headers["location"], headers={"accept": "text/markdown"}).text.count("<svg") == 0


def test_store_false_keeps_nothing(kept: TestClient) -> None:
    d, headers = _post(kept, "bar-bmi-33", store="false")
    assert "location" not in headers
    assert kept.get(f"/determinations/{d['determinationId']}").status_code == 404


def test_a_comparison_is_not_kept(kept: TestClient) -> None:
    r = kept.post(
        "/determinations", content=(EXAMPLES / "bar-lap-rygb.json").read_bytes(), headers=JSON, params={"policy": "all"}
    )
    assert r.status_code == 200 and "location" not in r.headers


def test_an_unknown_or_malformed_id_is_404(kept: TestClient) -> None:
    for ident in ("0" * 32, "not-an-id", "%3E%7D"):
        r = kept.get(f"/determinations/{ident}")
        assert r.status_code == 404 and r.json()["code"] == "not-found", ident


def test_the_list_filters_and_pages(kept: TestClient) -> None:
    for name in ("pap-continued-adherent", "pap-initial-rdi-3", "bar-lap-rygb"):
        _post(kept, name)
    everything = kept.get("/determinations", params={"limit": 500}).json()["items"]
    assert len(everything) >= 3
    pap = kept.get("/determinations", params={"policy": "medicare-pap", "status": "automated"}).json()["items"]
    assert pap and all(i["policy"] == "medicare-pap" and i["status"] == "automated" for i in pap)
    assert all(i["finalOutcome"] == "medically-necessary" for i in pap)
    page = kept.get("/determinations", params={"limit": 1, "offset": 1}).json()
    assert [i["id"] for i in page["items"]] == [everything[1]["id"]] and page["more"] is True
    assert kept.get("/determinations", params={"since": "2999-01-01T00:00:00Z"}).json()["items"] == []
    bad = kept.get("/determinations", params={"status": "approved"})
    assert bad.status_code == 422 and "status" in json.dumps(bad.json())
    naive = kept.get("/determinations", params={"since": "2026-01-01T00:00:00"})
    assert naive.status_code == 422 and "time zone" in naive.json()["detail"]


def test_the_case_is_read_back_as_it_was_judged(kept: TestClient) -> None:
    d, headers = _post(kept, "bar-lap-rygb")
    as_json = kept.get(headers["location"] + "/case")
    assert as_json.status_code == 200 and as_json.json()["id"] == "bar-lap-rygb"
    replayed = kept.post("/determinations", content=as_json.content, headers=JSON, params={"store": "false"})
    assert replayed.json() == d  # the case kept gives the same determination
    as_turtle = kept.get(headers["location"] + "/case", headers={"accept": "text/turtle"})
    assert as_turtle.status_code == 200 and len(Graph().parse(data=as_turtle.text, format="turtle")) > 20


def test_a_turtle_case_is_kept_as_its_triples(kept: TestClient) -> None:
    turtle = (EXAMPLES / "sij-seed-neurectomy.ttl").read_bytes()
    r = kept.post("/determinations", content=turtle, headers={"content-type": "text/turtle"})
    assert r.status_code == 200
    case = kept.get(r.headers["location"] + "/case", headers={"accept": "text/turtle"})
    assert case.status_code == 200 and len(Graph().parse(data=case.text, format="turtle")) > 20


def test_a_review_overturns_and_the_final_status_is_the_reviewers(kept: TestClient) -> None:
    d, headers = _post(kept, "pap-continued-not-adherent")
    url = headers["location"] + "/reviews"
    no_reason = {"action": "overturn", "outcome": "medically-necessary", "reviewer": "dr-lee"}
    refused = kept.post(url, json=no_reason, headers={"if-match": headers["etag"]})
    assert refused.status_code == 422 and refused.json()["code"] == "reason-required"
    stale = kept.post(url, json={**no_reason, "reason": "log received", "digest": "sha256:" + "0" * 64})
    assert stale.status_code == 409 and stale.json()["code"] == "digest-mismatch"
    no_digest = kept.post(url, json={**no_reason, "reason": "log received"})
    assert no_digest.status_code == 422 and no_digest.json()["code"] == "digest-required"
    done = kept.post(url, json={**no_reason, "reason": "log received"}, headers={"if-match": headers["etag"]})
    assert done.status_code == 201, done.text
    assert done.json()["status"] == "overturned" and done.json()["finalOutcome"] == "medically-necessary"
    assert done.json()["reviews"][0]["reason"] == "log received"
    read = kept.get(headers["location"])
    assert read.headers["x-review-status"] == "overturned"
    assert read.json()["record"]["finalOutcomeLabel"] == "Medically necessary"
    letter = kept.get(headers["location"], headers={"accept": "text/markdown"}).text
    assert "overturned by dr-lee" in letter and "a clinician must review it" not in letter
    listed = kept.get("/determinations", params={"status": "overturned"}).json()["items"]
    assert d["determinationId"] in [i["id"] for i in listed]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"action": "approve", "reviewer": "dr-lee"}, "request-invalid"),
        ({"action": "uphold"}, "reviewer-required"),
        ({"action": "modify", "reviewer": "dr-lee", "reason": "fewer units"}, "outcome-required"),
        ({"action": "uphold", "reviewer": "dr-lee", "extra": 1}, "request-invalid"),
    ],
)
def test_a_review_that_cannot_stand_is_refused_naming_why(kept: TestClient, body: dict, code: str) -> None:  # type: ignore[type-arg]
    _, headers = _post(kept, "bar-bmi-33")
    r = kept.post(headers["location"] + "/reviews", json=body, headers={"if-match": headers["etag"]})
    assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert kept.get(headers["location"]).json()["record"]["reviews"] == []


def test_a_review_of_nothing_kept_is_404(kept: TestClient) -> None:
    r = kept.post(f"/determinations/{'ab' * 16}/reviews", json={"action": "uphold", "reviewer": "x", "digest": "d"})
    assert r.status_code == 404


def test_a_server_that_keeps_nothing_says_so(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(kb_dir=ROOT, store=False)), client=("127.0.0.1", 50000)) as c:
        r = c.post("/determinations", content=(EXAMPLES / "bar-bmi-33.json").read_bytes(), headers=JSON)
        assert r.status_code == 200 and "location" not in r.headers
        listed = c.get("/determinations")
        assert listed.status_code == 404 and listed.json()["code"] == "not-kept"


def test_a_server_keeps_determinations_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GR_STORE")
    monkeypatch.setenv("GR_DATA_DIR", str(tmp_path / "data"))
    with TestClient(create_app(Settings(kb_dir=ROOT)), client=("127.0.0.1", 50000)) as c:
        r = c.post("/determinations", content=(EXAMPLES / "bar-bmi-33.json").read_bytes(), headers=JSON)
        assert c.get(r.headers["location"]).status_code == 200
    assert (tmp_path / "data").is_dir()  # created on first use


TOKENS = {"app-a": ["app"], "app-b": ["app"], "dr-lee": ["reviewer"], "analyst": ["analyst"]}


def _bearer(name: str) -> dict[str, str]:
    return {"authorization": f"Bearer token-of-{name}"}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app with tokens configured: an app, another app, a reviewer and an analyst."""
    entries = [
        {"name": name, "roles": roles, "sha256": hashlib.sha256(f"token-of-{name}".encode()).hexdigest()}
        for name, roles in TOKENS.items()
    ]
    settings = Settings(
        kb_dir=ROOT, store=True, data_dir=tmp_path_factory.mktemp("guarded"), tokens=json.dumps(entries)
    )
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as c:
        yield c


def test_roles_decide_who_reads_what(guarded: TestClient) -> None:
    body = (EXAMPLES / "pap-continued-not-adherent.json").read_bytes()
    assert guarded.post("/determinations", content=body, headers=JSON).status_code == 401
    assert guarded.post("/determinations", content=body, headers={**JSON, **_bearer("analyst")}).status_code == 403
    posted = guarded.post("/determinations", content=body, headers={**JSON, **_bearer("app-a")})
    where = posted.headers["location"]
    assert guarded.get(where, headers=_bearer("app-a")).status_code == 200  # its own answer
    assert guarded.get(where, headers=_bearer("app-b")).status_code == 404  # not another app's
    assert [i["id"] for i in guarded.get("/determinations", headers=_bearer("app-b")).json()["items"]] == []
    assert guarded.get(where, headers=_bearer("analyst")).status_code == 200
    # An analyst never reads case facts, nor a reviewer's reason; a reviewer does.
    refused = guarded.get(where + "/case", headers=_bearer("analyst"))
    assert refused.status_code == 403 and "reviewer" in refused.json()["detail"]
    assert guarded.get(where + "/case", headers=_bearer("app-a")).status_code == 403
    assert guarded.get(where + "/case", headers=_bearer("dr-lee")).status_code == 200
    # A review is signed by the token's reviewer; an app or an analyst cannot sign.
    review = {"action": "overturn", "outcome": "medically-necessary", "reason": "adherence log received"}
    etag = {"if-match": posted.headers["etag"]}
    assert guarded.post(where + "/reviews", json=review, headers={**etag, **_bearer("app-a")}).status_code == 403
    assert guarded.post(where + "/reviews", json=review, headers={**etag, **_bearer("analyst")}).status_code == 403
    other = guarded.post(
        where + "/reviews", json={**review, "reviewer": "dr-who"}, headers={**etag, **_bearer("dr-lee")}
    )
    assert other.status_code == 422 and other.json()["code"] == "reviewer-mismatch"
    signed = guarded.post(where + "/reviews", json=review, headers={**etag, **_bearer("dr-lee")})
    assert signed.status_code == 201 and signed.json()["reviews"][0]["reviewer"] == "dr-lee"
    seen_by_analyst = guarded.get(where + "/reviews", headers=_bearer("analyst")).json()["reviews"][0]
    assert seen_by_analyst["action"] == "overturn" and seen_by_analyst.get("reason") is None
    assert guarded.get(where, headers=_bearer("app-a")).json()["record"]["finalOutcome"] == "medically-necessary"


def test_only_an_analyst_queries_determinations_and_reads_the_report(guarded: TestClient) -> None:
    ask = {"query": "ASK { GRAPH ?g { ?s ?p ?o } }"}
    for name in ("app-a", "dr-lee"):
        assert guarded.get("/sparql/determinations", params=ask, headers=_bearer(name)).status_code == 403
        assert guarded.get("/reports/prior-authorization", headers=_bearer(name)).status_code == 403
    assert guarded.get("/sparql/determinations", params=ask).status_code == 401
    answer = guarded.get(
        "/sparql/determinations",
        params=ask,
        headers={**_bearer("analyst"), "accept": "application/sparql-results+json"},
    )
    assert answer.status_code == 200 and isinstance(answer.json()["boolean"], bool)
    assert guarded.get("/reports/prior-authorization", headers=_bearer("analyst")).status_code == 200


def test_the_rdf_of_a_posted_determination_is_written_after_the_answer(tmp_path: Path) -> None:
    """The answer waits only for the durable record; the RDF follows it, and a restart finishes what a stop left."""
    core, st = "https://w3id.org/guideline-reasoner/core#", "https://w3id.org/guideline-reasoner/store#"

    def rdf(store: EmbeddedStore, ident: str) -> tuple[int, bool]:
        g = graph_of(ident)
        results = store._select(f"SELECT ?r WHERE {{ GRAPH <{g}> {{ <{g}> <{core}criterionResult> ?r }} }}")
        pending = store._select(f"SELECT ?p WHERE {{ GRAPH <{g}> {{ <{g}> <{st}pending> ?p }} }}")
        return len(results), bool(pending)

    data = tmp_path / "data"
    payload = (EXAMPLES / "bar-bmi-33.json").read_bytes()
    left = determine(payload, "json", KnowledgeBase.load(ROOT))
    store = EmbeddedStore(data)  # a server stopped between its answer and the RDF
    store.put(left, defer=True)
    assert rdf(store, left.determinationId) == (0, True)
    store.close()
    settings = Settings(kb_dir=ROOT, store=True, data_dir=data)
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as c:
        posted = c.post(
            "/determinations", content=(EXAMPLES / "pap-continued-adherent.json").read_bytes(), headers=JSON
        ).json()
    store = EmbeddedStore(data)
    try:
        assert rdf(store, left.determinationId) == (len(left.criteria), False)  # the start finished it
        assert rdf(store, posted["determinationId"]) == (len(posted["criteria"]), False)
    finally:
        store.close()
