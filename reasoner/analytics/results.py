"""Pyoxigraph's query results written in the SPARQL endpoint's formats (reasoner/sparql/formats.py), capped."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.term import Node

from reasoner.sparql import formats
from reasoner.sparql.formats import Unrepresentable
from reasoner.sparql.vetting import QueryForm

Result = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples


def term(t: object) -> Node:
    """A pyoxigraph term as rdflib's (an RDF-star triple term has no place in these formats)."""
    if isinstance(t, ox.NamedNode):
        return URIRef(t.value)
    if isinstance(t, ox.BlankNode):
        return BNode(t.value)
    if isinstance(t, ox.Literal):
        if t.language:
            return Literal(t.value, lang=t.language, normalize=False)
        # Oxigraph's lexical form as it is: rdflib would otherwise rewrite "…Z" as "…+00:00"
        return Literal(t.value, datatype=URIRef(t.datatype.value), normalize=False)
    raise TypeError(f"not a term the result formats carry: {type(t).__name__}")


def write(result: Result, form: QueryForm, media_types: Sequence[str], max_rows: int) -> tuple[str, bytes, bool]:
    """The result, at most ``max_rows`` rows or triples of it, in the first of ``media_types`` that carries it.

    Returns the media type, the body and whether rows were left out.

    Raises:
        Unrepresentable: none of the media types can carry it (the last one's reason).
    """
    truncated = False
    if isinstance(result, ox.QueryBoolean):
        answer = bool(result)
        return _first(media_types, lambda m: formats.write_ask(answer, m), truncated)
    if isinstance(result, ox.QueryTriples):
        graph = Graph()
        for triple in result:
            if len(graph) >= max_rows:
                truncated = True
                break
            graph.add((term(triple.subject), term(triple.predicate), term(triple.object)))
        return _first(media_types, lambda m: formats.write_graph(graph, m), truncated)
    variables = [Variable(v.value) for v in result.variables]
    rows: list[dict[Variable, Node | None]] = []
    for solution in result:
        if len(rows) >= max_rows:
            truncated = True
            break
        rows.append({v: None if solution[str(v)] is None else term(solution[str(v)]) for v in variables})
    return _first(media_types, lambda m: formats.write_select(variables, rows, m), truncated)


def _first(media_types: Sequence[str], write: Callable[[str], bytes], truncated: bool) -> tuple[str, bytes, bool]:
    failure: Unrepresentable | None = None
    for media_type in media_types:
        try:
            return media_type, write(media_type), truncated
        except Unrepresentable as exc:
            failure = exc
    assert failure is not None
    raise failure
