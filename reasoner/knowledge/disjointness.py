"""Lint: no class or resource of the knowledge base falls under two classes declared disjoint.

``owl:disjointWith`` (or ``owl:AllDisjointClasses``, for several at once) is a constraint, not an
entailment: the closure adds nothing for it, and lint reads it against the closed knowledge base
(reasoner/knowledge/closure.py), as a reasoner would report an unsatisfiable class or an
inconsistent individual. A class under both (through any chain of ``rdfs:subClassOf``, or
``owl:Nothing`` itself) is unsatisfiable; a resource typed with both makes the knowledge base
inconsistent, as does a resource of ``owl:Nothing`` (stated, or through a class under it). Each
finding names the class or resource, the two disjoint classes, and the subclass axioms that lead to
each.
"""

from __future__ import annotations

from rdflib import OWL, RDF, RDFS, Graph, URIRef
from rdflib.term import Node

from reasoner.knowledge.closure import close_knowledge_base
from reasoner.knowledge.rules.rule import local_name as _name


def disjointness_problems(kb: Graph, rl_axioms: Graph | None = None) -> list[tuple[Node, str]]:
    """Each class under two disjoint classes, and each resource typed with both: (the term, why).

    ``rl_axioms``: the OWL 2 RL axioms of the files that ask for them (an equivalence can make a class unsatisfiable).
    """
    pairs = _disjoint_pairs(kb)
    unsatisfiable = {c for c in kb.subjects(RDFS.subClassOf, OWL.Nothing) if isinstance(c, URIRef)}
    if not pairs and not unsatisfiable and (None, RDF.type, OWL.Nothing) not in kb:
        return []
    closed = close_knowledge_base(kb, rl_axioms)
    out: list[tuple[Node, str]] = []
    for c in sorted(closed.subjects(RDFS.subClassOf, OWL.Nothing), key=str):
        if c != OWL.Nothing:
            out.append((c, f"{_name(c)} is a subclass of owl:Nothing: no resource can be one (unsatisfiable)"))
    for x in sorted(closed.subjects(RDF.type, OWL.Nothing), key=str):
        types = set(closed.objects(x, RDF.type)) - {OWL.Nothing}
        through = sorted(_name(c) for c in types if (c, RDFS.subClassOf, OWL.Nothing) in closed)
        why = f"through {', '.join(through)}" if through else "as stated"
        out.append((x, f"{_name(x)} is inconsistent: it is an owl:Nothing ({why})"))
    for (a, b), how in sorted(pairs.items(), key=str):
        why = f"which are declared disjoint ({how})"
        for c in sorted(set(closed.subjects(RDFS.subClassOf, a)) & set(closed.subjects(RDFS.subClassOf, b)), key=str):
            out.append((c, f"{_name(c)} is unsatisfiable: {_chain(kb, c, a)} and {_chain(kb, c, b)}, {why}"))
        for x in sorted(set(closed.subjects(RDF.type, a)) & set(closed.subjects(RDF.type, b)), key=str):
            out.append((x, f"{_name(x)} is inconsistent: it is a {_name(a)} and a {_name(b)}, {why}"))
    return out


def _disjoint_pairs(kb: Graph) -> dict[tuple[URIRef, URIRef], str]:
    """Each pair of classes declared disjoint, by ``owl:disjointWith`` or in an ``owl:AllDisjointClasses``: how."""
    out: dict[tuple[URIRef, URIRef], str] = {}
    for a, b in kb.subject_objects(OWL.disjointWith):
        if isinstance(a, URIRef) and isinstance(b, URIRef):
            out[a, b] = f"{_name(a)} owl:disjointWith {_name(b)}"
    for group in kb.subjects(RDF.type, OWL.AllDisjointClasses):
        listed = (m for ms in kb.objects(group, OWL.members) for m in kb.items(ms))
        members = sorted((m for m in listed if isinstance(m, URIRef)), key=str)
        names = " ".join(_name(m) for m in members)
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                out.setdefault((a, b), f"owl:AllDisjointClasses ( {names} )")
    return out


def _chain(kb: Graph, start: Node, goal: Node) -> str:
    """The subclass axioms from ``start`` up to ``goal``, as a reader follows them (``A < B < C``)."""
    paths: dict[Node, list[Node]] = {start: [start]}
    frontier = [start]
    while frontier and goal not in paths:
        nxt = []
        for node in frontier:
            for sup in sorted(kb.objects(node, RDFS.subClassOf), key=str):
                if sup not in paths:
                    paths[sup] = [*paths[node], sup]
                    nxt.append(sup)
        frontier = nxt
    return " < ".join(_name(n) for n in paths.get(goal, [start, goal]))
