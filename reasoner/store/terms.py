"""The determination store's RDF terms, and values written into the text of its SPARQL."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import pyoxigraph as ox
from rdflib import BNode, Literal, Namespace, URIRef
from rdflib.term import Node

from reasoner.vocab import BASE

#: What the store says of a determination besides its RDF form.
ST = Namespace(BASE + "store#")
PROV = "http://www.w3.org/ns/prov#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
JSON_DT = "http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON"
DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
NTRIPLES = "application/n-triples"
TRUE = ox.Literal("true", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean"))
PREFIXES = f"PREFIX st: <{ST}>\nPREFIX prov: <{PROV}>\n"


def sha256(text: str) -> str:
    """The digest the store keeps of a determination's JSON form."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def literal(text: str) -> str:
    """``text`` as a SPARQL string literal (a value never becomes query text)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def when(at: datetime) -> ox.Literal:
    """A time as an xsd:dateTime literal in UTC (its str() is its SPARQL form)."""
    return ox.Literal(at.astimezone(UTC).isoformat(), datatype=ox.NamedNode(DATETIME))


def st_iri(name: str) -> ox.NamedNode:
    """A term of the store's own vocabulary (``st:``)."""
    return ox.NamedNode(str(ST) + name)


@functools.lru_cache(maxsize=4096)
def iri(text: str) -> ox.NamedNode:
    """An IRI; each made once (a determination's predicates and classes repeat)."""
    return ox.NamedNode(text)


def term_literal(text: str, datatype: str | None) -> ox.Literal:
    """A literal of ``datatype`` (an IRI; None: a plain string)."""
    return ox.Literal(text, datatype=iri(datatype)) if datatype else ox.Literal(text)


def _ox(t: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(t, URIRef):
        return iri(t)
    if isinstance(t, BNode):
        return ox.BlankNode(str(t))
    if isinstance(t, Literal):
        if t.language:
            return ox.Literal(str(t), language=t.language)
        return ox.Literal(str(t), datatype=ox.NamedNode(str(t.datatype))) if t.datatype else ox.Literal(str(t))
    raise TypeError(f"not an RDF term: {t!r}")


def ntriples(g: Iterable[tuple[Node, Node, Node]]) -> str:
    """A graph as N-Triples text (what the store keeps of a case)."""
    return "".join(f"{_ox(s)} {_ox(p)} {_ox(o)} .\n" for s, p, o in g)


def rows_of(solutions: Iterator[ox.QuerySolution], names: list[str]) -> list[dict[str, str]]:
    """Pyoxigraph's solutions as rows of strings (for backends built on pyoxigraph)."""
    out = []
    for solution in solutions:
        row = {}
        for name in names:
            value = solution[name]
            if value is not None:
                row[name] = value.value
        out.append(row)
    return out
