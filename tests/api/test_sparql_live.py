"""The SPARQL endpoint of a real uvicorn server, queried with SPARQLWrapper (a real SPARQL client)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SKOS
from SPARQLWrapper import JSON, POST, POSTDIRECTLY, TURTLE, XML, SPARQLWrapper

from ..conftest import ROOT

GR = "https://w3id.org/guideline-reasoner/core#"
CPT = "https://w3id.org/guideline-reasoner/code/cpt/"
PREFIXES = """PREFIX gr: <https://w3id.org/guideline-reasoner/core#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
CODES = PREFIXES + "SELECT ?code ?n WHERE { ?code a gr:Code ; skos:notation ?n } ORDER BY ?n"
NOT_COVERED = (
    PREFIXES + "SELECT ?n WHERE { ?rule gr:code ?code ; gr:coverageStatus gr:NotCovered . ?code skos:notation ?n }"
)
START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/health", timeout=2) as r:  # noqa: S310 - loopback only
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A uvicorn process on a free loopback port, stopped when the module's tests are done."""
    port = _free_port()
    log = tmp_path_factory.mktemp("uvicorn") / "server.log"
    env = {**os.environ, "GR_KB_DIR": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "api.main:app_factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(base):
            if process.poll() is not None:
                pytest.fail(f"uvicorn exited with {process.returncode}:\n{_tail(log)}")
            if time.monotonic() > deadline:
                pytest.fail(f"uvicorn did not answer /health within {START_TIMEOUT_S:g} s:\n{_tail(log)}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def client(server: str, query: str, fmt: str, method: str | None = None) -> SPARQLWrapper:
    sparql = SPARQLWrapper(server + "/sparql")
    sparql.setQuery(query)
    sparql.setReturnFormat(fmt)
    sparql.setTimeout(30)
    if method == "post":
        sparql.setMethod(POST)
    elif method == "post-directly":
        sparql.setMethod(POST)
        sparql.setRequestMethod(POSTDIRECTLY)
    return sparql


@pytest.mark.parametrize("method", [None, "post", "post-directly"])
def test_select_json(server: str, method: str | None) -> None:
    result = client(server, CODES, JSON, method).query()
    assert result.info()["content-type"].startswith("application/sparql-results+json")
    data = result.convert()
    assert isinstance(data, dict)
    assert data["head"]["vars"] == ["code", "n"]
    notations = [b["n"]["value"] for b in data["results"]["bindings"]]
    assert {"64772", "64625", "27096", "27279", "27280", "G0260"} <= set(notations)
    assert notations == sorted(notations)
    row = next(b for b in data["results"]["bindings"] if b["n"]["value"] == "64772")
    assert row["code"] == {"type": "uri", "value": CPT + "64772"}


def test_select_xml(server: str) -> None:
    result = client(server, NOT_COVERED, XML).query()
    assert result.info()["content-type"].startswith("application/sparql-results+xml")
    document = result.convert()
    literals = [node.firstChild.data for node in document.getElementsByTagName("literal")]  # type: ignore[union-attr]
    assert sorted(literals) == ["64492", "64495", "64772"]


def test_ask(server: str) -> None:
    yes = client(server, PREFIXES + 'ASK { ?c skos:notation "64772" ; a gr:Code }', JSON).query().convert()
    no = client(server, PREFIXES + 'ASK { ?c skos:notation "00000" }', JSON).query().convert()
    assert isinstance(yes, dict) and isinstance(no, dict)
    assert (yes["boolean"], no["boolean"]) == (True, False)
    xml_answer = client(server, PREFIXES + "ASK { ?c a gr:Threshold }", XML).query().convert()
    assert xml_answer.getElementsByTagName("boolean")[0].firstChild.data == "true"  # type: ignore[union-attr]


def test_construct_into_an_rdflib_graph(server: str) -> None:
    query = PREFIXES + (
        "CONSTRUCT { ?code skos:notation ?n ; gr:denotes ?class } "
        "WHERE { ?code a gr:Code ; skos:notation ?n ; gr:denotes ?class }"
    )
    result = client(server, query, TURTLE).query()
    assert result.info()["content-type"].startswith("text/turtle")
    body = result.convert()
    assert isinstance(body, bytes)
    graph = Graph().parse(data=body, format="turtle")
    code = URIRef(CPT + "64772")
    assert (code, SKOS.notation, Literal("64772")) in graph
    assert (
        code,
        URIRef(GR + "denotes"),
        URIRef("https://w3id.org/guideline-reasoner/procedure#ExtraduralSpinalNerveTransection"),
    ) in graph
    assert len(set(graph.subjects(SKOS.notation, None))) == len(set(graph.subjects(URIRef(GR + "denotes"), None)))


def test_refusals_reach_the_client_as_400(server: str) -> None:
    from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

    refused = (
        "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
        "SELECT * FROM <http://127.0.0.1:9/data.ttl> WHERE { ?s ?p ?o }",
        "SELECT * WHERE { ?s ?p }",
    )
    for query in refused:
        with pytest.raises(QueryBadFormed):
            client(server, query, JSON).query()
