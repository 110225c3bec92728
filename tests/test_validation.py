"""The pyshacl adapter: results as typed values, shape recursion refused, SHACL-for-SHACL."""

from __future__ import annotations

import pytest
from rdflib import Graph, URIRef

from reasoner import KnowledgeBaseError, ValidationError
from reasoner.shacl.prepared import PreparedShapes, check_shapes_graph

SHAPES = b"""
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:S a sh:NodeShape ; sh:targetClass ex:Item ; sh:property ex:S-v, ex:S-next .
ex:S-v a sh:PropertyShape ; sh:path ex:v ; sh:datatype xsd:integer .
ex:S-next a sh:PropertyShape ; sh:path ex:next ; sh:node ex:S .
"""


def _chain(bad_at: int, length: int = 5) -> Graph:
    lines = ["@prefix ex: <http://example.org/> ."]
    lines.append("ex:n0 a ex:Item .")
    for i in range(length):
        value = '"bad"' if i == bad_at else "1"
        lines.append(f"ex:n{i} ex:v {value} ; ex:next ex:n{i + 1} .")
    return Graph().parse(data="\n".join(lines).encode(), format="turtle")


def test_results_are_read_from_the_report() -> None:
    flat = SHAPES.replace(b", ex:S-next .", b" .")
    shapes = PreparedShapes(Graph().parse(data=flat, format="turtle"))
    results = shapes.validate(_chain(bad_at=0), frozenset({URIRef("http://example.org/S")}))
    assert [(str(r.source_shape), str(r.focus), str(r.value)) for r in results] == [
        ("http://example.org/S-v", "http://example.org/n0", "bad")
    ]


def test_shape_recursion_is_an_error_not_a_pass() -> None:
    shapes = PreparedShapes(Graph().parse(data=SHAPES, format="turtle"))
    with pytest.raises(ValidationError, match="recursed"):
        shapes.validate(_chain(bad_at=3), frozenset({URIRef("http://example.org/S")}))


def test_unknown_root_shape() -> None:
    shapes = PreparedShapes(Graph().parse(data=SHAPES, format="turtle"))
    with pytest.raises(ValidationError, match="unknown shape"):
        shapes.validate(Graph(), frozenset({URIRef("http://example.org/Nope")}))


def test_shacl_for_shacl_refuses_bad_shapes() -> None:
    bad = Graph().parse(
        data=b"@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> ."
        b' ex:P a sh:PropertyShape ; sh:path ex:p ; sh:minCount "x" .',
        format="turtle",
    )
    with pytest.raises(KnowledgeBaseError, match="not valid SHACL"):
        check_shapes_graph(bad)
