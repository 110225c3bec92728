"""The enrich stage: add to a case what the knowledge base implies about it.

Everything here reads the prepared indexes of the knowledge base and writes only to a copy of
the case graph: type closure from the class hierarchy, the coverage status of each requested
line under the policy, months between prior procedures and the request, the pathway steps the
request requires and the steps each documented procedure does, and whether each imaging finding
that could be a pain generator has been addressed. The knowledge base's own closure is computed
here too, once, at load (threats.md D1): never on client data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.term import Node

from . import applicability
from ._case_store import adder
from .knowledge import Policy
from .vocab import CV, GR

DAYS_PER_MONTH = Decimal("30.44")

if TYPE_CHECKING:
    from .kb import KnowledgeBase


def close_knowledge_base(graph: Graph) -> Graph:
    """A copy of ``graph`` with the RDFS entailments the reasoner and the SPARQL endpoint rely on.

    Classes and properties get every superclass and superproperty (rdfs:subClassOf reflexive and
    transitive), every typed resource every superclass of its types, and subjects and objects of
    a property the types its rdfs:domain and rdfs:range name. The knowledge base states nothing
    beyond RDFS (declarations aside; ``lint`` checks that no other OWL construct creeps in), so
    this is its whole closure; OWL-RL gave the same plus owl:sameAs and owl:Thing noise, at a
    cost that grew with the knowledge base (bench/README.md). Runs once, at load, and never on
    client data (threats.md D1).
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


@dataclass(frozen=True, slots=True)
class Line:
    """A requested line after enrichment."""

    node: Node
    code: URIRef
    units: int
    status: URIRef
    classes: frozenset[URIRef]


@dataclass(frozen=True)
class EnrichedCase:
    """The case graph with derived facts, and what applies to it under the policy."""

    graph: Graph
    case: Node
    request: Node
    policy: Policy
    request_date: date
    lines: tuple[Line, ...]
    applicable: applicability.Applicable


def enrich(case: Graph, kb: KnowledgeBase, policy: Policy) -> EnrichedCase:
    """Derive the facts the criteria read, adding them to ``case`` (pass a graph you own; copying costs)."""
    g = case
    case_node = next(iter(g.subjects(RDF.type, CV.Case)))
    request = g.value(case_node, CV.request)
    assert request is not None
    request_date = g.value(request, CV.date).toPython()  # type: ignore[union-attr]
    request_purpose = g.value(request, CV.purpose)
    add = adder(g)
    classified = [(s, o) for p in sorted(kb.classifying) for s, o in g.subject_objects(p) if isinstance(o, URIRef)]
    for s, o in classified:
        purpose = g.value(s, CV.purpose) or (request_purpose if (request, CV.line, s) in g else None)
        for cls in _classes(kb, o, purpose):
            add((s, RDF.type, cls))
    lines = []
    for node in sorted(g.objects(request, CV.line), key=str):
        code = g.value(node, CV.code)
        assert isinstance(code, URIRef)
        rule = kb.coverage.get((policy.iri, code))
        status = rule.status if rule else GR.NotAddressed
        g.add((node, GR.coverageStatus, status))
        _elapsed(g, node, 0)
        units = g.value(node, CV.units)
        classes = frozenset(c for c in g.objects(node, RDF.type) if isinstance(c, URIRef))
        lines.append(Line(node, code, int(units.toPython()) if units is not None else 1, status, classes))
    for proc in g.objects(case_node, CV.priorProcedure):
        when = g.value(proc, CV.date)
        if when is not None and isinstance(when.toPython(), date):  # type: ignore[union-attr]
            _elapsed(g, proc, (request_date - when.toPython()).days)  # type: ignore[union-attr]
    _sites(g, kb, case_node, request, lines)
    for fact in g.objects(case_node, CV.painHistory):
        months = g.value(fact, CV.durationMonths)
        if isinstance(months, Literal) and isinstance(months.toPython(), Decimal):
            weeks = (months.toPython() * DAYS_PER_MONTH / 7).quantize(Decimal("0.01"))
            g.add((fact, GR.durationWeeks, Literal(weeks, datatype=XSD.decimal)))
        for value in list(g.objects(fact, CV.painCharacter)):
            for cls in kb.indicated.get(value, ()):  # type: ignore[call-overload]
                for sup in kb.types_of([cls]):
                    g.add((fact, RDF.type, sup))
    addressed = tuple(line.classes for line in lines if line.status != GR.NotAddressed)
    applicable = applicability.resolve(kb, policy, frozenset().union(*addressed) if addressed else frozenset())
    for step in applicable.prerequisite_steps:
        g.add((request, GR.requiresStep, step))
    history = [*g.objects(case_node, CV.priorProcedure), *g.objects(case_node, CV.conservativeCare)]
    for fact in history:
        types = set(g.objects(fact, RDF.type))
        for step in kb.steps_of(policy.iri):
            if step.procedure_classes & types:
                g.add((fact, GR.completesStep, step.iri))
    _mark_addressed(g, kb, case_node)
    return EnrichedCase(g, case_node, request, policy, request_date, tuple(lines), applicable)


def _elapsed(g: Graph, node: Node, days: int) -> None:
    add = adder(g)
    add((node, GR.daysBeforeRequest, Literal(days, datatype=XSD.integer)))
    add((node, GR.weeksBeforeRequest, Literal((Decimal(days) / 7).quantize(Decimal("0.01")), datatype=XSD.decimal)))
    months = (Decimal(days) / DAYS_PER_MONTH).quantize(Decimal("0.01"))
    add((node, GR.monthsBeforeRequest, Literal(months, datatype=XSD.decimal)))


_SIDES = {CV.Left: frozenset({"L"}), CV.Right: frozenset({"R"}), CV.Bilateral: frozenset({"L", "R"})}
_MODIFIER_SIDES = {"LT": frozenset({"L"}), "RT": frozenset({"R"}), "50": frozenset({"L", "R"})}
_TRUE = Literal(True)


def _region_of_level(level: str) -> URIRef | None:
    head = level[:1].upper()
    return GR.CervicothoracicRegion if head in "CT" else GR.LumbosacralRegion if head in "LS" else None


def _regions(g: Graph, kb: KnowledgeBase, node: Node) -> frozenset[URIRef]:
    """A fact's spinal regions: its code's region, else the regions of its levels."""
    code = kb.codes.get(g.value(node, CV.code))  # type: ignore[arg-type]
    if code is not None and code.region is not None:
        return frozenset({code.region})
    return frozenset(r for v in g.objects(node, CV.level) if (r := _region_of_level(str(v))) is not None)


def _sides(g: Graph, node: Node) -> frozenset[str]:
    side = g.value(node, CV.laterality)
    out = _SIDES.get(side, frozenset())  # type: ignore[call-overload]
    for m in g.objects(node, CV.modifier):
        out |= _MODIFIER_SIDES.get(str(m), frozenset())
    return out


def _sites(g: Graph, kb: KnowledgeBase, case_node: Node, request: Node, lines: list[Line]) -> None:
    """Add-ons, levels, regions and sides: what session limits and level limits count.

    A fact whose region or side is not known counts as the request's: limits then err towards
    counting a session rather than missing one.
    """
    codes = {line.code for line in lines}
    regions = frozenset(r for v in g.objects(request, CV.level) if (r := _region_of_level(str(v))) is not None)
    sides = _sides(g, request)
    levels_by_units = 0
    for line in lines:
        code = kb.codes.get(line.code)
        regions |= _regions(g, kb, line.node)
        sides |= _sides(g, line.node)
        if code is None:
            continue
        levels_by_units += code.levels_per_unit * line.units
        if code.add_on_to:
            g.add((line.node, GR.addOnCode, _TRUE))
            if not code.add_on_to & codes:
                for primary in sorted(code.add_on_to):
                    g.add((line.node, GR.missingPrimaryCode, primary))
    levels = len({str(v) for v in g.objects(request, CV.level)})
    g.add((request, GR.levelCount, Literal(max(levels, levels_by_units), datatype=XSD.integer)))
    g.add((request, GR.regionCount, Literal(len(regions), datatype=XSD.integer)))
    for line in lines:
        g.add((line.node, GR.sameRegionAsRequest, _TRUE))
        g.add((line.node, GR.sameSideAsRequest, _TRUE))
    for proc in g.objects(case_node, CV.priorProcedure):
        code = kb.codes.get(g.value(proc, CV.code))  # type: ignore[arg-type]
        if code is not None and code.add_on_to:
            g.add((proc, GR.addOnCode, _TRUE))
        theirs = _regions(g, kb, proc)
        if not theirs or not regions or theirs & regions:
            g.add((proc, GR.sameRegionAsRequest, _TRUE))
        side = _sides(g, proc)
        if not side or not sides or side & sides:
            g.add((proc, GR.sameSideAsRequest, _TRUE))


def _classes(kb: KnowledgeBase, term: URIRef, purpose: Node | None) -> frozenset[URIRef]:
    code = kb.codes.get(term)
    named = [code.denotes] if code and code.denotes else [term] if term in kb.superclasses else []
    base = kb.types_of(named)
    if purpose is None:
        return base
    # Only the nearest class with purpose subclasses is specialised: farther ones hold other
    # branches (a diagnostic SIJ injection is not a medial branch block though both are injections).
    with_purposes = [c for c in base if kb.purposes.get(c)]
    if not with_purposes:
        return base
    nearest = max(with_purposes, key=lambda c: (len(kb.superclasses.get(c, ())), str(c)))
    special = [sub for p, sub in kb.purposes[nearest] if p == purpose]
    return base | kb.types_of(special)


def _levels(g: Graph, node: Node) -> set[str]:
    return {str(v) for v in g.objects(node, CV.level)}


def _mark_addressed(g: Graph, kb: KnowledgeBase, case_node: Node) -> None:
    # Each procedure's types and levels are read once: findings x procedures graph lookups made
    # a long history quadratic.
    procedures = [
        (set(g.objects(proc, RDF.type)), _levels(g, proc)) for proc in g.objects(case_node, CV.priorProcedure)
    ]
    for finding in list(g.objects(case_node, CV.imagingFinding)):
        types = set(g.objects(finding, RDF.type))
        if GR.PainGeneratorFinding not in types:
            continue
        if g.value(finding, CV.addressed) == Literal(True):
            g.add((finding, GR.addressed, Literal(True)))
            continue
        by = frozenset().union(*(kb.addressed_by.get(t, frozenset()) for t in types if isinstance(t, URIRef)))
        if not by:
            continue
        levels = _levels(g, finding)
        if any(by & proc_types and (not levels or levels & proc_levels) for proc_types, proc_levels in procedures):
            g.add((finding, GR.addressed, Literal(True)))
