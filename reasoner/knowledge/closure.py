"""The knowledge base's RDFS closure, computed once at load (docs/threats.md D1): never on client data."""

from __future__ import annotations

from rdflib import OWL, RDF, RDFS, Graph, Literal
from rdflib.term import Node


def close_knowledge_base(graph: Graph) -> Graph:
    """A copy of ``graph`` with the RDFS entailments the reasoner and the SPARQL endpoint rely on.

    Classes and properties get every superclass and superproperty (rdfs:subClassOf reflexive and
    transitive), every typed resource every superclass of its types, and subjects and objects of
    a property the types its rdfs:domain and rdfs:range name. The knowledge base states nothing
    beyond RDFS (declarations aside; ``lint`` checks that no other OWL construct creeps in), so
    this is its whole closure; OWL-RL gave the same plus owl:sameAs and owl:Thing noise, at a
    cost that grew with the knowledge base (bench/README.md). Runs once, at load, and never on
    client data (docs/threats.md D1).
    """
    closed = Graph()
    for triple in graph:
        closed.add(triple)
    for relation in (RDFS.subClassOf, RDFS.subPropertyOf):
        direct: dict[Node, set[Node]] = {}
        for sub, sup in graph.subject_objects(relation):
            direct.setdefault(sub, set()).add(sup)
        for start in list(direct):
            for sup in _reachable_from(start, direct):
                closed.add((start, relation, sup))
    for cls in {*closed.subjects(RDF.type, OWL.Class), *closed.subjects(RDFS.subClassOf, None)}:
        closed.add((cls, RDFS.subClassOf, cls))
    supers = {c: set(closed.objects(c, RDFS.subClassOf)) for c in closed.subjects(RDFS.subClassOf, None)}
    superprops = {p: set(closed.objects(p, RDFS.subPropertyOf)) for p in closed.subjects(RDFS.subPropertyOf, None)}
    domains = {p: set(closed.objects(p, RDFS.domain)) for p in closed.subjects(RDFS.domain, None)}
    ranges = {p: set(closed.objects(p, RDFS.range)) for p in closed.subjects(RDFS.range, None)}
    for s, p, o in list(closed):
        for sup in superprops.get(p, ()):
            closed.add((s, sup, o))
        for prop in (p, *superprops.get(p, ())):
            for cls in domains.get(prop, ()):
                closed.add((s, RDF.type, cls))
            if not isinstance(o, Literal):
                for cls in ranges.get(prop, ()):
                    closed.add((o, RDF.type, cls))
    for s, cls in list(closed.subject_objects(RDF.type)):
        for sup in supers.get(cls, ()):
            closed.add((s, RDF.type, sup))
    return closed


def _reachable_from(start: Node, direct: dict[Node, set[Node]]) -> set[Node]:
    seen: set[Node] = set()
    stack = list(direct.get(start, ()))
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(direct.get(node, ()))
    return seen
