"""Pyoxigraph's query results written in the SPARQL endpoint's formats (reasoner/sparql/formats.py), capped."""

from __future__ import annotations

from collections.abc import Sequence

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.term import Node

from reasoner.sparql import formats
from reasoner.sparql.vetting import QueryForm

Result = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples | list[ox.Quad]
"""A query's result as pyoxigraph gives it (a remote store's graph result: its triples, as quads)."""


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
        return formats.first_of(media_types, lambda m: formats.write_ask(answer, m), truncated)
    if not isinstance(result, ox.QuerySolutions):  # a graph: pyoxigraph's triples, or a remote store's as quads
        graph = Graph()
        for triple in result:
            if len(graph) >= max_rows:
                truncated = True
                break
            graph.add((term(triple.subject), term(triple.predicate), term(triple.object)))
        return formats.first_of(media_types, lambda m: formats.write_graph(graph, m), truncated)
    variables = [Variable(v.value) for v in result.variables]
    rows: list[dict[Variable, Node | None]] = []
    for solution in result:
        if len(rows) >= max_rows:
            truncated = True
            break
        rows.append({v: None if solution[str(v)] is None else term(solution[str(v)]) for v in variables})
    return formats.first_of(media_types, lambda m: formats.write_select(variables, rows, m), truncated)
