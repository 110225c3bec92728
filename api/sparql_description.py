"""The SPARQL 1.1 Service Description that ``GET /sparql`` without a query answers with.

It says where the endpoint is (``sd:endpoint``, the URL the request came to), that it speaks
SPARQL 1.1 Query only (``sd:supportedLanguage sd:SPARQL11Query``; no Update), every format it
writes (``sd:resultFormat``, the W3C's format IRIs), and its default dataset: one default graph,
the knowledge base (ontology with its RDFS closure, and the SHACL shapes), with its triple count
and content hash; no named graphs. It states no ``sd:feature``: none of the five the
recommendation defines holds here (no SERVICE, so no ``sd:BasicFederatedQuery``; FROM is refused,
so no ``sd:DereferencesURIs``; the default graph is not a union of named graphs; a dataset is not
required; no updates, so no ``sd:EmptyGraphs``). Built with rdflib in the server process: no query
is parsed for it.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

from fastapi import Request
from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, XSD

from reasoner import KnowledgeBase
from reasoner.sparql.formats import FORMAT_IRIS, GRAPH_TYPES, RDFLIB_GRAPH_FORMATS, TABLE_TYPES, TURTLE

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = Namespace("http://rdfs.org/ns/void#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")
OFFERED: list[str] = [TURTLE, *(t for t in GRAPH_TYPES if t != TURTLE)]  # Turtle first, as Fuseki

_TRIPLES: dict[str, int] = {}  # by knowledge base hash


def endpoint_url(request: Request) -> str:
    """The absolute URL the request came to, without its query, as a valid IRI whatever the Host header holds."""
    url = request.url
    return f"{url.scheme}://{quote(url.netloc, safe=':@[]')}{quote(url.path, safe='/')}"


def triples(kb: KnowledgeBase) -> int:
    """How many triples the endpoint's default graph holds: the ontology and the shapes, merged."""
    if kb.content_hash not in _TRIPLES:
        _TRIPLES[kb.content_hash] = len(kb.ontology) + sum(1 for t in kb.shapes if t not in kb.ontology)
    return _TRIPLES[kb.content_hash]


@lru_cache(maxsize=64)
def describe(endpoint: str, kb_hash: str, size: int, max_rows: int, timeout_s: float, media_type: str) -> bytes:
    """The service description in ``media_type``, one of ``OFFERED``."""
    graph = Graph()
    for prefix, namespace in (("sd", SD), ("void", VOID), ("formats", FORMATS), ("dcterms", DCTERMS)):
        graph.bind(prefix, namespace)
    service, dataset, default = BNode("service"), BNode("dataset"), BNode("knowledgeBase")
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, URIRef(endpoint)))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    for media in (*TABLE_TYPES, *GRAPH_TYPES):
        graph.add((service, SD.resultFormat, URIRef(FORMAT_IRIS[media])))
    graph.add((service, DCTERMS.title, Literal("guideline-reasoner knowledge base (SPARQL 1.1 Query, read-only)")))
    graph.add(
        (
            service,
            DCTERMS.description,
            Literal(
                "Read-only: SELECT, ASK, CONSTRUCT and DESCRIBE queries over the knowledge base; SPARQL Update"
                " is refused (403), and so are SERVICE, FROM, FROM NAMED and the default-graph-uri and"
                f" named-graph-uri parameters (400). At most {max_rows} rows or triples per result"
                f" (X-Result-Truncated: true beyond); {timeout_s:g} s per request from its arrival."
            ),
        )
    )
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    graph.add((default, DCTERMS.title, Literal("The knowledge base")))
    graph.add(
        (
            default,
            DCTERMS.description,
            Literal(
                "The guideline ontology with its RDFS closure, and the SHACL shapes; never a patient case."
                " The endpoint has no named graphs."
            ),
        )
    )
    graph.add((default, DCTERMS.identifier, Literal(kb_hash)))
    graph.add((default, VOID.triples, Literal(size, datatype=XSD.integer)))
    return graph.serialize(format=RDFLIB_GRAPH_FORMATS[media_type], encoding="utf-8")
