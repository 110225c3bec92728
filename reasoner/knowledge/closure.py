"""The knowledge base's closure, computed once at load (docs/threats.md D1): never on client data.

owlrl closes the schema under RDFS: the class and property axioms (``rdfs:subClassOf``,
``rdfs:subPropertyOf``, ``rdfs:domain``, ``rdfs:range``) with the declarations of classes and
properties. The instances (criteria, codes, rules, thresholds...) are then typed by the closed
schema, as RDFS types them (rdfs2, rdfs3, rdfs7, rdfs9): every superproperty of a property they
use, the domain and range classes of those properties, and every superclass of their types.

Why the instances are not given to owlrl too: it entails the same triples, but its rules walk every
triple of the graph on each pass, and the instances are nine tenths of the knowledge base. Over
the schema and the instances together it took 0.74 s for the bundled knowledge base and 2.9 s with
50 generated policies, against 0.09 s and about 0.3 s here, and made the first load 1.8x to 1.9x
slower (bench/README.md, issue 23).

Of what owlrl adds to the schema, what the reasoner and the SPARQL endpoint do not read is dropped:
triples about the RDF, RDFS, OWL and XSD vocabularies themselves, rdfs:Resource, owl:Thing,
rdfs:Class and rdf:Property typing, reflexive rdfs:subPropertyOf and owl:sameAs, and any triple with
a literal (owlrl writes literals again in their canonical forms, which would give a value twice).
"""

from __future__ import annotations

import warnings

import owlrl
from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef
from rdflib.term import Node

from reasoner._rdf import literals

_SCHEMA = frozenset({RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range})
_DECLARATIONS = frozenset({OWL.Class, RDFS.Class, OWL.ObjectProperty, OWL.DatatypeProperty, RDF.Property})
# owl:Class is an rdfs:Class: with it, RDFS makes every OWL class a subclass of itself (rdfs10).
_BRIDGE = (OWL.Class, RDFS.subClassOf, RDFS.Class)
_VOCABULARIES = (str(RDF), str(RDFS), str(OWL), "http://www.w3.org/2001/XMLSchema#")
_UNUSED_TYPES = frozenset({RDFS.Resource, OWL.Thing, RDFS.Class, RDF.Property})


def close_knowledge_base(graph: Graph) -> Graph:
    """A copy of ``graph`` with the RDFS entailments the reasoner and the SPARQL endpoint rely on."""
    schema = Graph()
    schema.add(_BRIDGE)
    for s, p, o in graph:
        if p in _SCHEMA or (p == RDF.type and o in _DECLARATIONS):
            schema.add((s, p, o))
    _expand(schema)
    closed = Graph()
    for triple in graph:
        closed.add(triple)
    for s, p, o in schema:
        if _used(s, p, o):
            closed.add((s, p, o))
    _type_instances(closed)
    return closed


def _type_instances(closed: Graph) -> None:
    """What RDFS entails of the instances, read off the closed schema (rdfs7, then rdfs2 and rdfs3, then rdfs9)."""
    supers = {c: set(closed.objects(c, RDFS.subClassOf)) for c in closed.subjects(RDFS.subClassOf, None)}
    superprops = {p: set(closed.objects(p, RDFS.subPropertyOf)) for p in closed.subjects(RDFS.subPropertyOf, None)}
    domains = {p: set(closed.objects(p, RDFS.domain)) for p in closed.subjects(RDFS.domain, None)}
    ranges = {p: set(closed.objects(p, RDFS.range)) for p in closed.subjects(RDFS.range, None)}
    for s, p, o in list(closed):
        for prop in (p, *superprops.get(p, ())):
            if prop != p:
                closed.add((s, prop, o))
            for cls in domains.get(prop, ()):
                closed.add((s, RDF.type, cls))
            if not isinstance(o, Literal):
                for cls in ranges.get(prop, ()):
                    closed.add((o, RDF.type, cls))
    for s, cls in list(closed.subject_objects(RDF.type)):
        for sup in supers.get(cls, ()):
            closed.add((s, RDF.type, sup))


def _expand(graph: Graph) -> None:
    """The RDFS closure of ``graph`` by owlrl, in place, without axiomatic or datatype triples."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # owlrl warns of literals it reads as ill-typed; lint has its own check
            closure = owlrl.DeductiveClosure(
                owlrl.RDFS_Semantics, rdfs_closure=False, axiomatic_triples=False, datatype_axioms=False
            )
            closure.expand(graph)
    finally:
        literals.restore()  # owlrl puts rdflib's own literal converters back when it ends


def _used(s: Node, p: Node, o: Node) -> bool:
    """Whether an entailed schema triple is one the reasoner or the SPARQL endpoint reads."""
    if isinstance(s, Literal) or isinstance(o, Literal):
        return False
    if isinstance(s, URIRef) and str(s).startswith(_VOCABULARIES):
        return False
    if p == RDF.type and o in _UNUSED_TYPES:
        return False
    if p in (RDFS.subPropertyOf, OWL.sameAs) and s == o:
        return False
    return not (p == RDFS.subClassOf and o in (RDFS.Resource, OWL.Thing))
