"""The knowledge base's closure by owlrl (reasoner/knowledge/closure.py): what it entails and what it drops."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal, Namespace
from rdflib.term import Node

from reasoner.knowledge import owl_rl
from reasoner.knowledge.closure import close_knowledge_base

EX = Namespace("urn:x:")


def _graph() -> Graph:
    g = Graph()
    g.add((EX.Lumbar, RDF.type, OWL.Class))
    g.add((EX.Lumbar, RDFS.subClassOf, EX.Radiculopathy))
    g.add((EX.Radiculopathy, RDFS.subClassOf, EX.Disorder))
    g.add((EX.denotes, RDFS.domain, EX.Code))
    g.add((EX.Code, RDFS.subClassOf, EX.Concept))
    g.add((EX.m5416, EX.denotes, EX.Lumbar))
    g.add((EX.m5416, EX.order, Literal(3)))
    g.add((EX.x, RDF.type, EX.Lumbar))
    return g


def test_subclasses_domains_and_types_are_closed() -> None:
    closed = close_knowledge_base(_graph())
    assert (EX.Lumbar, RDFS.subClassOf, EX.Disorder) in closed  # transitive
    assert (EX.Lumbar, RDFS.subClassOf, EX.Lumbar) in closed  # an OWL class is a subclass of itself
    assert (EX.m5416, RDF.type, EX.Concept) in closed  # domain, then its superclass
    assert {(EX.x, RDF.type, c) for c in (EX.Radiculopathy, EX.Disorder)} <= set(closed)


def test_what_nothing_reads_is_dropped() -> None:
    closed = close_knowledge_base(_graph())
    assert not list(closed.triples((None, RDF.type, RDFS.Resource)))
    assert not list(closed.triples((None, RDF.type, OWL.Thing)))
    assert not list(closed.triples((None, RDF.type, RDF.Property)))
    assert not [t for t in closed if str(t[0]).startswith(str(RDFS))]  # nothing about the vocabularies
    assert list(closed.objects(EX.m5416, EX.order)) == [Literal(3)]  # a literal is never written twice
    assert len(_graph()) < len(closed)


def test_the_input_is_not_modified() -> None:
    g = _graph()
    before = set(g)
    close_knowledge_base(g)
    assert set(g) == before


def test_the_number_caps_hold_after_owlrl_ran() -> None:
    """owlrl puts rdflib's own literal converters back when it ends; the closure binds the checking ones again."""
    from reasoner.intake.limits import untrusted_input

    close_knowledge_base(_graph())
    with untrusted_input():
        huge = Literal("9" * 4000, datatype=XSD.integer)
    assert huge.ill_typed and huge.value is None


def test_a_closure_is_remembered_in_the_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next process closes the same schema from the cache folder; what cannot be read is closed again."""
    monkeypatch.setenv("GR_CACHE_DIR", str(tmp_path))
    calls: list[int] = []

    def close(given: frozenset[tuple[Node, Node, Node]]) -> frozenset[tuple[Node, Node, Node]]:
        calls.append(len(given))
        return frozenset({*given, (EX.closed, RDF.type, EX.Marker)})

    given = frozenset(_graph())
    first = owl_rl.remembered(given, close)
    monkeypatch.setattr(owl_rl, "_REMEMBERED", {})  # another process
    assert owl_rl.remembered(given, close) == first and len(calls) == 1
    (kept,) = (tmp_path / "closures").iterdir()
    kept.write_bytes(b"not a pickle")
    monkeypatch.setattr(owl_rl, "_REMEMBERED", {})
    assert owl_rl.remembered(given, close) == first and len(calls) == 2
    other = given | {(EX.y, RDF.type, EX.Lumbar)}  # other triples, another entry
    monkeypatch.setattr(owl_rl, "_REMEMBERED", {})
    assert (EX.y, RDF.type, EX.Lumbar) in owl_rl.remembered(other, close) and len(calls) == 3
