"""Lint of disjoint classes (reasoner/knowledge/disjointness.py), beyond its fixture."""

from __future__ import annotations

from rdflib import OWL, RDF, RDFS, Graph, Namespace

from reasoner.knowledge.disjointness import disjointness_problems

EX = Namespace("https://example.org/kb#")


def _graph() -> Graph:
    g = Graph()
    g.add((EX.Injection, RDF.type, OWL.Class))
    g.add((EX.Denervation, RDF.type, OWL.Class))
    g.add((EX.Injection, OWL.disjointWith, EX.Denervation))
    return g


def test_disjoint_classes_alone_are_no_finding() -> None:
    assert disjointness_problems(_graph()) == []
    assert disjointness_problems(Graph()) == []


def test_a_resource_typed_with_both_is_inconsistent() -> None:
    g = _graph()
    g.add((EX.Facet, RDFS.subClassOf, EX.Injection))
    g.add((EX.thing, RDF.type, EX.Facet))
    g.add((EX.thing, RDF.type, EX.Denervation))
    ((term, message),) = disjointness_problems(g)
    assert term == EX.thing
    assert message == (
        "thing is inconsistent: it is a Injection and a Denervation, which are declared disjoint "
        "(Injection owl:disjointWith Denervation)"
    )


def test_a_subclass_of_nothing_is_unsatisfiable() -> None:
    g = _graph()
    g.add((EX.Never, RDFS.subClassOf, OWL.Nothing))
    ((term, message),) = disjointness_problems(g)
    assert term == EX.Never and message.endswith("no resource can be one (unsatisfiable)")


def test_a_resource_of_owl_nothing_is_inconsistent() -> None:
    g = Graph()
    g.add((EX.Impossible, RDFS.subClassOf, OWL.Nothing))
    g.add((EX.thing, RDF.type, EX.Impossible))
    g.add((EX.other, RDF.type, OWL.Nothing))
    problems = dict(disjointness_problems(g))
    assert "unsatisfiable" in problems[EX.Impossible]
    assert problems[EX.thing] == "thing is inconsistent: it is an owl:Nothing (through Impossible)"
    assert problems[EX.other] == "other is inconsistent: it is an owl:Nothing (as stated)"


def test_all_disjoint_classes_is_read_pair_by_pair() -> None:
    g = Graph().parse(
        data="""
        PREFIX ex: <https://example.org/kb#>
        PREFIX owl: <http://www.w3.org/2002/07/owl#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        [] a owl:AllDisjointClasses ; owl:members ( ex:Injection ex:Denervation ex:Fusion ) .
        ex:Hybrid rdfs:subClassOf ex:Fusion, ex:Injection .
        ex:Facet rdfs:subClassOf ex:Injection .
        """,
        format="turtle",
    )
    ((term, message),) = disjointness_problems(g)
    assert term == EX.Hybrid
    assert "Hybrid < Fusion and Hybrid < Injection" in message
    assert "owl:AllDisjointClasses ( Denervation Fusion Injection )" in message
