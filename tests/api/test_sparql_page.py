"""The SPARQL page (api/web/sparql_page.py): a browser gets an editor and, with a query, its results
rendered on the server; every SPARQL client gets what it got before the page existed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api import create_app
from api.settings import Settings
from reasoner.sparql.bundled import bundled, describe

from ..conftest import LOOPBACK, ROOT
from .test_pages import BROWSER

GR = "PREFIX gr: <https://w3id.org/guideline-reasoner/core#> "
RDFS = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
POLICIES = GR + RDFS + "SELECT ?policy ?label WHERE { ?policy a gr:Policy OPTIONAL { ?policy rdfs:label ?label } }"
ROWS = {"accept": "application/sparql-results+json"}


_VOID = {"meta", "link", "br", "input", "img", "hr"}
_CAPTURED = ("problem", "answer", "graph")


class _Page(HTMLParser):
    """The parts of the page the tests read: ids, the menu's options, the results table, the problem."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, dict[str, str | None]] = {}
        self.options: list[dict[str, str | None]] = []
        self.header: list[str] = []
        self.rows: list[list[str]] = []
        self.textarea = ""
        self.problem = ""
        self.answer = ""
        self.graph = ""
        self._stack: list[str] = []
        self._in: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids[found["id"] or ""] = {"tag": tag, **found}
        if tag == "option":
            self.options.append(found)
        if tag == "tr" and "tbody" in self._stack:
            self.rows.append([])
        if tag in ("th", "td") and "thead" in self._stack:
            self.header.append("")
        if tag == "td" and "tbody" in self._stack:
            self.rows[-1].append("")
        if tag in _VOID:
            return
        classes = (found.get("class") or "").split()
        if self._in is None and (tag == "textarea" or {"problem", "answer", "graph"} & set(classes)):
            self._in = "textarea" if tag == "textarea" else next(c for c in classes if c in _CAPTURED)
            self._depth = len(self._stack)
        self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack.pop() != tag:
                pass
        if self._in is not None and len(self._stack) <= self._depth:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "textarea":
            self.textarea += data
        elif self._in in ("problem", "answer", "graph"):
            setattr(self, self._in, getattr(self, self._in) + data)
        elif self._stack and self._stack[-1] == "th" and "thead" in self._stack:
            self.header[-1] += data
        elif self._stack and self._stack[-1] == "td" and "tbody" in self._stack:
            self.rows[-1][-1] += data


def _page(text: str) -> _Page:
    parsed = _Page()
    parsed.feed(text)
    return parsed


def _html(r: Any, status: int = 200) -> _Page:
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    return _page(r.text)


def _run(client: TestClient, query: str, endpoint: str = "/sparql") -> Any:
    return client.get(f"{endpoint}?query={quote(query)}", headers=BROWSER)


# --- the page ----------------------------------------------------------------------------------------------


def test_the_page_has_the_editor_the_menu_and_the_results_region(client: TestClient) -> None:
    page = _html(client.get("/sparql", headers=BROWSER))
    assert page.ids["query"]["tag"] == "textarea" and page.ids["query"]["name"] == "query"
    assert page.ids["queries"]["tag"] == "select"
    assert page.ids["run"]["tag"] == "button" and page.ids["run"]["type"] == "submit"
    assert page.ids["results"]["aria-live"] == "polite"
    form = page.ids["sparql-form"]
    assert form["action"] == "/sparql" and form["method"] == "get"  # without script: a GET of the endpoint
    r = client.get("/sparql", headers=BROWSER)
    assert '<label for="query">' in r.text and '<label for="queries">' in r.text
    assert '<script src="/static/sparql.js" defer></script>' in r.text
    assert 'href="/sparql" aria-current="page"' in r.text


def test_the_menu_lists_every_bundled_query_with_its_text_and_description(client: TestClient) -> None:
    page = _html(client.get("/sparql", headers=BROWSER))
    files = sorted((ROOT / "queries").glob("*.rq"))
    assert len(files) >= 8
    listed = {o["value"]: o for o in page.options if o.get("value")}
    assert set(listed) == {f.stem for f in files}
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert listed[f.stem]["data-query"] == text
        assert listed[f.stem]["data-description"] == describe(text)
    # The editor starts with the first one, selected in the menu.
    assert page.textarea.strip() == files[0].read_text(encoding="utf-8").strip()
    assert "selected" in listed[files[0].stem]


def test_a_description_is_the_leading_comments() -> None:
    text = "# What?\n#\n# More, on\n# two lines.\n\nPREFIX x: <urn:x#>\n# not this\nASK {}"
    assert describe(text) == "What?\n\nMore, on\ntwo lines."
    knowledge, determinations = bundled("knowledge"), bundled("determinations")
    assert {q.name for q in determinations} == {p.stem for p in (ROOT / "queries" / "determinations").glob("*.rq")}
    assert all(q.description and "PREFIX" not in q.description for q in (*knowledge, *determinations))


def test_the_script_is_served_and_writes_no_markup(client: TestClient) -> None:
    r = client.get("/static/sparql.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert "innerHTML" not in r.text and "eval(" not in r.text and "outerHTML" not in r.text
    assert "textContent" in r.text and "application/sparql-query" in r.text
    for element in ("query", "queries", "run", "results"):
        assert f'getElementById("{element}")' in r.text


# --- SPARQL clients: unchanged -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "text/turtle"),
        ("*/*", "text/turtle"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("application/ld+json, text/html;q=0.5", "application/ld+json"),
        ("text/turtle, text/html", "text/turtle"),  # a tie goes to the endpoint's format
    ],
)
def test_a_sparql_client_still_gets_the_service_description(
    client: TestClient, accept: str | None, media_type: str
) -> None:
    r = client.get("/sparql", headers={"accept": accept} if accept else {})
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == media_type
    assert "sparql-service-description" in r.text or "sd:" in r.text or "Service" in r.text


@pytest.mark.parametrize("accept", [ROWS["accept"], "*/*", "application/sparql-results+json, text/html", None])
def test_a_sparql_client_still_gets_results(client: TestClient, accept: str | None) -> None:
    r = client.get(f"/sparql?query={quote(POLICIES)}", headers={"accept": accept} if accept else {})
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == "application/sparql-results+json"
    assert r.json()["head"]["vars"] == ["policy", "label"]
    rejected = client.get("/sparql?query=" + quote("SELECT * WHERE { SERVICE <http://x.invalid/> { ?s ?p ?o } }"))
    assert rejected.status_code == 400 and rejected.headers["content-type"] == "application/problem+json"


# --- results rendered on the server ------------------------------------------------------------------------


def test_a_select_is_a_table(client: TestClient) -> None:
    page = _html(_run(client, POLICIES))
    assert page.header == ["policy", "label"]
    policies = client.get("/policies").json()
    assert len(page.rows) == len(policies) > 1
    assert {row[0] for row in page.rows} == {f"https://w3id.org/guideline-reasoner/kb/{p['id']}" for p in policies}
    assert f"{len(policies)} rows." in client.get(f"/sparql?query={quote(POLICIES)}", headers=BROWSER).text
    assert page.textarea == POLICIES  # the editor keeps the query that ran


def test_a_value_is_escaped_and_an_unbound_one_empty(client: TestClient) -> None:
    query = 'SELECT ?v ?none WHERE { BIND("<script>alert(1)</script>" AS ?v) }'
    r = _run(client, query)
    page = _html(r)
    assert page.rows == [["<script>alert(1)</script>", ""]]
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)" in r.text


@pytest.mark.parametrize(
    ("query", "answer"), [(GR + "ASK { ?p a gr:Policy }", "yes"), (GR + "ASK { ?p a gr:Nothing }", "no")]
)
def test_an_ask_is_yes_or_no(client: TestClient, query: str, answer: str) -> None:
    page = _html(_run(client, query))
    assert page.answer.split() == ["ASK:", answer]
    assert not page.rows


def test_a_construct_is_turtle(client: TestClient) -> None:
    page = _html(_run(client, GR + "CONSTRUCT { ?p a gr:Policy } WHERE { ?p a gr:Policy }"))
    assert "gr:Policy" in page.graph or "<https://w3id.org/guideline-reasoner/core#Policy>" in page.graph
    assert "sij-clinical-pathway" in page.graph


@pytest.mark.parametrize(
    ("query", "status", "code", "said"),
    [
        ("SELECT * WHERE { SERVICE <http://x.invalid/> { ?s ?p ?o } }", 400, "sparql-rejected", "SERVICE"),
        ("SELECT * WHERE { ?s ?p }", 400, "sparql-rejected", "line 1"),
        ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", 403, "sparql-update-refused", "read-only"),
        ("   ", 400, "sparql-missing", "give the query"),
    ],
)
def test_a_refused_query_shows_the_problem(client: TestClient, query: str, status: int, code: str, said: str) -> None:
    page = _html(_run(client, query), status)
    assert f"{status} " in page.problem and code in page.problem and said in page.problem, page.problem
    assert not page.rows and page.ids["results"]["aria-live"] == "polite"
    assert page.ids["query"]  # the editor is still there, to correct the query


# --- the analysts' page ------------------------------------------------------------------------------------


def test_the_determinations_page_lists_their_queries(client: TestClient) -> None:
    page = _html(client.get("/sparql/determinations", headers=BROWSER))
    assert page.ids["sparql-form"]["action"] == "/sparql/determinations"
    listed = {o["value"] for o in page.options if o.get("value")}
    assert listed == {p.stem for p in (ROOT / "queries" / "determinations").glob("*.rq")}
    missing = client.get("/sparql/determinations", headers=ROWS)  # a SPARQL client without a query: as before
    assert missing.status_code == 400 and missing.json()["code"] == "sparql-missing"


def test_the_determinations_page_runs_a_query(client: TestClient) -> None:
    query = "SELECT (COUNT(*) AS ?graphs) WHERE { GRAPH ?g { ?s ?p ?o } }"
    page = _html(_run(client, query, "/sparql/determinations"))
    assert page.header == ["graphs"] and len(page.rows) == 1 and page.rows[0][0].isdigit()
    refused = _html(_run(client, "SELECT * FROM <urn:x> WHERE { ?s ?p ?o }", "/sparql/determinations"), 400)
    assert "sparql-rejected" in refused.problem and "FROM" in refused.problem


TOKENS = {"intake": ("app-page-1", ["app"]), "stats": ("ana-page-2", ["analyst"])}


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    entries = [
        {"name": name, "roles": roles, "sha256": hashlib.sha256(token.encode()).hexdigest()}
        for name, (token, roles) in TOKENS.items()
    ]
    settings = Settings(
        kb_dir=ROOT, tokens=json.dumps(entries), store=True, data_dir=tmp_path_factory.mktemp("page-store")
    )
    with TestClient(create_app(settings), client=LOOPBACK) as c:
        yield c


def test_the_determinations_page_needs_the_analyst_role(secured: TestClient) -> None:
    refused = secured.get("/sparql/determinations", headers={**BROWSER, "authorization": "Bearer app-page-1"})
    assert refused.status_code == 403 and refused.json()["requiredRoles"] == ["analyst"]
    assert "Bearer" in secured.get("/sparql/determinations", headers=BROWSER).headers["www-authenticate"]
    allowed = secured.get("/sparql/determinations", headers={**BROWSER, "authorization": "Bearer ana-page-2"})
    assert _html(allowed).ids["queries"]["tag"] == "select"
    # The knowledge base's page needs no role, as its endpoint needs none.
    assert _html(secured.get("/sparql", headers=BROWSER)).ids["query"]["tag"] == "textarea"
