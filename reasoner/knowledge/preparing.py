"""The steps of preparing a knowledge base from its parsed files (reasoner/knowledge/base.py runs them)."""

from __future__ import annotations

from collections.abc import Mapping

from rdflib import OWL, RDF, RDFS, SH, XSD, Graph, Literal, URIRef
from rdflib.namespace import SKOS
from rdflib.term import Node

from reasoner._rdf.terms import INTERNED, intern
from reasoner.errors import KnowledgeBaseError
from reasoner.knowledge._index import ShapeIndex
from reasoner.knowledge.entities import Criterion
from reasoner.vocab import BASE, CASE_VALUES, CV, GR, vocabulary_terms


def labels(graph: Graph) -> dict[URIRef, str]:
    """skos:prefLabel where there is one, else rdfs:label."""
    out = {s: str(o) for s, o in graph.subject_objects(RDFS.label) if isinstance(s, URIRef)}
    out.update({s: str(o) for s, o in graph.subject_objects(SKOS.prefLabel) if isinstance(s, URIRef)})
    return out


class Interning(Graph):
    """Another graph's store, written through with the interned terms (rule expansion writes the shapes it makes)."""

    @classmethod
    def of(cls, graph: Graph) -> Interning:
        """A graph over ``graph``'s store and context: what is added here is added there."""
        return cls(store=graph.store, identifier=graph.identifier)

    def add(self, triple: tuple[Node, Node, Node]) -> Interning:
        """Add ``triple``, each term as the interned object."""
        s, p, o = triple
        super().add((intern(s), intern(p), intern(o)))
        return self


def interned(graph: Graph) -> Graph:
    """``graph`` with one object per term, the vocabulary's own where it names one.

    rdflib's parser makes a new object for every mention of an IRI, and rdflib compares two
    unequal-identity terms in Python; with one object per term, the sets and dicts built from the
    knowledge base and the case terms made from the vocabulary match by identity. Files read from
    the cache folder come interned (reasoner/_rdf/pickled.py), and rule expansion writes interned
    terms: such a graph is checked (a twentieth of a copy) and kept as it is.
    """
    table = INTERNED
    if all(table.setdefault(t, t) is t for triple in graph for t in triple):
        return graph
    out = Graph()
    for s, p, o in graph:
        out.add((intern(s), intern(p), intern(o)))
    for prefix, namespace in graph.namespaces():
        out.bind(prefix, namespace, override=True)
    return out


# Process-wide, so that reloads share objects too; holds only knowledge-base and vocabulary terms.
INTERNED.update({t: t for t in (*vocabulary_terms(), *CASE_VALUES.values())})


def bind_thresholds(ontology: Graph, shapes: Graph) -> None:
    """Write each bound threshold's value into its shape as the SHACL parameter it names."""
    for binder in ontology.subjects(RDF.type, GR.ThresholdParameter):
        parameter = ontology.value(binder, GR.parameter)
        for shape, threshold in list(shapes.subject_objects(binder)):
            value = ontology.value(threshold, GR.value)
            if not isinstance(value, Literal) or parameter is None:
                raise KnowledgeBaseError(f"shape {shape} binds {threshold}, which has no gr:value")
            shapes.add((shape, parameter, value))
    if (None, SH.qualifiedValueShape, None) not in shapes:
        raise KnowledgeBaseError("the shapes graph has no criteria")


def superclass_map(closed: Graph) -> dict[Node, frozenset[URIRef]]:
    """Each class of the knowledge base's namespace with itself and its superclasses there."""
    out: dict[URIRef, set[URIRef]] = {}
    for sub, sup in closed.subject_objects(RDFS.subClassOf):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef) and str(sub).startswith(BASE):
            out.setdefault(sub, {sub})
            if str(sup).startswith(BASE):
                out[sub].add(sup)
    return {k: frozenset(v) for k, v in out.items()}


def shape_groups(index: ShapeIndex, criteria: Mapping[URIRef, Criterion]) -> dict[Node, str]:
    """Each root shape's group (reasoner/shacl/shape_bundles.py): the policy whose criteria it checks, else ""."""
    out: dict[Node, str] = {}
    for root in index.targeted:
        policies = {criteria[c].policy for c in index.checks.get(root, ()) if c in criteria}
        out[root] = str(next(iter(policies))) if len(policies) == 1 else ""
    return out


def case_vocabulary(ontology: Graph) -> tuple[frozenset[Node], frozenset[Node], dict[Node, Node]]:
    """The case vocabulary's properties, its classes, and the XSD range of each property that has one."""
    ns = str(CV)
    declared = {s for s in ontology.subjects(RDF.type, None) if str(s).startswith(ns)}
    props = frozenset(
        s
        for s in declared
        if {(s, RDF.type, OWL.ObjectProperty), (s, RDF.type, OWL.DatatypeProperty)}
        & set(ontology.triples((s, RDF.type, None)))
    )
    classes = frozenset(s for s in declared if (s, RDF.type, OWL.Class) in ontology)
    ranges = {p: r for p in props for r in ontology.objects(p, RDFS.range) if str(r).startswith(str(XSD))}
    return props, classes, ranges
