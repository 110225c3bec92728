"""The values a case leaves unstated: the marks the compiled evaluator reads as unknown, and ``as_stated``.

``mark_unstated`` writes ``gr:unstated``, ``gr:possibleType`` and the possible statements that
follow from them (a step possibly completed, a finding possibly addressed); ``as_stated`` is the
case without them. Part of the enrich stage (reasoner/enrich/stage.py calls it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import RDF, BNode, Graph, URIRef
from rdflib.term import Node

from reasoner.enrich.access import Adder, Objects, subjects_reader
from reasoner.enrich.sites import fact_levels
from reasoner.knowledge.classes import possible_classes_of
from reasoner.vocab import CV, GR

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase
    from reasoner.knowledge.entities import Step

_TYPE = RDF.type


def mark_unstated(g: Graph, objs: Objects, add: Adder, kb: KnowledgeBase, steps: tuple[Step, ...]) -> None:
    """Mark the values a case leaves unstated, and the classes a fact may have because of them.

    ``gr:unstated``: a property expected on a kind of fact (``gr:expectedOn``) without a value on
    a fact of that kind, and a derived property (``gr:derivedFrom``) whose input is unstated.
    ``gr:possibleType``: a class a fact would have for some value of its unstated purpose or pain
    character (every class a pain character indicates: more than may be, never less, so an
    unknown is never taken for a no). The compiled evaluator reads both (reasoner/shacl/compiled.py).
    """
    unstated: dict[Node, set[Node]] = {}
    subjects = subjects_reader(g)
    for kind, expected in kb.expected_on_kind.items():
        for fact in subjects(_TYPE, kind):
            for prop in expected:
                if objs(fact, prop):
                    continue
                if prop == CV.purpose and kb.purposes_of((), objs(fact, CV.injectate)):
                    continue  # the injectate says it
                unstated.setdefault(fact, set()).add(prop)
    for fact, _p in tuple(g.subject_objects(GR.unstated)):  # written earlier (a region or side not known)
        unstated.setdefault(fact, set()).add(_p)
    changed = bool(unstated)
    while changed:  # a derived value expected on the fact, derived from an unstated one (or from a derived one)
        changed = False
        for prop, inputs, kinds in kb.derived_expected:
            for fact, props in unstated.items():
                if prop in props or not props & inputs or objs(fact, prop):
                    continue
                if not kinds.isdisjoint(objs(fact, _TYPE)):
                    props.add(prop)
                    changed = True
    possible_types: dict[Node, set[URIRef]] = {}
    for fact, props in unstated.items():
        for missing in props:
            add((fact, GR.unstated, missing))
        possible = possible_types[fact] = set()
        if CV.purpose in props:
            for p in kb.classifying:
                for term in objs(fact, p):
                    if isinstance(term, URIRef):
                        possible |= possible_classes_of(kb, term)
        if CV.painCharacter in props:
            possible |= kb.indicated_anywhere
        possible.difference_update(objs(fact, _TYPE))
        for cls in possible:
            add((fact, GR.possibleType, cls))
        if possible:
            for cause in props & {CV.purpose, CV.painCharacter}:
                add((fact, GR.uncertainBecause, cause))
    _possibly_addressed(g, objs, add, kb, possible_types)
    _possibly_completed(objs, add, steps, possible_types)


def _possibly_completed(
    objs: Objects, add: Adder, steps: tuple[Step, ...], possible_types: dict[Node, set[URIRef]]
) -> None:
    """A pathway step that a fact does under a possible type of it: a possible statement."""
    for fact, possible in possible_types.items():
        if not possible:
            continue
        done = set(objs(fact, GR.completesStep))
        for step in steps:
            if step.iri not in done and not step.procedure_classes.isdisjoint(possible):
                statement = BNode()
                add((statement, _TYPE, GR.PossibleStatement))
                add((statement, GR.possibleSubject, fact))
                add((statement, GR.possiblePredicate, GR.completesStep))
                add((statement, GR.possibleObject, step.iri))


def _possibly_addressed(
    g: Graph, objs: Objects, add: Adder, kb: KnowledgeBase, possible_types: dict[Node, set[URIRef]]
) -> None:
    """A finding not addressed for certain, that a procedure of a possible type would address: unstated."""
    candidates = [(f, t) for f, types in possible_types.items() for t in types if t in kb.addressing]
    if not candidates:
        return
    for finding in tuple(g.subjects(_TYPE, GR.PainGeneratorFinding)):
        if objs(finding, GR.addressed):
            continue
        by = frozenset().union(*(kb.addressed_by.get(t, frozenset()) for t in objs(finding, _TYPE)))
        levels = fact_levels(objs, finding)
        for proc, t in candidates:
            if t in by and (not levels or not fact_levels(objs, proc) or levels & fact_levels(objs, proc)):
                add((finding, GR.unstated, GR.addressed))
                break


def as_stated(graph: Graph) -> Graph:
    """A copy of an enriched case without the marks of what it leaves unstated (an rdflib default store).

    Read two-valued, this is one completion of the case: every unstated value absent, no possible
    type or statement held (nor the gaps they hang on). A constraint the three-valued evaluation
    decides is decided the same way here; one it leaves unknown can go either way
    (tests/test_shacl_engine.py checks both).
    """
    statements = set(graph.subjects(_TYPE, GR.PossibleStatement)) | set(graph.objects(None, GR.hangsOn))
    out = Graph()
    for s, p, o in graph:
        if p not in (GR.unstated, GR.possibleType, GR.hangsOn) and s not in statements:
            out.add((s, p, o))
    return out
