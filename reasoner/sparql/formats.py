"""How the SPARQL endpoint writes what a query gives: result tables, booleans and graphs.

The four SPARQL 1.1 result formats are written here, not by rdflib, whose writers are wrong
where the W3C formats are exact: its XML writer fails on an unbound value (which the formats
say is simply left out of the result), it has no TSV writer, and its CSV writer refuses an ASK.

* ``application/sparql-results+json`` (SPARQL 1.1 Query Results JSON Format) and
  ``application/sparql-results+xml`` (SPARQL Query Results XML Format): an unbound variable has
  no binding in its result.
* ``text/csv`` and ``text/tab-separated-values`` (SPARQL 1.1 Query Results CSV and TSV
  Formats): CSV gives plain strings (IRIs bare, blank nodes ``_:label``) with CRLF line ends;
  TSV gives each term in Turtle syntax under a header of ``?var`` names; an unbound value is an
  empty field. The W3C formats define SELECT only; an ASK is written as Apache Jena (Fuseki)
  writes it, a ``_askResult`` column (``?_askResult`` in TSV) holding ``true`` or ``false``.

Graphs (CONSTRUCT, DESCRIBE) go through rdflib's Turtle, N-Triples, JSON-LD (expanded form:
no context, so none is ever fetched) and RDF/XML serialisers; its Turtle writes a number bare
only when that is its lexical form (rdflib's own writes ``"3"^^xsd:decimal`` as ``3.0``, another
term). A result that a format cannot
carry (a character XML 1.0 forbids, a predicate RDF/XML cannot write as an element name, an IRI
that is not one) raises ``Unrepresentable``: the endpoint then tries the client's next
acceptable format, and answers 406 when none is left. It never sends a broken document.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from xml.sax.saxutils import escape as xml_escape

from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.namespace import XSD
from rdflib.term import Node

from reasoner._rdf.turtle_writer import turtle_bytes

JSON = "application/sparql-results+json"
XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
TURTLE = "text/turtle"
JSON_LD = "application/ld+json"
N_TRIPLES = "application/n-triples"
RDF_XML = "application/rdf+xml"

# In the server's order of preference: the first is the default when the request has no Accept.
TABLE_TYPES: tuple[str, ...] = (JSON, XML, CSV, TSV)
GRAPH_TYPES: tuple[str, ...] = (TURTLE, JSON_LD, N_TRIPLES, RDF_XML)
RDFLIB_GRAPH_FORMATS = {TURTLE: "turtle", JSON_LD: "json-ld", N_TRIPLES: "nt", RDF_XML: "xml"}
# The W3C's IRIs for these formats (http://www.w3.org/ns/formats/), for the service description.
FORMAT_IRIS = {
    JSON: "http://www.w3.org/ns/formats/SPARQL_Results_JSON",
    XML: "http://www.w3.org/ns/formats/SPARQL_Results_XML",
    CSV: "http://www.w3.org/ns/formats/SPARQL_Results_CSV",
    TSV: "http://www.w3.org/ns/formats/SPARQL_Results_TSV",
    TURTLE: "http://www.w3.org/ns/formats/Turtle",
    JSON_LD: "http://www.w3.org/ns/formats/JSON-LD",
    N_TRIPLES: "http://www.w3.org/ns/formats/N-Triples",
    RDF_XML: "http://www.w3.org/ns/formats/RDF_XML",
}

RESULTS_NS = "http://www.w3.org/2005/sparql-results#"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # outside XML 1.0's Char
_NOT_IN_IRIREF = re.compile('[\x00-\x20<>"{}|^`\\\\]')  # what Turtle's IRIREF excludes
_BNODE_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")
_TURTLE_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_BARE = {  # datatypes Turtle writes without quotes, with the lexical forms it accepts bare
    XSD.integer: re.compile(r"[+-]?[0-9]+"),
    XSD.decimal: re.compile(r"[+-]?[0-9]*\.[0-9]+"),
    XSD.double: re.compile(r"[+-]?(?:[0-9]+\.[0-9]*[eE][+-]?[0-9]+|\.[0-9]+[eE][+-]?[0-9]+|[0-9]+[eE][+-]?[0-9]+)"),
    XSD.boolean: re.compile(r"true|false"),
}

Row = Mapping[Variable, Node | None]


class Unrepresentable(Exception):
    """This result cannot be written in this format; the reason names what stands in the way."""

    def __init__(self, media_type: str, reason: str) -> None:
        super().__init__(f"{media_type}: {reason}")
        self.media_type, self.reason = media_type, reason


def write_select(variables: Sequence[Variable], rows: Iterable[Row], media_type: str) -> bytes:
    """A SELECT result (its projected variables and rows) in ``media_type``, one of ``TABLE_TYPES``.

    Raises:
        Unrepresentable: the result holds something the format cannot carry.
    """
    names = [str(v) for v in variables]
    table = [[row.get(v) for v in variables] for row in rows]
    if media_type == JSON:
        bindings = [{n: _json_term(t) for n, t in zip(names, terms, strict=True) if t is not None} for terms in table]
        return _json(media_type, {"head": {"vars": names}, "results": {"bindings": bindings}})
    if media_type == XML:
        head = "".join(f'<variable name="{_xml_attr(n)}"/>' for n in names)
        results = "".join(
            "<result>"
            + "".join(
                f'<binding name="{_xml_attr(n)}">{_xml_term(t)}</binding>'
                for n, t in zip(names, terms, strict=True)
                if t is not None
            )
            + "</result>"
            for terms in table
        )
        return _xml(media_type, f"<head>{head}</head><results>{results}</results>")
    if media_type == CSV:
        return _csv(media_type, [names, *([_csv_term(t) for t in terms] for terms in table)])
    if media_type == TSV:
        lines = ["\t".join("?" + n for n in names), *("\t".join(_tsv_term(t) for t in terms) for terms in table)]
        return _encode(media_type, "".join(line + "\n" for line in lines))
    raise ValueError(f"not a result table format: {media_type}")


def write_ask(answer: bool, media_type: str) -> bytes:
    """An ASK result in ``media_type``, one of ``TABLE_TYPES``."""
    word = "true" if answer else "false"
    if media_type == JSON:
        return _json(media_type, {"head": {}, "boolean": answer})
    if media_type == XML:
        return _xml(media_type, f"<head/><boolean>{word}</boolean>")
    if media_type == CSV:
        return _csv(media_type, [["_askResult"], [word]])
    if media_type == TSV:
        return f"?_askResult\n{word}\n".encode()
    raise ValueError(f"not a result table format: {media_type}")


def write_graph(graph: Graph, media_type: str) -> bytes:
    """A graph in ``media_type``, one of ``GRAPH_TYPES``.

    Raises:
        Unrepresentable: the graph holds something the format cannot carry.
    """
    fmt = RDFLIB_GRAPH_FORMATS[media_type]
    terms = {term for triple in graph for term in triple}
    if fmt in ("turtle", "nt") and any(isinstance(t, URIRef) and _NOT_IN_IRIREF.search(t) for t in terms):
        raise Unrepresentable(media_type, "it holds an IRI with a character no IRI may contain")
    if fmt == "xml":
        if any(isinstance(t, str) and _NOT_XML.search(t) for t in terms):  # every term of a graph is a str
            raise Unrepresentable(media_type, "it holds a character that XML 1.0 cannot carry")
        try:
            return graph.serialize(format=fmt, encoding="utf-8")
        except ValueError:  # rdflib: a predicate with no XML qualified name ("Can't split ...")
            raise Unrepresentable(media_type, "a predicate IRI cannot be written as an RDF/XML element name") from None
    if fmt == "turtle":
        return _encoded(media_type, lambda: _turtle(graph))
    return _encoded(media_type, lambda: graph.serialize(format=fmt, encoding="utf-8"))


def _turtle(graph: Graph) -> bytes:
    """Rdflib's Turtle, but a number or boolean is written bare only in its own lexical form."""
    return turtle_bytes(graph, _BARE)


# --- terms ----------------------------------------------------------------------------------------


def _bnode_label(term: BNode) -> str:
    """The node's label where it is a valid Turtle label; else a stable one derived from it."""
    label = str(term)
    if _BNODE_LABEL.fullmatch(label):
        return label
    return "b" + hashlib.sha256(label.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _json_term(term: Node) -> dict[str, str]:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": _bnode_label(term)}
    if isinstance(term, Literal):
        out = {"type": "literal", "value": str(term)}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype is not None:
            out["datatype"] = str(term.datatype)
        return out
    raise TypeError(f"not an RDF term: {type(term).__name__}")


def _xml_text(value: str) -> str:
    return xml_escape(value, {"\r": "&#13;"})  # a bare CR would be read back as a line feed


def _xml_attr(value: str) -> str:
    return xml_escape(value, {'"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"})


def _xml_term(term: Node) -> str:
    if isinstance(term, URIRef):
        return f"<uri>{_xml_text(term)}</uri>"
    if isinstance(term, BNode):
        return f"<bnode>{_bnode_label(term)}</bnode>"
    if isinstance(term, Literal):
        if term.language:
            attribute = f' xml:lang="{_xml_attr(term.language)}"'
        elif term.datatype is not None:
            attribute = f' datatype="{_xml_attr(term.datatype)}"'
        else:
            attribute = ""
        return f"<literal{attribute}>{_xml_text(term)}</literal>"
    raise TypeError(f"not an RDF term: {type(term).__name__}")


def _csv_term(term: Node | None) -> str:
    if term is None:
        return ""
    if isinstance(term, BNode):
        return "_:" + _bnode_label(term)
    if isinstance(term, URIRef | Literal):
        return str(term)
    raise TypeError(f"not an RDF term: {type(term).__name__}")


def _tsv_iri(value: str) -> str:
    return "<" + _NOT_IN_IRIREF.sub(lambda m: f"\\u{ord(m.group()):04X}", value) + ">"


def _tsv_term(term: Node | None) -> str:
    if term is None:
        return ""
    if isinstance(term, URIRef):
        return _tsv_iri(term)
    if isinstance(term, BNode):
        return "_:" + _bnode_label(term)
    if isinstance(term, Literal):
        lexical = str(term)
        quoted = '"' + lexical.translate(_TURTLE_ESCAPES) + '"'
        if term.language:
            return f"{quoted}@{term.language}"
        if term.datatype is None or term.datatype == XSD.string:
            return quoted
        bare = _BARE.get(term.datatype)
        if bare is not None and bare.fullmatch(lexical):
            return lexical
        return f"{quoted}^^{_tsv_iri(term.datatype)}"
    raise TypeError(f"not an RDF term: {type(term).__name__}")


# --- documents ------------------------------------------------------------------------------------


def _encode(media_type: str, text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from a \uD800 escape in the query
        raise Unrepresentable(media_type, "it holds a lone surrogate code point, which UTF-8 cannot carry") from None


def _encoded(media_type: str, write: Callable[[], bytes]) -> bytes:
    try:
        return write()
    except UnicodeEncodeError:
        raise Unrepresentable(media_type, "it holds a lone surrogate code point, which UTF-8 cannot carry") from None


def _json(media_type: str, document: object) -> bytes:
    return _encode(media_type, json.dumps(document, ensure_ascii=False, separators=(",", ":")))


def _xml(media_type: str, body: str) -> bytes:
    if _NOT_XML.search(body):
        raise Unrepresentable(media_type, "it holds a character that XML 1.0 cannot carry")
    return _encode(
        media_type, f'<?xml version="1.0" encoding="utf-8"?>\n<sparql xmlns="{RESULTS_NS}">{body}</sparql>\n'
    )


def _csv(media_type: str, rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return _encode(media_type, out.getvalue())


def first_of(media_types: Sequence[str], write: Callable[[str], bytes], truncated: bool) -> tuple[str, bytes, bool]:
    """The first of ``media_types`` that ``write`` can write, with what it wrote and ``truncated``.

    Raises:
        Unrepresentable: none can (the last one's reason).
    """
    failure: Unrepresentable | None = None
    for media_type in media_types:
        try:
            return media_type, write(media_type), truncated
        except Unrepresentable as exc:
            failure = exc
    assert failure is not None
    raise failure
