"""Lint: each file's OWL is what its entailment regime entails (reasoner/knowledge/owl_rl.py).

A file closed under RDFS (the default) may declare classes and properties and state
``owl:disjointWith``; any other OWL in it would be silently ignored (``owl-construct``). A file
that asks for OWL 2 RL may use the constructs of that profile, each where the profile allows it
(OWL 2 Profiles, section 4.2): a construct outside the profile, or in a place the profile does not
allow (an existential as a superclass, a universal as a subclass, a cardinality above one), is an
``owl-profile`` finding, as ROBOT's ``validate-profile --profile RL`` would report it. A regime
other than the two the closure knows is an ``entailment-regime`` finding.
"""

from __future__ import annotations

from collections.abc import Iterator

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal
from rdflib.term import Node

from reasoner.knowledge import owl_rl
from reasoner.vocab import GR

#: OWL constructs no OWL 2 RL ontology may use: owlrl has no rule for them.
OUTSIDE_RL = frozenset(
    {OWL.minCardinality, OWL.minQualifiedCardinality, OWL.cardinality, OWL.qualifiedCardinality}
    | {OWL.ReflexiveProperty, OWL.hasSelf, OWL.disjointUnionOf, OWL.datatypeComplementOf}
    | {OWL.onDatatype, OWL.withRestrictions, OWL.topObjectProperty, OWL.topDataProperty}
)
_MAX = (OWL.maxCardinality, OWL.maxQualifiedCardinality)

# (file, term to locate, check, message)
Problem = tuple[str, Node, str, str]


def profile_problems(graphs: dict[str, Graph]) -> list[Problem]:
    """Each use of OWL its file's regime does not entail, by file."""
    out: list[Problem] = []
    for name, graph in graphs.items():
        out.extend(_regime_names(name, graph))
        if owl_rl.regime(graph) == owl_rl.OWL_RL:
            out.extend(_outside_profile(name, graph))
        else:
            out.extend(_beyond_rdfs(name, graph))
    return out


def _short(term: Node) -> str:
    return f"owl:{str(term)[len(str(OWL)) :]}" if str(term).startswith(str(OWL)) else str(term)


def _regime_names(name: str, graph: Graph) -> Iterator[Problem]:
    for header, named in graph.subject_objects(GR.entailmentRegime):
        if named not in owl_rl.REGIMES:
            yield (
                name,
                header,
                "entailment-regime",
                f"gr:entailmentRegime names <{named}>; the closure knows <{owl_rl.RDFS_REGIME}> "
                f"(the default) and <{owl_rl.OWL_RL}>",
            )


def _constructs(graph: Graph) -> Iterator[tuple[Node, Node]]:
    """(subject, construct) for each statement using an OWL construct, once per construct and subject."""
    seen: set[tuple[Node, Node]] = set()
    for s, p, o in graph:
        for term in (p, o) if p == RDF.type else (p,):
            if owl_rl.is_construct(term) and (s, term) not in seen:
                seen.add((s, term))
                yield s, term


def _beyond_rdfs(name: str, graph: Graph) -> Iterator[Problem]:
    """One finding per resource (a blank node restriction is one) that uses OWL the file's RDFS would ignore."""
    by_subject: dict[Node, set[Node]] = {}
    for subject, term in _constructs(graph):
        by_subject.setdefault(subject, set()).add(term)
    for subject, terms in sorted(by_subject.items(), key=lambda st: str(st[0])):
        names = ", ".join(sorted(_short(t) for t in terms))
        yield (
            name,
            subject,
            "owl-construct",
            f"{names} {'is' if len(terms) == 1 else 'are'} not entailed under RDFS, this file's entailment "
            f"regime: state the effect, or name <{owl_rl.OWL_RL}> as the file's gr:entailmentRegime "
            "(AUTHORING.md, OWL 2 RL)",
        )


def _outside_profile(name: str, graph: Graph) -> Iterator[Problem]:
    for subject, term in _constructs(graph):
        if term in OUTSIDE_RL:
            yield name, subject, "owl-profile", f"{_short(term)} is outside OWL 2 RL: owlrl entails nothing from it"
    for s, p, o in graph:
        if p in _MAX and not (isinstance(o, Literal) and o.value in (0, 1)):
            yield name, s, "owl-profile", f"{_short(p)} {o} is outside OWL 2 RL, which allows a maximum of 0 or 1"
    for sub, sup in graph.subject_objects(RDFS.subClassOf):
        yield from _placed(name, graph, sub, "subclass", sub)
        yield from _placed(name, graph, sup, "superclass", sub)
    for a, b in graph.subject_objects(OWL.equivalentClass):
        yield from _placed(name, graph, a, "equivalent class", a)
        yield from _placed(name, graph, b, "equivalent class", a)


# What a class expression may be, by place (OWL 2 Profiles, 4.2.3-4.2.5): the construct's names.
_ALLOWED = {
    "subclass": {OWL.intersectionOf, OWL.unionOf, OWL.oneOf, OWL.someValuesFrom, OWL.hasValue},
    "superclass": {OWL.intersectionOf, OWL.complementOf, OWL.allValuesFrom, OWL.hasValue, *_MAX},
    "equivalent class": {OWL.intersectionOf, OWL.hasValue},
}
_NESTED = {  # the place of the expressions a construct holds, when it is in a given place
    ("subclass", OWL.someValuesFrom): "subclass",
    ("superclass", OWL.allValuesFrom): "superclass",
    ("superclass", OWL.complementOf): "subclass",
    ("superclass", OWL.maxQualifiedCardinality): "subclass",
}
_KINDS = (
    OWL.intersectionOf,
    OWL.unionOf,
    OWL.oneOf,
    OWL.complementOf,
    OWL.someValuesFrom,
    OWL.allValuesFrom,
    OWL.hasValue,
    *_MAX,
    OWL.minCardinality,
    OWL.minQualifiedCardinality,
    OWL.cardinality,
    OWL.qualifiedCardinality,
    OWL.hasSelf,
)


def _placed(name: str, graph: Graph, expr: Node, place: str, owner: Node, depth: int = 0) -> Iterator[Problem]:
    """Problems of a class expression in ``place`` (a named class is allowed anywhere)."""
    if not isinstance(expr, BNode) or depth > 32:
        return
    kind = next((k for k in _KINDS if (expr, k, None) in graph), None)
    if kind is None or kind in OUTSIDE_RL:
        return  # not a class expression, or reported by construct already
    if kind not in _ALLOWED[place]:
        yield (
            name,
            owner,
            "owl-profile",
            f"{_short(kind)} as {'an' if place == 'equivalent class' else 'a'} {place} is outside OWL 2 RL "
            f"(allowed there: {', '.join(sorted(_short(k) for k in _ALLOWED[place]))})",
        )
        return
    inner = _NESTED.get((place, kind), place if kind in (OWL.intersectionOf, OWL.unionOf) else None)
    if inner is None:
        return
    filler = OWL.onClass if kind == OWL.maxQualifiedCardinality else kind
    for value in graph.objects(expr, filler):
        members = list(graph.items(value)) if kind in (OWL.intersectionOf, OWL.unionOf) else [value]
        for member in members:
            yield from _placed(name, graph, member, inner, owner, depth + 1)
