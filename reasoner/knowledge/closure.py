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

A file that asks for OWL 2 RL (its ``gr:entailmentRegime``) has its axioms entailed too, by owlrl
over the few triples they read (reasoner/knowledge/owl_rl.py): what they entail of the schema joins
the schema before its closure, and what they entail of the instances is typed as above.
"""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef
from rdflib.term import Node

from reasoner.knowledge import owl_rl

_SCHEMA = frozenset({RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range})
_DECLARATIONS = frozenset({OWL.Class, RDFS.Class, OWL.ObjectProperty, OWL.DatatypeProperty, RDF.Property})
# owl:Class is an rdfs:Class: with it, RDFS makes every OWL class a subclass of itself (rdfs10).
_BRIDGE = (OWL.Class, RDFS.subClassOf, RDFS.Class)
_UNUSED_TYPES = frozenset({RDFS.Resource, OWL.Thing, RDFS.Class, RDF.Property})
_Triple = tuple[Node, Node, Node]


def close_knowledge_base(graph: Graph, rl_axioms: Graph | None = None) -> Graph:
    """A copy of ``graph`` with the entailments the reasoner and the SPARQL endpoint rely on.

    RDFS over everything; with ``rl_axioms`` (the OWL axioms of the files that ask for OWL 2 RL,
    reasoner/knowledge/owl_rl.py), what those axioms entail as well.
    """
    schema = {t for t in graph if t[1] in _SCHEMA or (t[1] == RDF.type and t[2] in _DECLARATIONS)}
    if rl_axioms is not None and len(rl_axioms):
        schema |= owl_rl.schema_entailments(rl_axioms)
    closed = Graph()
    for triple in graph:
        closed.add(triple)
    for triple in owl_rl.remembered(frozenset(schema), _closed_schema):
        closed.add(triple)
    _type_instances(closed)
    if rl_axioms is not None and len(rl_axioms):
        _entail_instances(closed, rl_axioms)
    return closed


def _closed_schema(schema: frozenset[_Triple]) -> frozenset[_Triple]:
    """The schema closed under RDFS by owlrl, without what nobody reads."""
    work = Graph(store="SimpleMemory")  # no contexts: owlrl reads it a tenth faster
    work.add(_BRIDGE)
    for triple in schema:
        work.add(triple)
    import owlrl  # here: a load from the cache folder never closes anything

    owl_rl.expand(work, owlrl.RDFS_Semantics)
    return frozenset(t for t in work if _used(*t))


def _entail_instances(closed: Graph, rl_axioms: Graph) -> None:
    """Add what the OWL 2 RL axioms entail of the instances, each new triple typed by RDFS, to a fixed point."""
    named = owl_rl.named_terms(rl_axioms)
    while True:  # ends: each round adds triples over the terms already there, of which there are finitely many
        new = owl_rl.instance_entailments(closed, rl_axioms, named)
        if not new:
            return
        for triple in new:
            closed.add(triple)
        typed = _type_instances(closed, new)
        if not any(p in named or (p == RDF.type and o in named) for _s, p, o in typed):
            return  # owlrl closed the triples it was given; typing gave the axioms nothing more to read


def _type_instances(closed: Graph, triples: Iterable[_Triple] | None = None) -> list[_Triple]:
    """What RDFS entails of the instances (rdfs7, rdfs2, rdfs3, rdfs9), read off the closed schema.

    Of ``triples`` (else of all) and added to ``closed``; returns the added triples when ``triples`` is given.
    """
    supers = {c: set(closed.objects(c, RDFS.subClassOf)) for c in closed.subjects(RDFS.subClassOf, None)}
    superprops = {p: set(closed.objects(p, RDFS.subPropertyOf)) for p in closed.subjects(RDFS.subPropertyOf, None)}
    domains = {p: set(closed.objects(p, RDFS.domain)) for p in closed.subjects(RDFS.domain, None)}
    ranges = {p: set(closed.objects(p, RDFS.range)) for p in closed.subjects(RDFS.range, None)}
    added: list[_Triple] = []

    def add(triple: _Triple) -> None:
        if triples is None:
            closed.add(triple)  # the first pass: what it adds is not asked for, so not looked up
        elif triple not in closed:
            closed.add(triple)
            added.append(triple)

    given = list(closed if triples is None else triples)
    for s, p, o in given:
        for prop in (p, *superprops.get(p, ())):
            if prop != p:
                add((s, prop, o))
            for cls in domains.get(prop, ()):
                add((s, RDF.type, cls))
            if not isinstance(o, Literal):
                for cls in ranges.get(prop, ()):
                    add((o, RDF.type, cls))
    if triples is None:
        typed = list(closed.subject_objects(RDF.type))
    else:
        typed = [(s, o) for s, p, o in (*given, *added) if p == RDF.type]
    for s, cls in typed:
        for sup in supers.get(cls, ()):
            add((s, RDF.type, sup))
    return added


def _used(s: Node, p: Node, o: Node) -> bool:
    """Whether an entailed schema triple is one the reasoner or the SPARQL endpoint reads."""
    if isinstance(s, Literal) or isinstance(o, Literal):
        return False
    if isinstance(s, URIRef) and str(s).startswith(owl_rl.VOCABULARIES):
        return False
    if p == RDF.type and o in _UNUSED_TYPES:
        return False
    if p in (RDFS.subPropertyOf, OWL.sameAs) and s == o:
        return False
    return not (p == RDFS.subClassOf and o in (RDFS.Resource, OWL.Thing))
