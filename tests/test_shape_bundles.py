"""Root shapes kept in groups (reasoner/shacl/shape_bundles.py): a revived validator reads only the groups it uses."""

from __future__ import annotations

from rdflib import Graph, URIRef

from reasoner._rdf import pickled
from reasoner.shacl.prepared import PreparedShapes

EX = "http://example.org/"
SHAPES = b"""
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:A a sh:NodeShape ; sh:targetClass ex:Item ; sh:property ex:A-v ; sh:node ex:Shared .
ex:A-v a sh:PropertyShape ; sh:path ( ex:v ex:w ) ; sh:datatype xsd:integer .
ex:B a sh:NodeShape ; sh:targetClass ex:Other ; sh:property ex:B-v .
ex:B-v a sh:PropertyShape ; sh:path ex:v ; sh:minCount 1 .
ex:Shared a sh:NodeShape ; sh:property ex:Shared-label .
ex:Shared-label a sh:PropertyShape ; sh:path ex:label ; sh:maxCount 1 .
ex:Loose a sh:NodeShape ; sh:property [ sh:path ex:v ; sh:maxCount 2 ] .
"""
DATA = b"""
@prefix ex: <http://example.org/> .
ex:i a ex:Item ; ex:v [ ex:w "x" ] ; ex:label "a", "b" .
ex:o a ex:Other .
"""


def _revived(groups: dict[URIRef, str]) -> tuple[PreparedShapes, PreparedShapes]:
    shapes = Graph().parse(data=SHAPES, format="turtle")
    prepared = PreparedShapes(shapes, groups)
    return prepared, pickled.loads(pickled.dumps(prepared))  # type: ignore[return-value]


def test_a_revived_validator_reads_a_root_from_its_group_alone() -> None:
    groups = {URIRef(EX + "A"): "a", URIRef(EX + "B"): "b"}
    prepared, revived = _revived(groups)
    data = Graph().parse(data=DATA, format="turtle")
    for root in groups:
        assert revived.validate(data, frozenset({root})) == prepared.validate(data, frozenset({root}))
        assert revived.validate(data, frozenset({root}))  # each root finds something
    assert not revived.deferred_shapes.loaded
    # What a shape is made of is read from the group holding it: A's property shape and the shape A names.
    for node in ("A-v", "Shared"):
        assert revived.outline(URIRef(EX + node)) == prepared.outline(URIRef(EX + node))
        assert revived.compiled(URIRef(EX + node)) is not None
    assert not revived.deferred_shapes.loaded


def test_a_shape_no_group_holds_is_read_from_the_whole_graph() -> None:
    prepared, revived = _revived({URIRef(EX + "A"): "a"})
    assert revived.compiled(URIRef(EX + "Loose")) is not None and revived.deferred_shapes.loaded
    assert revived.compiled(URIRef(EX + "Nothing")) is None and prepared.compiled(URIRef(EX + "Nothing")) is None
