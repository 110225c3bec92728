"""The pyshacl adapter: results as typed values, shape recursion refused, SHACL-for-SHACL."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, URIRef

from reasoner import KnowledgeBaseError, ValidationError
from reasoner.shacl import _pyshacl, shacl_syntax
from reasoner.shacl.prepared import PreparedShapes, check_shapes_graph
from reasoner.shacl.shacl_syntax import canonical_digest

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


TREES = b"""
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
ex:S a sh:NodeShape ; sh:targetClass ex:Item ;
    sh:property [ sh:path ( ex:a [ sh:inversePath ex:b ] ) ; sh:minCount 1 ] ,
    [ sh:path ( ex:c [ sh:inversePath ex:b ] ) ; sh:in ( 1 2 2 ) ] .
"""


def test_the_canonical_digest_tells_graphs_apart_but_not_their_blank_node_labels() -> None:
    one, two = Graph().parse(data=TREES, format="turtle"), Graph().parse(data=TREES, format="turtle")
    assert set(one) != set(two)  # new blank node labels at every parse
    assert canonical_digest(one) == canonical_digest(two) is not None
    for old, new in ((b"ex:c", b"ex:a"), (b"( 1 2 2 )", b"( 2 1 2 )"), (b"ex:b ] ) ;", b"ex:c ] ) ;")):
        changed = Graph().parse(data=TREES.replace(old, new), format="turtle")
        assert canonical_digest(changed) not in (None, canonical_digest(one)), new
    # Blank nodes that are not trees (shared, or in a cycle) give no digest: nothing is remembered.
    prefix = b"@prefix ex: <http://example.org/> . "
    assert canonical_digest(Graph().parse(data=prefix + b"_:x ex:p ex:o . ex:a ex:q _:x . ex:b ex:q _:x .")) is None
    assert canonical_digest(Graph().parse(data=prefix + b"_:x ex:p _:y . _:y ex:p _:x .")) is None


def test_a_pass_of_shacl_for_shacl_is_remembered_and_a_failure_is_not(tmp_path: Path) -> None:
    calls: list[Graph] = []
    real = _pyshacl.validate_graph

    def counted(data: Graph, *args: object, **kwargs: object) -> object:
        calls.append(data)
        return real(data, *args, **kwargs)  # type: ignore[arg-type]

    good = TREES.replace(b"ex:Item", b"ex:RememberedItem")  # a graph no other test has checked
    bad = good.replace(b"sh:minCount 1", b'sh:minCount "x"')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GR_CACHE_DIR", str(tmp_path))
        mp.setattr(_pyshacl, "validate_graph", counted)
        check_shapes_graph(Graph().parse(data=good, format="turtle"))
        check_shapes_graph(Graph().parse(data=good, format="turtle"))  # the same but for labels
        assert len(calls) == 1
        for attempt in (2, 3):
            with pytest.raises(KnowledgeBaseError, match="not valid SHACL"):
                check_shapes_graph(Graph().parse(data=bad, format="turtle"))
            assert len(calls) == attempt
        # Another process (this one, forgetting) finds the pass in the cache folder; only the pass is there.
        (kept,) = (tmp_path / "shacl-for-shacl").iterdir()
        assert kept.read_text() == shacl_syntax.PASSED
        mp.setattr(shacl_syntax, "_CONFORMING", {})
        check_shapes_graph(Graph().parse(data=good, format="turtle"))
        assert len(calls) == 3
        # What the folder holds is read, not trusted by its name: anything but a pass is checked again.
        mp.setattr(shacl_syntax, "_CONFORMING", {})
        kept.write_text("garbled")
        check_shapes_graph(Graph().parse(data=good, format="turtle"))
        assert len(calls) == 4 and kept.read_text() == shacl_syntax.PASSED
