"""/sparql as the SPARQL 1.1 Protocol, result formats and Service Description define it (issue 15).

Every bundled query in every result format, read back with rdflib's own result parsers and
compared with the query run in this process; unbound values left out as the W3C formats say;
the terms each format must escape; a result a format cannot carry; syntax errors with their line
and column; the service description; updates refused however they are sent. All through the
session's ``client`` (one app). SPARQLWrapper against a real server is test_sparql_live.py.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef
from rdflib.query import Result

from reasoner import KnowledgeBase
from reasoner.sparql.worker import queryable

from ..conftest import ROOT

QUERIES = sorted((ROOT / "queries").glob("*.rq"))
TABLES = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPHS = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
}
RESULTS_NS = "{http://www.w3.org/2005/sparql-results#}"
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")
VOID = Namespace("http://rdfs.org/ns/void#")
SPARQL_QUERY = {"content-type": "application/sparql-query"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
Key = tuple[object, ...] | None


@pytest.fixture(scope="module")
def kb_graph(kb: KnowledgeBase) -> Graph:
    return queryable(kb)


def post(client: TestClient, query: str, accept: str | None = None) -> Response:
    return client.post(
        "/sparql", content=query.encode(), headers={**SPARQL_QUERY, **({"accept": accept} if accept else {})}
    )


def problem(r: Response, status: int, code: str) -> dict[str, object]:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].split(";")[0] == "application/problem+json"
    body = r.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


def unordered(text: str) -> str:
    """A GROUP_CONCAT (separator " | ") with its parts sorted: SPARQL gives them in no particular order."""
    return " | ".join(sorted(text.split(" | ")))


def key(term: object) -> Key:
    """A term as a comparable tuple (blank nodes alike: their labels are the writer's own)."""
    if term is None:
        return None
    if isinstance(term, BNode):
        return ("bnode",)
    if isinstance(term, URIRef):
        return ("uri", str(term))
    assert isinstance(term, Literal)
    return ("literal", unordered(str(term)), term.language, str(term.datatype) if term.datatype else None)


def csv_text(term: object) -> str:
    if term is None:
        return ""
    return "_:b" if isinstance(term, BNode) else unordered(str(term))


def direct(graph: Graph, text: str) -> tuple[list[str], list[list[object]]]:
    """The variables and rows of the query run in this process."""
    result = graph.query(text)
    names = [str(v) for v in result.vars or []]
    return names, [[row[i] for i in range(len(names))] for row in result]  # type: ignore[index]


# --- every bundled query, every result format -------------------------------------------------------


@pytest.mark.parametrize("media", list(TABLES))
@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.name)
def test_every_bundled_query_in_every_result_format(
    client: TestClient, kb_graph: Graph, path: Path, media: str
) -> None:
    """The answer, read back with rdflib's parser for the format, is the query's answer here, row for row."""
    text = path.read_text(encoding="utf-8")
    r = post(client, text, media)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].split(";")[0] == media
    names, rows = direct(kb_graph, text)
    assert rows, f"{path.name} answers nothing here: a useless comparison"
    if TABLES[media] == "csv":
        table = list(csv.reader(io.StringIO(r.content.decode("utf-8"), newline="")))
        assert table[0] == names
        got_csv = sorted(
            tuple("_:b" if cell.startswith("_:") else unordered(cell) for cell in line) for line in table[1:]
        )
        assert got_csv == sorted(tuple(csv_text(t) for t in row) for row in rows)
        assert r.content.endswith(b"\r\n") and b"\n" not in r.content.replace(b"\r\n", b"")
        return
    parsed = Result.parse(io.BytesIO(r.content), format=TABLES[media])
    assert [str(v) for v in parsed.vars or []] == names
    got = sorted((tuple(key(b.get(v)) for v in parsed.vars or []) for b in parsed.bindings), key=repr)
    assert got == sorted((tuple(key(t) for t in row) for row in rows), key=repr)


def test_unbound_values_are_left_out(client: TestClient) -> None:
    """recommendations-by-grade.rq has no ?scheme for the ungraded recommendations: no binding, an empty field."""
    text = (ROOT / "queries" / "recommendations-by-grade.rq").read_text(encoding="utf-8")
    as_json = post(client, text, "application/sparql-results+json").json()
    ungraded = [b for b in as_json["results"]["bindings"] if b["gradeNotation"]["value"] == "ungraded"]
    assert len(ungraded) == 1 and "scheme" not in ungraded[0] and "count" in ungraded[0]
    assert as_json["head"]["vars"] == ["graded", "gradeNotation", "scheme", "count", "recommendations"]

    root = ET.fromstring(post(client, text, "application/sparql-results+xml").content)
    results = root.findall(f"{RESULTS_NS}results/{RESULTS_NS}result")
    names = [{b.get("name") for b in result.findall(f"{RESULTS_NS}binding")} for result in results]
    assert {"graded", "gradeNotation", "count", "recommendations"} == names[-1]  # ungraded last, no scheme
    assert all("scheme" in n for n in names[:-1])

    rows = list(csv.reader(io.StringIO(post(client, text, "text/csv").text)))
    assert rows[-1][1:3] == ["ungraded", ""]
    tsv = post(client, text, "text/tab-separated-values").text.split("\n")
    assert tsv[0] == "?graded\t?gradeNotation\t?scheme\t?count\t?recommendations"
    assert tsv[-2].split("\t")[1:3] == ['"ungraded"', ""]


TERMS = """PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
SELECT ?text ?french ?decimal ?blank ?iri ?number ?none ?flag WHERE {
  BIND("tab\\there\\nline\\rreturn \\"quoted\\" back\\\\slash, comma" AS ?text)
  BIND("été"@fr AS ?french)
  BIND(1.50 AS ?decimal)
  BIND(BNODE() AS ?blank)
  BIND(<https://w3id.org/guideline-reasoner/code/cpt/64772> AS ?iri)
  BIND(42 AS ?number)
  BIND(true AS ?flag)
}"""
TEXT = 'tab\there\nline\rreturn "quoted" back\\slash, comma'


def test_each_format_writes_each_kind_of_term_as_its_specification_says(client: TestClient) -> None:
    as_json = post(client, TERMS, "application/sparql-results+json").json()
    (row,) = as_json["results"]["bindings"]
    assert row["text"] == {"type": "literal", "value": TEXT}
    assert row["french"] == {"type": "literal", "value": "été", "xml:lang": "fr"}
    assert row["decimal"]["datatype"] == "http://www.w3.org/2001/XMLSchema#decimal"
    assert row["blank"]["type"] == "bnode" and row["iri"]["type"] == "uri" and "none" not in row

    root = ET.fromstring(post(client, TERMS, "application/sparql-results+xml").content)
    bindings = {b.get("name"): b[0] for b in root.iter(f"{RESULTS_NS}binding")}
    assert bindings["text"].text == TEXT  # the carriage return survives the XML reader
    assert bindings["french"].get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    assert bindings["blank"].tag == f"{RESULTS_NS}bnode" and "none" not in bindings

    header, line = list(csv.reader(io.StringIO(post(client, TERMS, "text/csv").content.decode(), newline="")))
    assert header == ["text", "french", "decimal", "blank", "iri", "number", "none", "flag"]
    assert line[0] == TEXT and line[1] == "été" and line[3].startswith("_:") and line[6] == ""
    assert line[4] == "https://w3id.org/guideline-reasoner/code/cpt/64772"

    tsv = post(client, TERMS, "text/tab-separated-values").text
    head, values, end = tsv.split("\n")
    assert end == "" and head == "?text\t?french\t?decimal\t?blank\t?iri\t?number\t?none\t?flag"
    fields = values.split("\t")
    assert fields[0] == '"tab\\there\\nline\\rreturn \\"quoted\\" back\\\\slash, comma"'
    assert fields[1:3] == ['"été"@fr', "1.50"]
    assert fields[3].startswith("_:") and fields[4] == "<https://w3id.org/guideline-reasoner/code/cpt/64772>"
    assert fields[5:] == ["42", "", "true"]


# --- a result a format cannot carry -------------------------------------------------------------------

NOT_XML = 'SELECT ?v WHERE { BIND("a\\u0001b" AS ?v) }'  # U+0001: no XML 1.0 document can hold it
NO_XML_NAME = 'CONSTRUCT { <urn:x:a> <urn:x:1> ?v } WHERE { BIND("v" AS ?v) }'  # RDF/XML: no element name for it


def test_a_result_the_preferred_format_cannot_carry_comes_in_the_next(client: TestClient) -> None:
    r = post(client, NOT_XML, "application/sparql-results+xml, text/tab-separated-values;q=0.5")
    assert (r.status_code, r.headers["content-type"].split(";")[0]) == (200, "text/tab-separated-values")
    assert r.text == '?v\n"a\x01b"\n'
    r = post(client, NO_XML_NAME, "application/rdf+xml, application/n-triples;q=0.1")
    assert (r.status_code, r.text) == (200, '<urn:x:a> <urn:x:1> "v" .\n')


def test_a_result_no_acceptable_format_can_carry_is_406_saying_why(client: TestClient) -> None:
    body = problem(post(client, NOT_XML, "application/sparql-results+xml"), 406, "not-acceptable")
    assert "XML 1.0" in str(body["detail"])
    assert body["available"] == ["application/sparql-results+json", "text/csv", "text/tab-separated-values"]
    body = problem(post(client, NO_XML_NAME, "application/rdf+xml"), 406, "not-acceptable")
    assert "RDF/XML element name" in str(body["detail"])
    assert body["available"] == ["text/turtle", "application/ld+json", "application/n-triples"]
    assert post(client, NOT_XML).json()["results"]["bindings"] == [{"v": {"type": "literal", "value": "a\x01b"}}]


# --- syntax errors --------------------------------------------------------------------------------

SECRET = "zzcanaryzz"


@pytest.mark.parametrize(
    ("query", "line", "column", "near"),
    [
        ("SELEC * WHERE { ?s ?p ?o }", 1, 1, "near 'SELEC * WHERE { ?s ?'"),
        ("PREFIX x: <urn:x:>\nSELECT * WHERE {\n  ?s ?p ?o .\n  FILTER(?o = )\n}", 4, 3, "near 'FILTER(?o = )'"),
        ("SELECT * WHERE {\n\t\t?s ?p }", 2, 3, "near '?s ?p }'"),  # tabs count as one column each
        ('SELECT ("\\u00e9" AS ?x) WHERE { ?s ?p ?o . foo }', 1, 44, "near 'foo }'"),  # an escape as sent: 6
        ("SELECT * WHERE { ?s ?p ?o ", 1, 27, "at the end of the query"),
        ("SELECT * WHERE { ?s ?p ?o }\x00", 1, 28, "near '\\u0000'"),
    ],
)
def test_a_syntax_error_gives_its_line_and_column(
    client: TestClient, query: str, line: int, column: int, near: str
) -> None:
    body = problem(post(client, query), 400, "sparql-rejected")
    assert (body["line"], body["column"]) == (line, column)
    assert f"syntax error at line {line}, column {column}, {near};" in str(body["detail"])


def test_a_syntax_error_quotes_only_a_short_excerpt(client: TestClient) -> None:
    query = f"SELECT * WHERE {{ ?s ?p ?o FILTER(?o = ) }} # {SECRET}\n# {SECRET}2"
    r = post(client, query)
    body = problem(r, 400, "sparql-rejected")
    assert (body["line"], body["column"]) == (1, 27)
    assert SECRET not in r.text and "WHERE" not in r.text


# --- updates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.post("/sparql", content=b"DROP ALL", headers={"content-type": "application/sparql-update"}),
        lambda c: c.post("/sparql", data={"update": "DROP ALL"}, headers=FORM),
        lambda c: c.post("/sparql", data={"update": "DROP ALL", "query": "ASK {}"}, headers=FORM),
        lambda c: c.post("/sparql", params={"update": "DROP ALL"}, content=b"ASK {}", headers=SPARQL_QUERY),
        lambda c: c.get("/sparql", params={"update": "DROP ALL"}),
        lambda c: c.get("/sparql", params={"query": "# an update\nPREFIX x: <urn:x:>\nINSERT DATA { x:a x:b x:c }"}),
        lambda c: c.post("/sparql", data={"query": "WITH <urn:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }"}),
    ],
    ids=["sparql-update-body", "update-field", "update-and-query", "update-param", "get-update", "in-query", "with"],
)
def test_an_update_is_refused_as_read_only_however_it_is_sent(client: TestClient, send: object) -> None:
    body = problem(send(client), 403, "sparql-update-refused")  # type: ignore[operator]
    assert "read-only" in str(body["detail"]) and "not supported" in str(body["detail"])


# --- the service description --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "text/turtle"),
        ("*/*", "text/turtle"),
        ("text/html;q=0.5, */*;q=0.9", "text/turtle"),  # a browser gets the SPARQL page: tests/api/test_sparql_page.py
        ("application/rdf+xml", "application/rdf+xml"),
        ("application/ld+json", "application/ld+json"),
        ("application/n-triples", "application/n-triples"),
    ],
)
def test_get_without_a_query_is_the_service_description(
    client: TestClient, kb_graph: Graph, accept: str | None, media: str
) -> None:
    r = client.get("/sparql", headers={"accept": accept} if accept else {})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media
    sd = Graph().parse(data=r.content, format=GRAPHS[media])
    (service,) = sd.subjects(RDF.type, SD.Service)
    assert sd.value(service, SD.endpoint) == URIRef("http://testserver/sparql")
    assert set(sd.objects(service, SD.supportedLanguage)) == {SD.SPARQL11Query}
    assert set(sd.objects(service, SD.resultFormat)) == {
        FORMATS[name]
        for name in (
            "SPARQL_Results_JSON",
            "SPARQL_Results_XML",
            "SPARQL_Results_CSV",
            "SPARQL_Results_TSV",
            "Turtle",
            "N-Triples",
            "JSON-LD",
            "RDF_XML",
        )
    }
    assert set(sd.objects(service, SD.feature)) == set()  # none of the five holds: no SERVICE, no FROM, ...
    dataset = sd.value(service, SD.defaultDataset)
    assert (dataset, RDF.type, SD.Dataset) in sd and not list(sd.objects(dataset, SD.namedGraph))
    graph = sd.value(dataset, SD.defaultGraph)
    assert (graph, RDF.type, SD.Graph) in sd
    triples = sd.value(graph, VOID.triples)
    assert isinstance(triples, Literal) and triples.toPython() == len(kb_graph)
    count = post(client, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").json()["results"]["bindings"][0]["n"]
    assert int(count["value"]) == len(kb_graph)
    assert str(sd.value(graph, URIRef("http://purl.org/dc/terms/identifier"))) == r.headers["x-knowledge-base"]


def test_the_service_description_in_json_ld_is_self_contained(client: TestClient) -> None:
    document = json.loads(client.get("/sparql", headers={"accept": "application/ld+json"}).content)
    assert "@context" not in json.dumps(document)  # expanded form: nothing to fetch


def test_the_service_description_in_an_unknown_format_is_406(client: TestClient) -> None:
    body = problem(client.get("/sparql", headers={"accept": "image/png"}), 406, "not-acceptable")
    assert body["available"] == ["text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml"]


def test_a_blank_query_parameter_is_still_no_query(client: TestClient) -> None:
    problem(client.get("/sparql", params={"query": ""}), 400, "sparql-missing")
    assert client.get("/sparql", params={"format": "json"}).headers["content-type"].startswith("text/turtle")


def test_json_ld_graphs_are_expanded_with_no_context_to_fetch(client: TestClient) -> None:
    query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s a <https://w3id.org/guideline-reasoner/core#Code> ; ?p ?o } LIMIT 20"
    r = post(client, query, "application/ld+json")
    assert r.status_code == 200 and isinstance(r.json(), list) and "@context" not in r.text
    assert len(Graph().parse(data=r.content, format="json-ld")) == 20


def test_a_failure_while_running_a_valid_query_is_never_the_clients_fault(client: TestClient) -> None:
    """rdflib 7.6 raises instead of leaving the sort key unbound (SPARQL 1.1 section 15.1): the endpoint's
    fault, answered 500 sparql-failed, not 400. Once rdflib sorts it, the query simply answers."""
    r = post(client, "SELECT ?o WHERE { ?s ?p ?o } ORDER BY (?o + 1) LIMIT 3")
    if r.status_code != 200:
        body = problem(r, 500, "sparql-failed")
        assert "the query itself was valid" in str(body["detail"]) and "?o" not in str(body["detail"])
