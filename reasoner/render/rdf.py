"""A determination as RDF, with PROV-O provenance.

The graph says which knowledge base version and policy the determination was generated from,
and which case facts each criterion result rests on. It carries no timestamp, so it is as
reproducible as the JSON form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from rdflib import PROV, RDF, XSD, Graph, Literal, URIRef

from reasoner.model import UNJUDGED, Determination, Status
from reasoner.vocab import BASE, GR, KB

_STATUS = {Status.MET: GR.Met, Status.NOT_MET: GR.NotMet, Status.UNKNOWN: GR.Unknown}

IriT = TypeVar("IriT")  # a term for an IRI
LitT = TypeVar("LitT")  # a term for a literal
_BOOLEAN = str(XSD.boolean)


def _literal(text: str, datatype: str | None) -> Literal:
    return Literal(text, datatype=URIRef(datatype) if datatype else None)


def determination_graph(d: Determination) -> Graph:
    """The determination as an RDF graph (serialise it as Turtle or JSON-LD)."""
    g = Graph()
    g.bind("gr", str(GR.Determination).rsplit("#", 1)[0] + "#")
    g.bind("prov", PROV)
    g.bind("grk", KB)
    for triple in determination_triples(d):
        g.add(triple)
    return g


def determination_iri(ident: str) -> URIRef:
    """The IRI of a determination (and, in the store, of the named graph that holds it)."""
    return URIRef(f"{BASE}determination/{ident}")


def determination_triples(d: Determination) -> Iterator[tuple[URIRef, URIRef, URIRef | Literal]]:
    """The triples of :func:`determination_graph`, without building a graph."""
    return determination_terms(d, URIRef, _literal)


def determination_terms(
    d: Determination,
    iri: Callable[[str], IriT],
    literal: Callable[[str, str | None], LitT],
    *,
    case_facts: bool = True,
) -> Iterator[tuple[IriT, IriT, IriT | LitT]]:
    """The triples of :func:`determination_graph`, each term made by ``iri`` or ``literal`` (text, datatype IRI).

    ``case_facts=False`` leaves out what quotes the case (each criterion's finding and the facts
    it rests on): what the store shows an analyst. The store passes pyoxigraph's constructors.
    """
    here = str(determination_iri(d.determinationId))
    det, activity = iri(here), iri(f"{here}#activity")
    kb_version = iri(f"{BASE}kb-version/{d.knowledgeBase.removeprefix('sha256:')}")
    policy = iri(KB[d.policy.id])
    a, outcome, derived, used = iri(RDF.type), iri(GR.outcome), iri(PROV.wasDerivedFrom), iri(PROV.used)
    yield det, a, iri(GR.Determination)
    yield det, outcome, literal(d.outcome.value, None)
    yield det, iri(PROV.wasGeneratedBy), activity
    yield det, derived, kb_version
    yield activity, a, iri(PROV.Activity)
    yield activity, used, kb_version
    if d.policy.id != UNJUDGED:  # a PAS request kept for a reviewer, no policy applied
        yield det, derived, policy
        yield activity, used, policy
    yield kb_version, a, iri(GR.KnowledgeBaseVersion)
    yield kb_version, iri(GR.contentHash), literal(d.knowledgeBase, None)
    result_of, criterion_result = iri(GR.criterionResult), iri(GR.CriterionResult)
    criterion, status, finding, advisory = iri(GR.criterion), iri(GR.status), iri(GR.finding), iri(GR.advisory)
    for i, c in enumerate(d.criteria, start=1):
        result = iri(f"{here}#criterion-{i}")
        yield det, result_of, result
        yield result, a, criterion_result
        yield result, criterion, iri(KB[c.id])
        yield result, status, iri(_STATUS[c.status])
        if case_facts:
            yield result, finding, literal(c.finding, None)
        yield result, advisory, literal("true" if c.advisory else "false", _BOOLEAN)
        if c.verification is not None:
            yield result, iri(GR.verification), iri(f"{BASE}core#Verification{c.verification}")
        for fact in c.facts if case_facts else ():
            node = iri(fact.node)
            yield result, derived, node
            yield activity, used, node
