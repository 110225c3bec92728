"""The enrich stage: add to a case what the knowledge base implies about it (``enrich``, the sequence of steps).

Everything here reads the prepared indexes of the knowledge base and writes only to the case
graph: type closure from the class hierarchy, the coverage status of each requested line under the
policy, time between prior procedures and the request, the diagnoses on the request, the pathway
steps the request requires and the steps each documented procedure does, and whether each imaging
finding that could be a pain generator has been addressed. Sites (regions, levels, sides, the
latest at a site) are reasoner/enrich/sites.py; the values a case leaves unstated
reasoner/enrich/unstated.py; sessions reasoner/enrich/sessions.py; reading and writing the graph
reasoner/enrich/access.py. The knowledge base's own closure is reasoner/knowledge/closure.py (at
load, never on client data); the classes a code gives a fact are reasoner/knowledge/classes.py; the
stage's values are reasoner/enrich/values.py.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from rdflib import RDF, XSD, Graph, Literal, URIRef
from rdflib.term import Node

from reasoner._rdf.terms import literal
from reasoner.enrich import sessions as counting
from reasoner.enrich.access import Adder, Objects, first_of, flush, reader, subjects_reader
from reasoner.enrich.derived import derive
from reasoner.enrich.sites import derive_sites, fact_levels, fact_regions, fact_sides, latest_at_site, same_levels
from reasoner.enrich.unstated import mark_unstated
from reasoner.enrich.values import EnrichedCase, Line
from reasoner.intake.diagnosis_codes import Pend, pend
from reasoner.knowledge import applicability
from reasoner.knowledge.classes import classes_for, purpose_classes
from reasoner.knowledge.entities import Policy, icd10cm_notation
from reasoner.vocab import CV, GR

DAYS_PER_MONTH = Decimal("30.44")

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


_TYPE = RDF.type
_INTEGER, _DECIMAL = XSD.integer, XSD.decimal
_HUNDREDTHS = Decimal("0.01")
_TRUE = Literal(True)


def enrich(case: Graph, kb: KnowledgeBase, policy: Policy) -> EnrichedCase:
    """Derive the facts the criteria read, adding them to ``case`` (pass a graph you own; copying costs)."""
    g = case
    objs = reader(g)
    pending: list[tuple[Node, Node, Node]] = []  # added in batches: what a later step reads back, then the rest
    add = pending.append
    case_node = next(iter(g.subjects(_TYPE, CV.Case)))
    request = first_of(objs(case_node, CV.request))
    assert request is not None
    request_date = first_of(objs(request, CV.date)).toPython()  # type: ignore[union-attr]  # the case shapes require it
    line_nodes = set(objs(request, CV.line))
    _classify(g, objs, add, kb, request, line_nodes)
    flush(g, pending)
    elapsed: dict[int, tuple[Literal, Literal, Literal]] = {}
    lines = _lines(objs, add, kb, policy, line_nodes, elapsed)
    procedures = tuple(objs(case_node, CV.priorProcedure))
    for proc in procedures:
        when = first_of(objs(proc, CV.date))
        if isinstance(when, Literal) and isinstance(when.toPython(), date):  # an IRI's toPython() is itself
            _elapsed(add, proc, (request_date - when.toPython()).days, elapsed)
    derive_sites(objs, add, kb, request, lines, procedures)
    pends = _request_diagnoses(objs, add, kb, request, request_date)
    same_levels(objs, add, request, (*procedures, *objs(case_node, CV.imagingFinding)))
    _pain_history(objs, add, kb, case_node)
    addressed = tuple(line.classes for line in lines if line.status != GR.NotAddressed)
    applicable = applicability.resolve(kb, policy, frozenset().union(*addressed) if addressed else frozenset())
    judged = [ln for ln in lines if ln.status not in (GR.NotAddressed, GR.NotCovered)]  # an excluded code denies anyway
    open_lines = [(ln.code, ln.classes) for ln in judged if _purpose_open(kb, ln)]
    if open_lines:
        applicable = applicability.with_open_purposes(kb, policy, applicable, open_lines)
    for prerequisite in applicable.prerequisite_steps:
        add((request, GR.requiresStep, prerequisite))
    steps = kb.steps_of(policy.iri)
    for fact in (*procedures, *objs(case_node, CV.conservativeCare)):
        types = objs(fact, _TYPE)
        for step in [s for s in steps if not s.procedure_classes.isdisjoint(types)]:
            add((fact, GR.completesStep, step.iri))
    _mark_addressed(objs, add, kb, case_node, procedures)
    flush(g, pending)
    if kb.derivations:  # the facts are typed; their unstated marks below merge the derived ones
        derive(objs, subjects_reader(g), add, kb, case_node, request_date, applicable.criteria)
        flush(g, pending)
    mark_unstated(g, objs, add, kb, steps)
    flush(g, pending)
    sessions = kb.session_classes_of(policy.iri)
    if sessions:  # after the unstated marks: a record's possible classes and missing date are read
        regions_of, sides_of = (lambda n: fact_regions(objs, kb, n)), (lambda n: fact_sides(objs, n))
        counting.derive_sessions(objs, add, sessions, request, lines, procedures, regions_of, sides_of)
        flush(g, pending)
    latest_at_site(objs, add, kb, request, procedures, applicable.criteria)
    flush(g, pending)
    return EnrichedCase(g, case_node, request, policy, request_date, tuple(lines), applicable, pends)


def _classify(g: Graph, objs: Objects, add: Adder, kb: KnowledgeBase, request: Node, line_nodes: set[Node]) -> None:
    """Each fact's classes, from its classifying values and purposes (a line's own, else the request's)."""
    request_purposes = kb.purposes_of(objs(request, CV.purpose))
    classified = [(s, o) for p in sorted(kb.classifying) for s, o in g.subject_objects(p) if isinstance(o, URIRef)]
    classes_of_: dict[tuple[URIRef, frozenset[URIRef]], frozenset[URIRef]] = {}  # a history repeats its codes
    for s, o in classified:
        purposes = kb.purposes_of(objs(s, CV.purpose), objs(s, CV.injectate))
        purposes = purposes or (request_purposes if s in line_nodes else purposes)
        classes = classes_of_.get((o, purposes))
        if classes is None:
            classes = classes_of_[o, purposes] = classes_for(kb, o, purposes)
        for cls in classes:
            add((s, _TYPE, cls))


def _lines(
    objs: Objects,
    add: Adder,
    kb: KnowledgeBase,
    policy: Policy,
    line_nodes: set[Node],
    elapsed: dict[int, tuple[Literal, Literal, Literal]],
) -> list[Line]:
    """The requested lines, each with its coverage status under the policy (read after the classes are added)."""
    lines = []
    for node in sorted(line_nodes, key=str):
        code = first_of(objs(node, CV.code))
        assert isinstance(code, URIRef)
        rule = kb.coverage.get((policy.iri, code))
        status = rule.status if rule else GR.NotAddressed
        add((node, GR.coverageStatus, status))
        _elapsed(add, node, 0, elapsed)
        units = first_of(objs(node, CV.units))
        classes = frozenset(c for c in objs(node, _TYPE) if isinstance(c, URIRef))
        # cv:units is an integer literal (the case shapes say so)
        lines.append(Line(node, code, int(units.toPython()) if units is not None else 1, status, classes))  # type: ignore[attr-defined]
    return lines


def _purpose_open(kb: KnowledgeBase, line: Line) -> bool:
    """Whether the line's code has purpose subclasses and the request states none of their purposes."""
    offered = purpose_classes(kb, line.code)
    return bool(offered) and all(extra.isdisjoint(line.classes) for extra in offered.values())


def _pain_history(objs: Objects, add: Adder, kb: KnowledgeBase, case_node: Node) -> None:
    """Each pain history's duration in weeks, and the classes its pain character indicates."""
    for fact in tuple(objs(case_node, CV.painHistory)):
        months = first_of(objs(fact, CV.durationMonths))
        if isinstance(months, Literal) and isinstance(months.toPython(), Decimal):
            weeks = (months.toPython() * DAYS_PER_MONTH / 7).quantize(_HUNDREDTHS)
            add((fact, GR.durationWeeks, literal(weeks, _DECIMAL)))
        for value in tuple(objs(fact, CV.painCharacter)):
            for cls in kb.indicated.get(value, ()):
                for sup in kb.types_of([cls]):
                    add((fact, _TYPE, sup))


def _elapsed(add: Adder, node: Node, days: int, made: dict[int, tuple[Literal, Literal, Literal]]) -> None:
    terms = made.get(days)
    if terms is None:
        weeks = (Decimal(days) / 7).quantize(_HUNDREDTHS)
        months = (Decimal(days) / DAYS_PER_MONTH).quantize(_HUNDREDTHS)
        terms = made[days] = (literal(days, _INTEGER), literal(weeks, _DECIMAL), literal(months, _DECIMAL))
    add((node, GR.daysBeforeRequest, terms[0]))
    add((node, GR.weeksBeforeRequest, terms[1]))
    add((node, GR.monthsBeforeRequest, terms[2]))


def _request_diagnoses(
    objs: Objects, add: Adder, kb: KnowledgeBase, request: Node, request_date: date
) -> tuple[Pend, ...]:
    """Each diagnosis on the request: typed as one, and linked to the diagnosis lists its code is on.

    Matched by notation, so a code the knowledge base does not hold is still found in a range or
    family; a code deleted from ICD-10-CM on or before the request date is on no list. A category
    (not billable) is on no list either; where a billable code under it is on one, whether it is
    on the list is unstated. Returns what the request pends on (reasoner/intake/diagnosis_codes.py).
    """
    pends: dict[str, Pend] = {}
    for prop in (CV.primaryDiagnosis, CV.secondaryDiagnosis):
        for diagnosis in tuple(objs(request, prop)):
            add((diagnosis, _TYPE, GR.RequestDiagnosis))
            code = first_of(objs(diagnosis, CV.code))
            notation = icd10cm_notation(code, kb.codes)
            if notation is None:
                continue
            waiting = pend(notation, request_date, kb)
            if waiting is not None:
                pends.setdefault(notation, waiting)
                if waiting.under:  # a category
                    if any(kb.lists_holding(c) for c in waiting.under):
                        add((diagnosis, GR.unstated, GR.onDiagnosisList))
                    continue
            if deleted_by(kb, code, request_date):
                continue
            for listed in sorted(kb.lists_holding(notation)):
                add((diagnosis, GR.onDiagnosisList, listed))
    return tuple(pends.values())


def deleted_by(kb: KnowledgeBase, code: Node | None, when: date) -> str | None:
    """The date (ISO) ``code`` was deleted from its code set, when that is on or before ``when``."""
    known = kb.codes.get(code) if isinstance(code, URIRef) else None
    if known is None or known.deleted_on is None:
        return None
    return known.deleted_on if date.fromisoformat(known.deleted_on) <= when else None


def _mark_addressed(
    objs: Objects, add: Adder, kb: KnowledgeBase, case_node: Node, procedures: tuple[Node, ...]
) -> None:
    # For each procedure class, whether any procedure has it and the union of their levels: a
    # finding is addressed by a procedure of a class that addresses it at one of its levels (at
    # any level when the finding has none). Pairing findings with procedures was quadratic.
    done: set[Node] = set()
    levels_done: dict[Node, set[str]] = {}
    for proc in procedures:
        levels = fact_levels(objs, proc)
        for t in objs(proc, _TYPE):
            done.add(t)
            levels_done.setdefault(t, set()).update(levels)
    for finding in tuple(objs(case_node, CV.imagingFinding)):
        types = set(objs(finding, _TYPE))
        if GR.PainGeneratorFinding not in types:
            continue
        if first_of(objs(finding, CV.addressed)) == _TRUE:
            add((finding, GR.addressed, _TRUE))
            continue
        by = frozenset().union(*(kb.addressed_by.get(t, frozenset()) for t in types if isinstance(t, URIRef)))
        levels = fact_levels(objs, finding)
        if any(t in done and (not levels or levels & levels_done[t]) for t in by):
            add((finding, GR.addressed, _TRUE))
