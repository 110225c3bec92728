"""SHACL-for-SHACL remembered shape by shape (reasoner/shacl/shacl_syntax.py): the same answers as a whole check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import OWL, RDF, Graph, URIRef
from rdflib.term import Node

from reasoner.knowledge.files import KnowledgeFiles, parsed
from reasoner.shacl import shacl_syntax
from reasoner.shacl.prepared import shacl_for_shacl

ROOT = Path(__file__).resolve().parent.parent
PREFIXES = b"""
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
"""
GOOD = (
    PREFIXES
    + b"""
ex:A a sh:NodeShape ; sh:targetClass ex:Item ; sh:property ex:A-p ; sh:node ex:B .
ex:A-p a sh:PropertyShape ; sh:path ( ex:p [ sh:inversePath ex:q ] ) ; sh:minCount 1 ; sh:in ( 1 2 ) .
ex:B a sh:NodeShape ; sh:or ( [ sh:class ex:C ] [ sh:class ex:D ] ) ; sh:message "B"@en .
ex:Loose sh:property ex:A-p .
<http://example.org/> a owl:Ontology ; sh:declare [ sh:prefix "ex" ; sh:namespace "http://example.org/" ] .
"""
)


class Spy:
    """Runs SHACL-for-SHACL and keeps each graph it was given."""

    def __init__(self) -> None:
        self.graphs: list[Graph] = []

    def __call__(self, graph: Graph) -> list[tuple[Node, str]]:
        self.graphs.append(graph)
        return shacl_for_shacl(graph)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GR_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(shacl_syntax, "_CONFORMING", {})
    yield tmp_path


def _graph(data: bytes) -> Graph:
    return Graph().parse(data=data, format="turtle")


def _named(graph: Graph) -> set[str]:
    """The local names of the IRI subjects of ``graph``."""
    return {str(s).rsplit("/", 1)[-1] for s in graph.subjects() if isinstance(s, URIRef)}


def test_islands_hold_each_subject_with_its_blank_nodes() -> None:
    graph = _graph(GOOD)
    found = {str(root): island for root, island in shacl_syntax.islands(graph)}
    assert sorted(found) == [f"http://example.org/{n}" for n in ("", "A", "A-p", "B", "Loose")]
    assert sum(len(g) for g in found.values()) == len(graph)
    assert len(found["http://example.org/A-p"]) == 4 + 4 + 1 + 4  # its own, the path list and its step, sh:in's list


def test_a_pass_is_remembered_for_typed_shapes_and_an_edit_is_checked_alone(cache: Path) -> None:
    spy = Spy()
    assert shacl_syntax.checked(_graph(GOOD), spy, purpose="test") == []
    assert len(spy.graphs) == 1
    assert len(list((cache / "shacl-for-shacl").iterdir())) == 4  # A, A-p, B, and ex:Loose, a target by sh:property
    # The same shapes parsed again (other blank node labels): nothing is checked again.
    assert shacl_syntax.checked(_graph(GOOD), spy, purpose="test") == []
    assert len(spy.graphs) == 1
    # An edit of one shape: that shape is checked, with the shapes it names.
    edited = GOOD.replace(b"ex:A a sh:NodeShape ;", b'ex:A a sh:NodeShape ; sh:message "Edited"@en ;')
    assert shacl_syntax.checked(_graph(edited), spy, purpose="test") == []
    assert len(spy.graphs) == 2 and _named(spy.graphs[-1]) == {"A", "A-p", "B"}
    assert len(list((cache / "shacl-for-shacl").iterdir())) == 5  # the edited A's pass too
    # Another purpose (other pyshacl options) remembers its own passes.
    before = len(spy.graphs)
    shacl_syntax.checked(_graph(GOOD), spy, purpose="other")
    assert len(spy.graphs) == before + 1 and _named(spy.graphs[-1]) == {"A", "A-p", "B", "Loose"}  # not the header


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"sh:minCount 1", b'sh:minCount "many"'),  # in a remembered shape's island
        (b"ex:Loose sh:property ex:A-p .", b"ex:Loose sh:property ex:A-p ; sh:maxCount -1 ."),  # untyped
        (b'sh:message "B"@en', b'sh:message "B"@en ; sh:severity "high"'),  # named by sh:node from A
        (b"sh:path ( ex:p [ sh:inversePath ex:q ] )", b"sh:path ( ex:p [ sh:inversePath 7 ] )"),  # a path's blank node
        (
            b"ex:Loose sh:property ex:A-p .",
            b'ex:Loose sh:property ex:A-p . ex:Other ex:p [ sh:minCount "x" ] .',
        ),  # below
    ],
)
def test_after_an_edit_the_findings_are_the_whole_checks(cache: Path, old: bytes, new: bytes) -> None:
    spy = Spy()
    assert shacl_syntax.checked(_graph(GOOD), spy, purpose="test") == []
    bad = _graph(GOOD.replace(old, new))
    whole = shacl_for_shacl(bad)
    assert whole, new  # the edit is a SHACL error
    found = shacl_syntax.checked(bad, spy, purpose="test")
    assert [(str(f), m) for f, m in found if not str(f).startswith("N")] == [
        (str(f), m) for f, m in whole if not str(f).startswith("N")
    ]
    assert len(found) == len(whole)
    # A failure is not remembered: the same edit is checked again.
    calls = len(spy.graphs)
    assert shacl_syntax.checked(_graph(GOOD.replace(old, new)), spy, purpose="test")
    assert len(spy.graphs) > calls


def test_the_bundled_shapes_checked_shape_by_shape_agree_with_a_whole_check(cache: Path) -> None:
    """Every typed shape of the bundled knowledge base passes alone, as the whole graph does."""
    shapes = Graph()
    for rel, data in KnowledgeFiles.read(ROOT).shapes:
        if not rel.startswith("shapes/meta/"):
            shapes += parsed(data)
    spy = Spy()
    assert shacl_syntax.checked(shapes, spy, purpose="test") == []  # nothing remembered: one check
    headers = {s for s in shapes.subjects(RDF.type, OWL.Ontology)}
    assert len(spy.graphs) == 1 and set(spy.graphs[0]) == {t for t in shapes if t[0] not in headers}
    assert len(list((cache / "shacl-for-shacl").iterdir())) > 300  # a pass for each typed shape
    assert shacl_syntax.checked(shapes, spy, purpose="test") == []
    assert len(spy.graphs) == 1  # every island that SHACL-for-SHACL reads is known to pass


def test_a_check_takes_the_passes_of_a_stricter_one(cache: Path) -> None:
    """The load's check (warnings allowed) takes lint's passes; lint does not take the load's."""
    spy = Spy()
    assert shacl_syntax.checked(_graph(GOOD), spy, purpose="load") == []
    assert shacl_syntax.checked(_graph(GOOD), spy, purpose="lint") == []
    assert len(spy.graphs) == 2 and _named(spy.graphs[-1]) == {"A", "A-p", "B", "Loose"}
    edited = _graph(GOOD.replace(b'sh:message "B"@en', b'sh:message "Linted"@en'))
    assert shacl_syntax.checked(edited, spy, purpose="lint") == []
    assert shacl_syntax.checked(edited, spy, purpose="load", accepts=("lint",)) == []
    assert len(spy.graphs) == 3  # B: lint's pass serves; the rest, the load's own


def test_the_cache_folder_keeps_the_newest_passes(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shacl_syntax, "KEEP_ON_DISK", 2)
    assert shacl_syntax.checked(_graph(GOOD), Spy(), purpose="test") == []  # four passes written
    assert len(list((cache / "shacl-for-shacl").iterdir())) == 2


def test_a_shape_typed_by_a_subclass_of_node_shape_is_checked(cache: Path) -> None:
    """The subclass axiom is an island SHACL-for-SHACL validates nothing of, yet class targets read it."""
    data = PREFIXES + b'ex:MyShape rdfs:subClassOf sh:NodeShape .\nex:S a ex:MyShape ; sh:severity "high" .\n'
    whole = shacl_for_shacl(_graph(data))
    assert whole
    assert [str(f) for f, _m in shacl_syntax.checked(_graph(data), Spy(), purpose="test")] == [
        str(f) for f, _m in whole
    ]


def test_a_value_only_an_object_target_reaches_is_checked(cache: Path) -> None:
    """``sh:shapesGraph`` names no shape: SHACL-for-SHACL validates its object, not its subject."""
    data = PREFIXES + b'ex:G sh:shapesGraph "not an IRI" .\n'
    whole = shacl_for_shacl(_graph(data))
    assert whole
    assert shacl_syntax.checked(_graph(data), Spy(), purpose="test") == whole


def test_an_iri_named_list_is_checked_with_the_shape_that_names_it(cache: Path) -> None:
    """An edit to the list alone: the shape whose ``sh:or`` reads it, remembered, is checked again."""
    good = PREFIXES + b"ex:S a sh:NodeShape ; sh:or ex:L .\nex:L rdf:first [ sh:class ex:A ] ; rdf:rest rdf:nil .\n"
    assert shacl_syntax.checked(_graph(good), Spy(), purpose="test") == []
    bad = _graph(good.replace(b"rdf:rest rdf:nil", b"rdf:rest ex:Bad"))
    whole = shacl_for_shacl(bad)
    assert whole
    assert shacl_syntax.checked(bad, Spy(), purpose="test") == whole


@pytest.mark.parametrize(
    ("good", "bad"),
    [
        # An island a remembered shape names is deleted.
        (
            b"ex:S a sh:NodeShape ; sh:property ex:P .\nex:P sh:path ex:p .\n",
            b"ex:S a sh:NodeShape ; sh:property ex:P .\n",
        ),
        (
            b"ex:S a sh:NodeShape ; sh:or ex:L .\nex:L rdf:first [ sh:class ex:A ] ; rdf:rest rdf:nil .\n",
            b"ex:S a sh:NodeShape ; sh:or ex:L .\n",
        ),
        # A node SHACL-for-SHACL reaches only by a path from a remembered shape is edited.
        (
            b"ex:S a sh:NodeShape ; sh:in ex:L .\nex:L rdf:first 1 ; rdf:rest rdf:nil .\n",
            b"ex:S a sh:NodeShape ; sh:in ex:L .\nex:L rdf:first 1 ; rdf:rest ex:Nowhere .\n",
        ),
        (
            b"ex:S a sh:NodeShape ; sh:or ( ex:M [ sh:class ex:D ] ) .\nex:M sh:severity sh:Warning .\n",
            b'ex:S a sh:NodeShape ; sh:or ( ex:M [ sh:class ex:D ] ) .\nex:M sh:severity "high" .\n',
        ),
        (
            b"ex:S a sh:PropertyShape ; sh:path [ sh:alternativePath ex:Alt ] .\n"
            b"ex:Alt rdf:first ex:p ; rdf:rest ( ex:q ) .\n",
            b"ex:S a sh:PropertyShape ; sh:path [ sh:alternativePath ex:Alt ] .\n"
            b"ex:Alt rdf:first ex:p ; rdf:rest rdf:nil .\n",
        ),
        # A shape reached through a list cell, itself a target, is edited: checked with what reaches it.
        (
            b"ex:X a sh:NodeShape ; sh:or ex:L .\nex:L rdf:first ex:B ; rdf:rest rdf:nil .\n"
            b"ex:B a sh:NodeShape ; sh:class ex:A .\n",
            b"ex:X a sh:NodeShape ; sh:or ex:L .\nex:L rdf:first ex:B ; rdf:rest rdf:nil .\n"
            b'ex:B a sh:NodeShape ; sh:class ex:A ; sh:path ex:p ; sh:minCount "x" .\n',
        ),
        # A subclass axiom elsewhere makes a remembered shape's blank node a class.
        (
            b"ex:S a sh:NodeShape ; sh:property [ a sh:PropertyShape , ex:Meta ; sh:path ex:p ] .\n",
            b"ex:S a sh:NodeShape ; sh:property [ a sh:PropertyShape , ex:Meta ; sh:path ex:p ] .\n"
            b"ex:Meta rdfs:subClassOf rdfs:Class .\n",
        ),
    ],
)
def test_a_pass_goes_stale_when_anything_its_check_read_changes(cache: Path, good: bytes, bad: bytes) -> None:
    """A shape's pass reads the islands it reaches and the subclass axioms: a change there is checked again."""
    assert shacl_syntax.checked(_graph(PREFIXES + good), Spy(), purpose="test") == []
    whole = shacl_for_shacl(_graph(PREFIXES + bad))
    assert whole, bad  # the edit is a SHACL error
    found = shacl_syntax.checked(_graph(PREFIXES + bad), Spy(), purpose="test")
    assert sorted(str(f) for f, _m in found if isinstance(f, URIRef)) == sorted(
        str(f) for f, _m in whole if isinstance(f, URIRef)
    )
    assert len(found) == len(whole)


def test_results_name_nodes_with_the_graphs_prefixes(cache: Path) -> None:
    """A check of some islands words its messages as a check of the whole graph does."""
    data = PREFIXES + b"ex:P a sh:PropertyShape ; sh:minCount 1 .\n"
    whole = shacl_for_shacl(_graph(data))
    assert whole and "ex:P" in whole[0][1]
    assert shacl_syntax.checked(_graph(data), Spy(), purpose="test") == whole


def test_a_cycle_of_blank_nodes_under_no_island_is_checked_beside_shared_ones(cache: Path) -> None:
    """Blank nodes two islands share are counted once: a cycle under no island is not hidden by them."""
    data = PREFIXES + (
        b"ex:P a sh:PropertyShape ; sh:path ex:p ; sh:minCount 1 .\n"
        b"ex:S a sh:NodeShape ; sh:property _:b .\nex:T a sh:NodeShape ; sh:property _:b .\n"
        b"_:b sh:path ex:q ; sh:minCount 1 ; sh:maxCount 2 .\n"
        b"_:x sh:node ex:P ; sh:not _:y .\n_:y sh:not _:x .\n"
    )
    whole = shacl_for_shacl(_graph(data))
    assert whole
    found = shacl_syntax.checked(_graph(data), Spy(), purpose="test")
    assert sorted(str(f) for f, _m in found) == sorted(str(f) for f, _m in whole)


def test_a_shape_others_name_is_checked_alone_with_them_and_their_passes_stand(cache: Path) -> None:
    """Editing a named shape re-checks it with its namers; their own passes are not made stale by it."""
    spy = Spy()
    assert shacl_syntax.checked(_graph(GOOD), spy, purpose="test") == []
    written = set((cache / "shacl-for-shacl").iterdir())
    edited = GOOD.replace(b'sh:message "B"@en', b'sh:message "Edited"@en')
    assert shacl_syntax.checked(_graph(edited), spy, purpose="test") == []
    assert _named(spy.graphs[-1]) == {"A", "A-p", "B"}  # B, with A that names it and what A names
    assert len(set((cache / "shacl-for-shacl").iterdir()) - written) == 1  # only B's pass is new
