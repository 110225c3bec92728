"""GET and POST /sparql: refusals, no outbound connections, negotiation, deadline, row cap, concurrency.

docs/threats.md B1-B5, E1 and the acceptance tests of section I. Every request goes through the
session's ``client`` (the deadline tests through ``deadline_client``, whose deadline is short); a
loopback canary listener is the target of every SERVICE, FROM, FROM NAMED, LOAD and
dataset-parameter attempt, and must see no connection at all. No test reads a clock: they assert
outcomes, and hold on a machine whose cores are busy; timings are in bench/sparql_abuse.py.
"""

from __future__ import annotations

import csv
import io
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from rdflib import Graph, Literal

from api import create_app
from api.settings import Settings
from reasoner import KnowledgeBase
from reasoner.sparql.worker import queryable, warm_up

from ..conftest import LOOPBACK, ROOT

PREFIXES = """PREFIX gr: <https://w3id.org/guideline-reasoner/core#>
PREFIX proc: <https://w3id.org/guideline-reasoner/procedure#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
"""
CODES = PREFIXES + "SELECT ?code ?n WHERE { ?code a gr:Code ; skos:notation ?n } ORDER BY ?n"
ASK_CODES = PREFIXES + 'ASK { ?code a gr:Code ; skos:notation "64772" }'
CONSTRUCT_CODES = PREFIXES + "CONSTRUCT { ?code skos:notation ?n } WHERE { ?code a gr:Code ; skos:notation ?n }"
COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
FORM = {"content-type": "application/x-www-form-urlencoded"}
SPARQL_QUERY = {"content-type": "application/sparql-query"}
RESULTS_NS = "{http://www.w3.org/2005/sparql-results#}"
MAX_ROWS = 100  # the session client's sparql_max_rows


# --- the loopback canary ------------------------------------------------------------------------


class Canary:
    """A plain TCP listener on 127.0.0.1 that records every connection it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="sparql-canary", daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(0.5)
                try:
                    data = conn.recv(4096)
                except OSError:
                    data = b""
                self.connections.append(data[:300])
                try:
                    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/turtle\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def seen(self, settle: float = 0.01) -> list[bytes]:
        """Connections so far; waits a moment so that one still in the accept queue is counted."""
        time.sleep(settle)
        return list(self.connections)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def kb_graph(kb: KnowledgeBase) -> Graph:
    """What the endpoint serves, built in this process: the closed ontology plus the shapes."""
    return queryable(kb)


def test_the_canary_notices_a_connection() -> None:
    """The listener itself works: one HTTP request to it is one recorded connection."""
    import urllib.request

    probe = Canary()
    try:
        with urllib.request.urlopen(probe.url("/probe"), timeout=5) as r:  # noqa: S310 - loopback only
            assert r.status == 200
        seen = probe.seen(settle=0.1)
        assert len(seen) == 1 and seen[0].startswith(b"GET /probe ")
    finally:
        probe.close()


# --- helpers --------------------------------------------------------------------------------------


def ask(client: TestClient, query: str, how: str = "get", accept: str | None = None, **params: str) -> Response:
    """Send a query as a GET parameter, a form field or an application/sparql-query body."""
    headers = {"accept": accept} if accept else {}
    if how == "get":
        return client.get("/sparql", params={"query": query, **params}, headers=headers)
    if how == "form":
        return client.post("/sparql", data={"query": query, **params}, headers={**FORM, **headers})
    if how == "body":
        return client.post("/sparql", params=params, content=query.encode(), headers={**SPARQL_QUERY, **headers})
    raise AssertionError(how)


def bindings(r: Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    return [{k: v["value"] for k, v in b.items()} for b in r.json()["results"]["bindings"]]


def assert_problem(r: Response, status: int, code: str, *fragments: str) -> dict[str, object]:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].split(";")[0] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["code"] == code
    for fragment in fragments:
        assert fragment.lower() in body["detail"].lower(), body["detail"]
    return body


def kb_hash(client: TestClient) -> str:
    r = client.get("/version")
    assert r.status_code == 200
    return str(r.json()["knowledgeBase"])


def triple_count(client: TestClient) -> int:
    return int(bindings(ask(client, COUNT_ALL))[0]["n"])


# --- refusals --------------------------------------------------------------------------------------

C = "http://127.0.0.1:{port}"  # filled in with the canary's port

UPDATES = {
    "insert-data": "INSERT DATA { <urn:canary:a> <urn:canary:b> <urn:canary:c> }",
    "delete-data": "DELETE DATA { <https://w3id.org/guideline-reasoner/code/cpt/64772> "
    '<http://www.w3.org/2004/02/skos/core#notation> "64772" }',
    "delete-where": "DELETE WHERE { ?s ?p ?o }",
    "modify": "DELETE { ?s ?p ?o } INSERT { ?s ?p <urn:canary:x> } WHERE { ?s ?p ?o }",
    "modify-using": "DELETE { ?s ?p ?o } USING <" + C + "/using.ttl> WHERE { ?s ?p ?o }",
    "load": "LOAD <" + C + "/load.ttl>",
    "load-silent-into": "LOAD SILENT <" + C + "/load.ttl> INTO GRAPH <urn:canary:g>",
    "clear-all": "CLEAR ALL",
    "clear-default": "CLEAR DEFAULT",
    "drop-all": "DROP ALL",
    "drop-silent-default": "DROP SILENT DEFAULT",
    "create": "CREATE GRAPH <urn:canary:g>",
    "add": "ADD DEFAULT TO <urn:canary:g>",
    "copy": "COPY DEFAULT TO <urn:canary:g>",
    "move": "MOVE DEFAULT TO <urn:canary:g>",
    "query-then-update": "SELECT * WHERE { ?s ?p ?o } ; DROP ALL",
}
SERVICES = {
    "service": "SELECT * WHERE { SERVICE <" + C + "/sparql> { ?s ?p ?o } }",
    "service-silent": "SELECT * WHERE { SERVICE SILENT <" + C + "/sparql> { ?s ?p ?o } }",
    "service-lowercase": "select * where { service <" + C + "/sparql> { ?s ?p ?o } }",
    "service-in-optional": "SELECT * WHERE { ?s a ?type OPTIONAL { SERVICE <" + C + "/sparql> { ?s ?p ?o } } }",
    "service-silent-in-optional": "SELECT * WHERE { ?s ?p ?o OPTIONAL { SERVICE SILENT <" + C + "/x> { ?s ?q ?r } } }",
    "service-in-not-exists": "SELECT * WHERE { ?s ?p ?o FILTER NOT EXISTS { SERVICE <" + C + "/x> { ?s ?q ?r } } }",
    "service-in-bind-exists": "SELECT * WHERE { ?s ?p ?o BIND(EXISTS { SERVICE <" + C + "/x> { ?s ?q ?r } } AS ?e) }",
    "service-in-subquery": "SELECT * WHERE { { SELECT * WHERE { SERVICE <" + C + "/x> { ?s ?p ?o } } } }",
    "service-in-union": "SELECT * WHERE { { ?s ?p ?o } UNION { SERVICE <" + C + "/x> { ?s ?p ?o } } }",
    "service-in-minus": "SELECT * WHERE { ?s ?p ?o MINUS { SERVICE <" + C + "/x> { ?s ?p ?o } } }",
    "service-in-graph": "SELECT * WHERE { GRAPH ?g { SERVICE <" + C + "/x> { ?s ?p ?o } } }",
    "service-variable": "SELECT * WHERE { VALUES ?svc { <" + C + "/x> } SERVICE ?svc { ?s ?p ?o } }",
    "service-ask": "ASK { SERVICE <" + C + "/x> { ?s ?p ?o } }",
    "service-construct": "CONSTRUCT { ?s ?p ?o } WHERE { SERVICE <" + C + "/x> { ?s ?p ?o } }",
    "service-describe": "DESCRIBE ?s WHERE { SERVICE <" + C + "/x> { ?s ?p ?o } }",
}
DATASETS = {
    "from": "SELECT * FROM <" + C + "/from.ttl> WHERE { ?s ?p ?o }",
    "from-named": "SELECT * FROM NAMED <" + C + "/named.ttl> WHERE { GRAPH ?g { ?s ?p ?o } }",
    "from-and-from-named": "SELECT * FROM <" + C + "/a.ttl> FROM NAMED <" + C + "/b.ttl> WHERE { ?s ?p ?o }",
    "from-file": "SELECT * FROM <file:///etc/hostname> WHERE { ?s ?p ?o }",
    "ask-from": "ASK FROM <" + C + "/from.ttl> { ?s ?p ?o }",
    "construct-from": "CONSTRUCT { ?s ?p ?o } FROM <" + C + "/from.ttl> WHERE { ?s ?p ?o }",
    "construct-where-from": "CONSTRUCT FROM <" + C + "/from.ttl> WHERE { ?s ?p ?o }",
    "describe-from": "DESCRIBE <urn:canary:x> FROM <" + C + "/from.ttl>",
}
SYNTAX = {
    "misspelt": "SELEC * WHERE { ?s ?p ?o }",
    "unbalanced": "SELECT * WHERE { ?s ?p ?o ",
    "incomplete-triple": "SELECT * WHERE { ?s ?p }",
    "prose": "please list every code",
    "nul": "SELECT * WHERE { ?s ?p ?o }\x00",
    "deep-nesting": "SELECT * WHERE " + "{" * 5000 + "}" * 5000,
    "turtle": "<urn:a> <urn:b> <urn:c> .",
}
READ_ONLY = (403, "sparql-update-refused", "read-only")
REJECTED = (400, "sparql-rejected")
REFUSALS = (
    [(f"update/{k}", q, *READ_ONLY) for k, q in UPDATES.items() if k != "query-then-update"]
    # a query followed by an update is a query with a syntax error at the semicolon
    + [("update/query-then-update", UPDATES["query-then-update"], *REJECTED, "line 1, column 29")]
    + [(f"service/{k}", q, *REJECTED, "SERVICE is not allowed") for k, q in SERVICES.items()]
    + [(f"dataset/{k}", q, *REJECTED, "FROM and FROM NAMED are not allowed") for k, q in DATASETS.items()]
    + [(f"syntax/{k}", q, *REJECTED, "not a valid SPARQL") for k, q in SYNTAX.items()]
    + [("too-long", "SELECT * WHERE { ?s ?p ?o } #" + "x" * 20_000, *REJECTED, "longer than 20000 characters")]
)


@pytest.mark.parametrize("how", ["get", "form", "body"])
@pytest.mark.parametrize(("name", "template", "status", "code", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused_naming_the_reason(
    client: TestClient, canary: Canary, how: str, name: str, template: str, status: int, code: str, reason: str
) -> None:
    query = template.replace("{port}", str(canary.port))
    r = ask(client, query, how)
    assert_problem(r, status, code, reason)
    assert query[:40] not in r.text  # the refusal does not echo the query
    assert canary.seen() == [], f"{name} reached the canary"


@pytest.mark.parametrize("how", ["get", "form", "body"])
def test_missing_or_blank_query_is_400(client: TestClient, how: str) -> None:
    for query in ("", "   \n\t"):
        assert_problem(ask(client, query, how), 400, "sparql-missing")
    assert_problem(client.post("/sparql", data={"format": "json"}, headers=FORM), 400, "sparql-missing")
    assert_problem(client.post("/sparql", content=b"", headers=SPARQL_QUERY), 400, "sparql-missing")


def test_a_query_of_exactly_20000_characters_runs(client: TestClient) -> None:
    base = CODES + "\n#"
    query = base + "x" * (20_000 - len(base))
    assert len(query) == 20_000
    assert bindings(ask(client, query, "body")) == bindings(ask(client, CODES))


def test_other_bodies_are_415(client: TestClient) -> None:
    for content_type in ("text/plain", "application/json", "text/turtle"):
        r = client.post(
            "/sparql",
            content=b"INSERT DATA { <urn:canary:a> <urn:canary:b> 1 }",
            headers={"content-type": content_type},
        )
        assert_problem(r, 415, "unsupported-media-type")


def test_update_attempts_leave_the_knowledge_base_unchanged(client: TestClient, canary: Canary) -> None:
    before_hash, before_count = kb_hash(client), triple_count(client)
    for template in UPDATES.values():
        query = template.replace("{port}", str(canary.port))
        for how in ("get", "form", "body"):
            assert ask(client, query, how).status_code in (400, 403)
        as_update = (
            client.post("/sparql", content=query.encode(), headers={"content-type": "application/sparql-update"}),
            client.post("/sparql", data={"update": query}, headers=FORM),
            client.get("/sparql", params={"update": query}),
        )
        for r in as_update:
            assert_problem(r, *READ_ONLY)
    assert kb_hash(client) == before_hash
    assert triple_count(client) == before_count
    probe = "ASK { { <urn:canary:a> ?p ?o } UNION { ?s ?p <urn:canary:x> } }"
    assert ask(client, probe).json()["boolean"] is False
    assert "64772" in {b["n"] for b in bindings(ask(client, CODES))}  # DELETE DATA removed nothing
    assert canary.seen() == []


def test_dataset_protocol_parameters_fetch_nothing(client: TestClient, canary: Canary) -> None:
    """Non-empty default-graph-uri / named-graph-uri are refused (they would replace the dataset), never fetched."""
    for how in ("get", "form", "body"):
        for name in ("default-graph-uri", "named-graph-uri"):
            r = ask(client, CODES, how, **{name: canary.url("/graph.ttl")})
            assert_problem(r, 400, "sparql-rejected")
            assert "not supported" in r.json()["detail"]
    assert canary.seen() == []


# --- content negotiation --------------------------------------------------------------------------


def _codes_from(r: Response) -> list[str]:
    kind = r.headers["content-type"].split(";")[0]
    if kind == "application/sparql-results+json":
        return [b["n"]["value"] for b in r.json()["results"]["bindings"]]
    if kind == "application/sparql-results+xml":
        root = ET.fromstring(r.content)
        assert root.tag == RESULTS_NS + "sparql"
        return [
            lit.text or ""
            for binding in root.iter(RESULTS_NS + "binding")
            if binding.get("name") == "n"
            for lit in binding.iter(RESULTS_NS + "literal")
        ]
    if kind == "text/csv":
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0] == ["code", "n"]
        return [row[1] for row in rows[1:]]
    if kind == "text/tab-separated-values":
        lines = r.text.split("\n")
        assert lines[0] == "?code\t?n" and lines[-1] == ""
        return [line.split("\t")[1].strip('"') for line in lines[1:-1]]
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "application/sparql-results+json"),
        ("application/sparql-results+json", "application/sparql-results+json"),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
        ("application/json", "application/sparql-results+json"),
        ("application/xml", "application/sparql-results+xml"),
        ("text/xml", "application/sparql-results+xml"),
        ("*/*", "application/sparql-results+json"),
        ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
        ("image/png, text/csv;q=0.1", "text/csv"),
        # a named type's q-value overrides the wildcard's (RFC 9110 12.5.1)
        ("application/sparql-results+json;q=0, application/json;q=0, */*", "application/sparql-results+xml"),
        ("*/*;q=0.5, text/tab-separated-values", "text/tab-separated-values"),
        ("text/*", "text/csv"),
    ],
)
def test_select_formats(client: TestClient, accept: str | None, media: str) -> None:
    r = ask(client, CODES, accept=accept)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media
    codes = _codes_from(r)
    assert {"64772", "64625", "27096", "27279", "27280", "G0260"} <= set(codes)
    assert codes == sorted(codes)


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "application/sparql-results+json"),
        ("application/sparql-results+json", "application/sparql-results+json"),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("application/json", "application/sparql-results+json"),
        ("application/xml", "application/sparql-results+xml"),
    ],
)
def test_ask_formats(client: TestClient, accept: str | None, media: str) -> None:
    r = ask(client, ASK_CODES, accept=accept)
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == media
    if media.endswith("json"):
        assert r.json()["boolean"] is True
    else:
        assert ET.fromstring(r.content).find(RESULTS_NS + "boolean").text == "true"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("accept", "body"),
    [
        ("text/csv", "_askResult\r\n{}\r\n"),
        ("text/*", "_askResult\r\n{}\r\n"),
        ("text/tab-separated-values", "?_askResult\n{}\n"),
    ],
)
def test_ask_as_csv_and_tsv_is_jenas_boolean(client: TestClient, accept: str, body: str) -> None:
    """W3C CSV and TSV results define SELECT only; an ASK is written as Apache Jena (Fuseki) writes it."""
    for query, answer in ((ASK_CODES, "true"), (PREFIXES + "ASK { ?c skos:notation '00000' }", "false")):
        r = ask(client, query, accept=accept)
        assert r.status_code == 200, r.text
        assert r.text == body.format(answer)


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        (None, "turtle"),
        ("text/turtle", "turtle"),
        ("application/ld+json", "json-ld"),
        ("application/n-triples", "nt"),
        ("application/rdf+xml", "xml"),
        ("*/*", "turtle"),
        ("text/turtle;q=0, */*", "json-ld"),
    ],
)
def test_construct_formats(client: TestClient, accept: str | None, fmt: str) -> None:
    r = ask(client, CONSTRUCT_CODES, accept=accept)
    assert r.status_code == 200, r.text
    expected = {
        "turtle": "text/turtle",
        "json-ld": "application/ld+json",
        "nt": "application/n-triples",
        "xml": "application/rdf+xml",
    }[fmt]
    assert r.headers["content-type"].split(";")[0] == expected
    graph = Graph().parse(data=r.text, format=fmt)
    notations = {str(o) for o in graph.objects()}
    assert {"64772", "64625", "27279"} <= notations
    assert len(graph) == len(bindings(ask(client, CODES)))


@pytest.mark.parametrize("fmt", ["text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"])
def test_construct_output_is_valid_rdf_whatever_the_closure_holds(client: TestClient, fmt: str) -> None:
    """A graph built from every kind of term the closure holds (IRIs, blank nodes, typed and language literals)."""
    query = PREFIXES + "CONSTRUCT { ?a ?p ?b } WHERE { ?a ?p ?b } LIMIT 400"
    r = ask(client, query, accept=fmt)
    assert r.status_code == 200, r.text
    parse_as = {
        "text/turtle": "turtle",
        "application/n-triples": "nt",
        "application/ld+json": "json-ld",
        "application/rdf+xml": "xml",
    }[fmt]
    graph = Graph().parse(data=r.text, format=parse_as)  # a strict reader must be able to read the answer
    literal_subjects = {s for s in graph.subjects() if isinstance(s, Literal)}
    assert not literal_subjects, f"{len(literal_subjects)} literal subjects: not RDF, not Turtle"
    if parse_as == "nt":
        assert len(graph) == len([line for line in r.text.splitlines() if line.strip()])


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        (CODES, "image/png"),
        (CODES, "text/turtle"),
        (CODES, "application/sparql-results+json;q=0"),
        (ASK_CODES, "image/png"),
        (ASK_CODES, "application/n-triples"),
        (CONSTRUCT_CODES, "application/sparql-results+json"),
        (CONSTRUCT_CODES, "application/json"),
        (CONSTRUCT_CODES, "text/csv"),
        (CONSTRUCT_CODES, "image/png"),
    ],
)
def test_not_acceptable_is_406(client: TestClient, query: str, accept: str) -> None:
    body = assert_problem(ask(client, query, accept=accept), 406, "not-acceptable")
    assert isinstance(body["available"], list) and body["available"]
    if "q=0" not in accept:
        assert accept not in body["available"]


# --- transports and extra parameters ----------------------------------------------------------------


def test_get_form_and_body_give_the_same_answer(client: TestClient) -> None:
    answers = [ask(client, CODES, how) for how in ("get", "form", "body")]
    for content_type in ("application/sparql-query; charset=UTF-8", "Application/SPARQL-Query"):
        answers.append(client.post("/sparql", content=CODES.encode(), headers={"content-type": content_type}))
    assert {r.status_code for r in answers} == {200}
    assert len({r.content for r in answers}) == 1
    assert len({ask(client, ASK_CODES, how).content for how in ("get", "form", "body")}) == 1
    graphs = [Graph().parse(data=ask(client, CONSTRUCT_CODES, how).text) for how in ("get", "form", "body")]
    assert set(graphs[0]) == set(graphs[1]) == set(graphs[2]) and len(graphs[0]) > 10


@pytest.mark.parametrize("how", ["get", "form", "body"])
def test_unknown_parameters_are_ignored(client: TestClient, how: str) -> None:
    plain = ask(client, CODES)
    extra = {"format": "json", "timeout": "0", "default-graph-uri": "", "output": "xml", "results": "csv", "x": "y"}
    r = ask(client, CODES, how, **extra)
    assert r.status_code == 200 and r.content == plain.content
    # format=json does not override the Accept header
    csv_answer = ask(client, CODES, how, accept="text/csv", **extra)
    assert csv_answer.headers["content-type"].startswith("text/csv")


def test_queries_directory_through_the_endpoint(client: TestClient, kb_graph: Graph) -> None:
    files = sorted((ROOT / "queries").glob("*.rq"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        rows = bindings(ask(client, text, "body"))
        direct = list(kb_graph.query(text))
        assert len(rows) == len(direct), path.name


# --- deadline, liveness, row cap ------------------------------------------------------------------


DEADLINE_S = 2.0  # deadline_client's deadline: far below what the runaway and slow-to-parse queries need


@pytest.fixture(scope="module")
def deadline_client() -> Iterator[TestClient]:
    """An app with a short SPARQL deadline, for the queries that must be stopped."""
    settings = Settings(kb_dir=ROOT, sparql_timeout_s=DEADLINE_S, sparql_max_rows=MAX_ROWS, sparql_concurrency=2)
    with TestClient(create_app(settings), client=LOOPBACK) as c:
        yield c


def _poll_health(client: TestClient, while_running: Callable[[], bool]) -> tuple[list[int], int]:
    """GET /health until ``while_running`` turns false (at least 5 times): the statuses, and how many polls
    began while it was still true."""
    statuses, during = [], 0
    while while_running() or len(statuses) < 5:
        during += while_running()
        r = client.get("/health")
        statuses.append(r.status_code)
        assert r.json() == {"status": "ok"}
        time.sleep(0.05)
    return statuses, during


def _run_in_background(client: TestClient, query: str) -> tuple[threading.Thread, dict[str, Response]]:
    out: dict[str, Response] = {}

    def work() -> None:
        out["response"] = ask(client, query, "body")

    thread = threading.Thread(target=work, name="sparql-runaway")
    thread.start()
    return thread, out


def _slow_to_parse() -> str:
    """20,000 characters that rdflib's parser needs 15 s or more for (bench/sparql_abuse.py --probe)."""
    head, tail = "ASK { FILTER(COALESCE(1", ")) }"
    return head + ",1" * ((20_000 - len(head) - len(tail)) // 2) + tail


def test_runaway_query_is_stopped_while_health_stays_up(deadline_client: TestClient) -> None:
    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # 10^11 rows
    thread, out = _run_in_background(deadline_client, runaway)
    try:
        statuses, during = _poll_health(deadline_client, thread.is_alive)
    finally:
        thread.join(60)
    assert_problem(out["response"], 503, "sparql-timeout", "stopped")
    assert out["response"].headers.get("retry-after") == "1"
    assert during >= 1 and set(statuses) == {200}  # /health answered while the query ran
    assert ask(deadline_client, "ASK {}").json()["boolean"] is True  # the service still answers afterwards


def test_slow_to_parse_query_is_stopped_at_the_deadline(deadline_client: TestClient) -> None:
    """Parsing counts against the deadline: the query process is stopped while the parser still works."""
    slow = _slow_to_parse()
    assert 19_990 <= len(slow) <= 20_000
    thread, out = _run_in_background(deadline_client, slow)
    try:
        statuses, during = _poll_health(deadline_client, thread.is_alive)
    finally:
        thread.join(60)
    assert_problem(out["response"], 503, "sparql-timeout", "parsed or run")
    assert during >= 1 and set(statuses) == {200}
    assert ask(deadline_client, "ASK {}").json()["boolean"] is True


def test_the_forkserver_warm_up_runs(kb: KnowledgeBase) -> None:
    """Query processes start from a forkserver that ran these queries in every format (a failure would stop it)."""
    warm_up(queryable(kb))


def test_row_cap_truncates_and_says_so(client: TestClient) -> None:
    r = ask(client, "SELECT * WHERE { ?s ?p ?o }")
    assert r.status_code == 200
    assert len(r.json()["results"]["bindings"]) == MAX_ROWS
    assert r.headers.get("x-result-truncated") == "true"
    as_csv = ask(client, "SELECT * WHERE { ?s ?p ?o }", accept="text/csv")
    assert as_csv.headers.get("x-result-truncated") == "true"
    assert len(list(csv.reader(io.StringIO(as_csv.text)))) == 1 + MAX_ROWS
    as_xml = ask(client, "SELECT * WHERE { ?s ?p ?o }", accept="application/sparql-results+xml")
    assert as_xml.headers.get("x-result-truncated") == "true"
    assert len(list(ET.fromstring(as_xml.content).iter(RESULTS_NS + "result"))) == MAX_ROWS


@pytest.mark.parametrize("limit", [MAX_ROWS - 1, MAX_ROWS])
def test_results_within_the_cap_are_not_marked(client: TestClient, limit: int) -> None:
    r = ask(client, f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {limit}")
    assert len(r.json()["results"]["bindings"]) == limit
    assert "x-result-truncated" not in r.headers
    assert "x-result-truncated" not in ask(client, CODES).headers


def test_construct_is_capped_too(client: TestClient) -> None:
    r = ask(client, "CONSTRUCT { ?s ?p ?o } WHERE { ?s a ?o . ?s ?p ?o }", accept="application/n-triples")
    assert r.status_code == 200
    assert r.headers.get("x-result-truncated") == "true"
    assert len([line for line in r.text.splitlines() if line.strip()]) <= MAX_ROWS


# --- concurrency (docs/threats.md E1, I.10) --------------------------------------------------------------


@pytest.mark.parametrize("threads", [16, 80])
def test_80_concurrent_queries_all_succeed(client: TestClient, threads: int) -> None:
    query = CODES.replace("ORDER BY ?n", f"ORDER BY ?n # {threads} threads")
    expected = ask(client, query)
    assert expected.status_code == 200
    barrier = threading.Barrier(threads)

    def one(i: int) -> tuple[str, bytes]:
        if i < threads:
            barrier.wait(10)
        r = ask(client, query, ("get", "form", "body")[i % 3])
        outcome = "200" if r.status_code == 200 else f"{r.status_code} {r.json().get('code')}"
        return outcome, r.content

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, range(80)))
    outcomes = Counter(outcome for outcome, _ in results)
    assert outcomes == {"200": 80}, outcomes
    assert {content for _, content in results} == {expected.content}


def _never_seen_shapes() -> list[str]:
    """40 query shapes, each a different mix of grammar productions first used here at the same moment."""
    shapes = [
        "SELECT ?c ?l WHERE { ?c a gr:Code OPTIONAL { ?c rdfs:label ?l FILTER(LANGMATCHES(LANG(?l), 'en')) } }",
        "SELECT ?p (COUNT(?c) AS ?k) WHERE { ?r gr:policy ?p ; gr:code ?c } GROUP BY ?p HAVING (COUNT(?c) > 1)",
        "SELECT ?s WHERE { ?s gr:requiresStep+ ?t } ORDER BY DESC(?s)",
        "SELECT ?s ?t WHERE { ?s gr:requiresStep* ?t . ?t gr:order ?o } ORDER BY ?o LIMIT 7",
        "SELECT ?c WHERE { ?c skos:notation ?n FILTER REGEX(?n, '^64[0-9]{3}$') }",
        "SELECT ?c WHERE { ?c skos:notation ?n FILTER REGEX(STR(?n), 'g0', 'i') }",
        "SELECT ?c WHERE { ?c a gr:Criterion FILTER NOT EXISTS { ?c gr:recommendation ?r } }",
        "SELECT ?c WHERE { ?c a gr:Criterion FILTER EXISTS { ?c gr:usesThreshold ?t } }",
        "SELECT ?c ?n WHERE { VALUES ?n { '64772' '64625' '27279' } ?c skos:notation ?n }",
        "SELECT * WHERE { VALUES (?c ?want) { (cpt:64772 true) (cpt:27096 false) } ?c skos:notation ?n }",
        "SELECT ?c ?u WHERE { ?c skos:notation ?n BIND(UCASE(CONCAT('cpt-', ?n)) AS ?u) }",
        "SELECT ?t ?d WHERE { ?t gr:value ?v BIND(?v * 2 AS ?d) FILTER(?d >= 4) }",
        "SELECT ?t ?v WHERE { ?t a gr:Threshold ; gr:value ?v } ORDER BY DESC(?v) ?t",
        "SELECT ?s ?l WHERE { ?s gr:procedureClass/rdfs:label ?l }",
        "SELECT ?x WHERE { ?x ^gr:denotes ?code }",
        "SELECT ?x ?y WHERE { ?x (gr:requiresStep|gr:completionCriterion) ?y }",
        "SELECT ?x WHERE { ?x rdfs:subClassOf+ gr:Procedure } ORDER BY STR(?x)",
        "SELECT ?x ?y WHERE { ?x !(rdf:type|rdfs:label) ?y . ?x a gr:Threshold }",
        "SELECT ?c WHERE { ?c a gr:Code MINUS { ?c gr:denotes proc:SacroiliacJointInjection } }",
        "SELECT ?c WHERE { { ?c gr:coverageStatus gr:NotCovered } UNION { ?c gr:coverageStatus gr:Unlisted } }",
        "SELECT (GROUP_CONCAT(?n; separator=',') AS ?all) WHERE { ?c a gr:Code ; skos:notation ?n }",
        "SELECT (SAMPLE(?n) AS ?one) (MIN(?n) AS ?lo) (MAX(?n) AS ?hi) WHERE { ?c skos:notation ?n }",
        "SELECT ?p (AVG(?o) AS ?mean) (SUM(?o) AS ?total) WHERE { ?x gr:policy ?p ; gr:order ?o } GROUP BY ?p",
        "SELECT DISTINCT ?p WHERE { ?x gr:policy ?p } OFFSET 1",
        "SELECT REDUCED ?g WHERE { ?r gr:evidenceGrade ?g }",
        "SELECT ?c WHERE { { SELECT ?c WHERE { ?c a gr:Code } LIMIT 3 } ?c skos:notation ?n }",
        "SELECT ?c (STRLEN(?n) AS ?len) (SUBSTR(?n, 1, 2) AS ?head) WHERE { ?c skos:notation ?n }",
        "SELECT ?c WHERE { ?c skos:notation ?n FILTER(STRSTARTS(?n, '27') && !STRENDS(?n, '6')) }",
        "SELECT ?c (IF(BOUND(?d), ?d, 'none') AS ?x) WHERE { ?c a gr:Code OPTIONAL { ?c skos:definition ?d } }",
        "SELECT ?c (COALESCE(?missing, ?c) AS ?x) WHERE { ?c a gr:Code }",
        "SELECT ?c WHERE { ?c skos:notation ?n FILTER(?n IN ('64772', '64999')) }",
        "SELECT ?c WHERE { ?c skos:notation ?n FILTER(?n NOT IN ('64772', '64999')) }",
        "SELECT ?t (ROUND(?v / 3) AS ?r) (ABS(-?v) AS ?a) (CEIL(?v / 7) AS ?ce) WHERE { ?t gr:value ?v }",
        "SELECT ?c (MD5(?n) AS ?h) (STRUUID() AS ?u) WHERE { ?c skos:notation ?n } LIMIT 2",
        "SELECT ?c (REPLACE(?n, '6', 'six') AS ?r) WHERE { ?c skos:notation ?n }",
        "SELECT ?c (DATATYPE(?v) AS ?dt) (isLiteral(?v) AS ?lit) WHERE { ?c gr:value ?v }",
        "SELECT ?p (YEAR(?d) AS ?y) WHERE { ?p gr:effectiveDate ?d }",
        "ASK { ?c skos:notation '64772' FILTER(isIRI(?c) && !isBlank(?c)) }",
        "CONSTRUCT { ?s gr:requiresStep ?t } WHERE { ?s gr:requiresStep ?t }",
        "DESCRIBE ?t WHERE { ?t a gr:Threshold ; gr:verification gr:VerificationS }",
    ]
    header = PREFIXES + (
        "PREFIX cpt: <https://w3id.org/guideline-reasoner/code/cpt/>\n"
        "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>\n"
    )
    return [header + s for s in shapes]


def test_40_concurrent_never_seen_query_shapes(client: TestClient, kb_graph: Graph) -> None:
    shapes = _never_seen_shapes()
    assert len(shapes) == 40 and len(set(shapes)) == 40
    barrier = threading.Barrier(len(shapes))

    def one(query: str) -> Response:
        barrier.wait(10)
        return ask(client, query, "body")

    with ThreadPoolExecutor(len(shapes)) as pool:
        results = list(pool.map(one, shapes))
    failures = Counter(f"{r.status_code} {r.json().get('code')}" for r in results if r.status_code != 200)
    assert failures == {}, f"{sum(failures.values())} of 40 failed: {dict(failures)}"
    # and the answers are right: as many rows as the knowledge base gives in this process, one query at a time
    for query, r in zip(shapes, results, strict=True):
        if "\nSELECT" in query:
            assert len(r.json()["results"]["bindings"]) == min(len(kb_graph.query(query)), MAX_ROWS), query
        elif query.split("\n")[-1].startswith("ASK"):
            assert r.json()["boolean"] is True
    # the parser in this process still works for every shape
    assert all(ask(client, q, "get").status_code == 200 for q in shapes[:5])


def test_zz_canary_saw_no_connection_at_all(canary: Canary) -> None:
    assert canary.seen(settle=0.3) == []


def test_graph_pattern_over_the_default_graph_only_answers_nothing(client: TestClient) -> None:
    r = ask(client, "SELECT ?g ?s WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert r.status_code == 200 and r.json()["results"]["bindings"] == []
