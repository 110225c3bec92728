"""The SPARQL endpoint of a real ``guideline-reasoner serve``, queried with SPARQLWrapper, unmodified.

SPARQLWrapper is the client most Python informaticists use; its defaults are the test: SPARQL XML
for SELECT and ASK (``application/sparql-results+xml``), RDF/XML for CONSTRUCT and DESCRIBE
(``application/rdf+xml``), a GET. Every bundled query in queries/ runs in its default format and
in JSON, XML, CSV and TSV, and its answer, read as SPARQLWrapper hands it over, is the query's
answer in this process; a CONSTRUCT and a DESCRIBE come back in every graph format and are read
back with rdflib; then ASK, the service description, a syntax error with its line and column,
and updates sent both ways SPARQLWrapper sends them. One server for the module.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import SKOS
from rdflib.query import Result
from SPARQLWrapper import CSV, JSON, JSONLD, N3, POST, POSTDIRECTLY, RDFXML, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from reasoner import KnowledgeBase
from reasoner.sparql.worker import queryable

from ..conftest import ROOT
from ..server_process import ServerProcess
from .test_sparql_formats import GRAPHS, QUERIES, SD, csv_text, direct, key, unordered

GR = "https://w3id.org/guideline-reasoner/core#"
CPT = "https://w3id.org/guideline-reasoner/code/cpt/"
PREFIXES = """PREFIX gr: <https://w3id.org/guideline-reasoner/core#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
CODES = PREFIXES + "SELECT ?code ?n WHERE { ?code a gr:Code ; skos:notation ?n } ORDER BY ?n"
CONSTRUCT = PREFIXES + (
    "CONSTRUCT { ?code skos:notation ?n ; gr:denotes ?class }"
    " WHERE { ?code a gr:Code ; skos:notation ?n ; gr:denotes ?class }"
)
DESCRIBE = PREFIXES + "DESCRIBE ?t WHERE { ?t a gr:Threshold }"  # compared up to blank node labels
DEFAULT = "default"  # SPARQLWrapper's own format: XML (SPARQL XML results; RDF/XML for graphs)
TABLE_FORMATS = [DEFAULT, JSON, XML, CSV, TSV]
TABLE_TYPES = {
    DEFAULT: "application/sparql-results+xml",
    XML: "application/sparql-results+xml",
    JSON: "application/sparql-results+json",
    CSV: "text/csv",
    TSV: "text/tab-separated-values",
}
# SPARQLWrapper's format -> the media type the endpoint answers with (N3 asks for Turtle first).
GRAPH_FORMATS = {
    DEFAULT: "application/rdf+xml",
    RDFXML: "application/rdf+xml",
    TURTLE: "text/turtle",
    N3: "text/turtle",
    JSONLD: "application/ld+json",
    "n-triples": "application/n-triples",  # no SPARQLWrapper constant: sent as its Accept header
}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    """``guideline-reasoner serve`` on a free port, with a deadline no test query comes near on a busy machine."""
    process = ServerProcess("--kb", str(ROOT), env={"GR_SPARQL_TIMEOUT_S": "60"})
    try:
        process.wait_ready()
        yield process
    finally:
        process.close()


@pytest.fixture(scope="module")
def kb_graph(kb: KnowledgeBase) -> Graph:
    return queryable(kb)


def client(server: ServerProcess, query: str, fmt: str = DEFAULT, method: str | None = None) -> SPARQLWrapper:
    sparql = SPARQLWrapper(server.base + "/sparql")
    sparql.setQuery(query)
    if fmt == "n-triples":
        sparql.setReturnFormat(N3)
        sparql.addCustomHttpHeader("Accept", "application/n-triples")
    elif fmt != DEFAULT:
        sparql.setReturnFormat(fmt)
    sparql.setTimeout(60)
    if method in ("post", "post-directly"):
        sparql.setMethod(POST)
    if method == "post-directly":
        sparql.setRequestMethod(POSTDIRECTLY)
    return sparql


def run(sparql: SPARQLWrapper) -> tuple[str, Any]:
    """The response's media type and what SPARQLWrapper converts it to, with no warning from SPARQLWrapper."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # SPARQLWrapper's warning for a format it did not expect
        # rdflib's deprecation, raised inside SPARQLWrapper's conversion to a graph
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        result = sparql.query()
        return result.info()["content-type"].split(";")[0], result.convert()


def rows_from(fmt: str, converted: Any) -> tuple[list[str], list[tuple[object, ...]]]:
    """Variables and comparable rows from what SPARQLWrapper returned."""
    if fmt == JSON:
        names = converted["head"]["vars"]
        data = json.dumps(converted).encode()
        parsed = Result.parse(io.BytesIO(data), format="json")
    elif fmt in (DEFAULT, XML):
        parsed = Result.parse(io.BytesIO(converted.toxml("utf-8")), format="xml")  # a minidom Document
        names = [str(v) for v in parsed.vars or []]
    elif fmt == TSV:
        parsed = Result.parse(io.BytesIO(converted), format="tsv")
        names = [str(v) for v in parsed.vars or []]
    else:
        table = list(csv.reader(io.StringIO(converted.decode("utf-8"), newline="")))
        cells = [tuple("_:b" if c.startswith("_:") else unordered(c) for c in line) for line in table[1:]]
        return table[0], cells
    variables = parsed.vars or []
    return names, [tuple(key(b.get(v)) for v in variables) for b in parsed.bindings]


# --- every bundled query, every result format ---------------------------------------------------


@pytest.mark.parametrize("fmt", TABLE_FORMATS)
@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.name)
def test_every_bundled_query_in_every_format(server: ServerProcess, kb_graph: Graph, path: Path, fmt: str) -> None:
    text = path.read_text(encoding="utf-8")
    media, converted = run(client(server, text, fmt))
    assert media == TABLE_TYPES[fmt]
    names, got = rows_from(fmt, converted)
    expected_names, rows = direct(kb_graph, text)
    assert names == expected_names and rows
    if fmt == CSV:
        assert sorted(got) == sorted(tuple(csv_text(t) for t in row) for row in rows)
    else:
        assert sorted(got, key=repr) == sorted((tuple(key(t) for t in row) for row in rows), key=repr)


@pytest.mark.parametrize("method", [None, "post", "post-directly"])
def test_each_way_of_sending_a_query(server: ServerProcess, method: str | None) -> None:
    media, document = run(client(server, CODES, DEFAULT, method))
    assert media == "application/sparql-results+xml"
    literals = [node.firstChild.data for node in document.getElementsByTagName("literal")]
    assert {"64772", "64625", "27096", "27279", "27280", "G0260"} <= set(literals)
    assert literals == sorted(literals)
    _, data = run(client(server, CODES, JSON, method))
    row = next(b for b in data["results"]["bindings"] if b["n"]["value"] == "64772")
    assert row["code"] == {"type": "uri", "value": CPT + "64772"}


@pytest.mark.parametrize("fmt", TABLE_FORMATS)
def test_ask_in_every_format(server: ServerProcess, fmt: str) -> None:
    answers = []
    for query in (
        PREFIXES + 'ASK { ?c skos:notation "64772" ; a gr:Code }',
        PREFIXES + 'ASK { ?c skos:notation "00000" }',
    ):
        media, converted = run(client(server, query, fmt))
        assert media == TABLE_TYPES[fmt]
        if fmt == JSON:
            answers.append(converted["boolean"])
        elif fmt in (DEFAULT, XML):
            answers.append(converted.getElementsByTagName("boolean")[0].firstChild.data == "true")
        else:  # CSV and TSV: Apache Jena's form
            header, value = converted.decode().split()
            assert header == ("?_askResult" if fmt == TSV else "_askResult")
            answers.append(value == "true")
    assert answers == [True, False]


# --- graphs -----------------------------------------------------------------------------------------


def _graph(media: str, converted: Any) -> Graph:
    if isinstance(converted, Graph):  # RDF/XML and JSON-LD: SPARQLWrapper parsed it into a ConjunctiveGraph
        graph = Graph()
        for triple in converted.triples((None, None, None)):
            graph.add(triple)
        return graph
    assert isinstance(converted, bytes)
    return Graph().parse(data=converted, format=GRAPHS[media])


@pytest.mark.parametrize("fmt", list(GRAPH_FORMATS))
@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE], ids=["construct", "describe"])
def test_construct_and_describe_in_every_graph_format(
    server: ServerProcess, kb_graph: Graph, query: str, fmt: str
) -> None:
    media, converted = run(client(server, query, fmt))
    assert media == GRAPH_FORMATS[fmt]
    graph = _graph(media, converted)
    expected = kb_graph.query(query).graph
    assert expected is not None and len(expected) > 10
    assert isomorphic(graph, expected), f"{len(graph)} triples, {len(expected)} expected"
    if query is CONSTRUCT:
        code = URIRef(CPT + "64772")
        assert (code, SKOS.notation, Literal("64772")) in graph
        assert (code, URIRef(GR + "denotes"), None) in graph


# --- the service description, errors, updates -----------------------------------------------------------


def test_the_service_description_names_this_endpoint(server: ServerProcess) -> None:
    request = urllib.request.Request(server.base + "/sparql", headers={"Accept": "text/turtle"})
    with urllib.request.urlopen(request, timeout=60) as r:  # noqa: S310 - loopback only
        assert r.headers["content-type"].startswith("text/turtle")
        sd = Graph().parse(data=r.read(), format="turtle")
    (service,) = sd.subjects(SD.endpoint, URIRef(server.base + "/sparql"))
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in sd


def test_a_syntax_error_reaches_the_client_with_its_line_and_column(server: ServerProcess) -> None:
    query = PREFIXES + "SELECT ?code WHERE {\n  ?code a gr:Code ;\n    skos:notation\n} # canary-in-the-query"
    with pytest.raises(QueryBadFormed) as caught:
        client(server, query, JSON).query()
    body = ast.literal_eval(str(caught.value).split("Response:\n", 1)[1].strip())  # SPARQLWrapper shows the bytes
    problem = json.loads(body)
    assert (problem["line"], problem["column"]) == (5, 5)
    assert "syntax error at line 5, column 5, near 'skos:notation'" in problem["detail"]
    assert "canary-in-the-query" not in str(caught.value)
    assert "canary-in-the-query" not in server.output()  # nor in the server's log


def test_refusals_reach_the_client_as_400(server: ServerProcess) -> None:
    refused = (
        "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
        "SELECT * FROM <http://127.0.0.1:9/data.ttl> WHERE { ?s ?p ?o }",
    )
    for query in refused:
        with pytest.raises(QueryBadFormed):
            client(server, query, JSON).query()


@pytest.mark.parametrize("method", ["post", "post-directly", None], ids=["update-field", "sparql-update", "default"])
def test_an_update_is_refused_as_read_only(server: ServerProcess, method: str | None) -> None:
    """SPARQLWrapper sends an update as the form field ``update`` or an application/sparql-update body, by POST."""
    sparql = client(server, "PREFIX x: <urn:x:> INSERT DATA { x:a x:b x:c }", JSON, method)
    assert sparql.isSparqlUpdateRequest()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "update operations MUST be done by POST": it POSTs all the same
        with pytest.raises(urllib.error.HTTPError) as caught:
            sparql.query()
    assert caught.value.code == 403
    problem = json.loads(caught.value.read())
    assert problem["code"] == "sparql-update-refused" and "read-only" in problem["detail"]
    _, still = run(client(server, PREFIXES + "ASK { <urn:x:a> ?p ?o }", JSON))
    assert still["boolean"] is False
