"""The enrich stage: add to a case what the knowledge base implies about it.

Everything here reads the prepared indexes of the knowledge base and writes only to a copy of
the case graph: type closure from the class hierarchy, the coverage status of each requested
line under the policy, months between prior procedures and the request, the pathway steps the
request requires and the steps each documented procedure does, and whether each imaging finding
that could be a pain generator has been addressed. The knowledge base's own closure is
reasoner/knowledge/closure.py (at load, never on client data); the classes a code gives a fact are
reasoner/knowledge/classes.py; the stage's values are reasoner/enrich/values.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from reasoner._rdf.case_store import CaseStore
from reasoner._rdf.terms import literal
from reasoner.enrich import sessions as counting
from reasoner.enrich.values import EnrichedCase, Line
from reasoner.knowledge import applicability
from reasoner.knowledge.classes import classes_for, possible_classes_of
from reasoner.knowledge.entities import Policy, Step, icd10cm_notation
from reasoner.shacl.truth import Gap, Truth, Unknown, kleene_and, kleene_not, kleene_or
from reasoner.vocab import CV, GR

DAYS_PER_MONTH = Decimal("30.44")

Adder = Callable[[tuple[Node, Node, Node]], None]

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


_TYPE = RDF.type
_INTEGER, _DECIMAL = XSD.integer, XSD.decimal
_HUNDREDTHS = Decimal("0.01")

Objects = Callable[[Node, Node], Iterable[Node]]


def _reader(g: Graph) -> Objects:
    # A case store answers from its index: a live view, so never add to (s, p) while reading it.
    store = g.store
    if isinstance(store, CaseStore):
        return store.objects_of
    return lambda s, p: tuple(g.objects(s, p))


def _subjects_reader(g: Graph) -> Callable[[Node, Node], Iterable[Node]]:
    store = g.store
    if isinstance(store, CaseStore):
        return lambda p, o: tuple(store.subjects_of(p, o))
    return lambda p, o: tuple(g.subjects(p, o))


def _first(values: Iterable[Node]) -> Node | None:
    return next(iter(values), None)


def enrich(case: Graph, kb: KnowledgeBase, policy: Policy) -> EnrichedCase:
    """Derive the facts the criteria read, adding them to ``case`` (pass a graph you own; copying costs)."""
    g = case
    objs = _reader(g)
    pending: list[tuple[Node, Node, Node]] = []  # added in two batches: what is read back, then the rest
    add = pending.append
    case_node = next(iter(g.subjects(_TYPE, CV.Case)))
    request = _first(objs(case_node, CV.request))
    assert request is not None
    request_date = _first(objs(request, CV.date)).toPython()  # type: ignore[union-attr]  # the case shapes require it
    request_purposes = kb.purposes_of(objs(request, CV.purpose))
    line_nodes = set(objs(request, CV.line))
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
    _flush(g, pending)
    elapsed: dict[int, tuple[Literal, Literal, Literal]] = {}
    lines = []
    for node in sorted(line_nodes, key=str):
        code = _first(objs(node, CV.code))
        assert isinstance(code, URIRef)
        rule = kb.coverage.get((policy.iri, code))
        status = rule.status if rule else GR.NotAddressed
        add((node, GR.coverageStatus, status))
        _elapsed(add, node, 0, elapsed)
        units = _first(objs(node, CV.units))
        classes = frozenset(c for c in objs(node, _TYPE) if isinstance(c, URIRef))
        # cv:units is an integer literal (the case shapes say so)
        lines.append(Line(node, code, int(units.toPython()) if units is not None else 1, status, classes))  # type: ignore[attr-defined]
    procedures = tuple(objs(case_node, CV.priorProcedure))
    for proc in procedures:
        when = _first(objs(proc, CV.date))
        if isinstance(when, Literal) and isinstance(when.toPython(), date):  # an IRI's toPython() is itself
            _elapsed(add, proc, (request_date - when.toPython()).days, elapsed)
    _sites(objs, add, kb, request, lines, procedures)
    _request_diagnoses(objs, add, kb, request, request_date)
    _same_levels(objs, add, request, (*procedures, *objs(case_node, CV.imagingFinding)))
    for fact in tuple(objs(case_node, CV.painHistory)):
        months = _first(objs(fact, CV.durationMonths))
        if isinstance(months, Literal) and isinstance(months.toPython(), Decimal):
            weeks = (months.toPython() * DAYS_PER_MONTH / 7).quantize(_HUNDREDTHS)
            add((fact, GR.durationWeeks, literal(weeks, _DECIMAL)))
        for value in tuple(objs(fact, CV.painCharacter)):
            for cls in kb.indicated.get(value, ()):
                for sup in kb.types_of([cls]):
                    add((fact, _TYPE, sup))
    addressed = tuple(line.classes for line in lines if line.status != GR.NotAddressed)
    applicable = applicability.resolve(kb, policy, frozenset().union(*addressed) if addressed else frozenset())
    for prerequisite in applicable.prerequisite_steps:
        add((request, GR.requiresStep, prerequisite))
    steps = kb.steps_of(policy.iri)
    for fact in (*procedures, *objs(case_node, CV.conservativeCare)):
        types = objs(fact, _TYPE)
        for step in [s for s in steps if not s.procedure_classes.isdisjoint(types)]:
            add((fact, GR.completesStep, step.iri))
    _mark_addressed(objs, add, kb, case_node, procedures)
    _flush(g, pending)
    _mark_unstated(g, objs, add, kb, steps)
    _flush(g, pending)
    sessions = kb.session_classes_of(policy.iri)
    if sessions:  # after the unstated marks: a record's possible classes and missing date are read
        regions_of, sides_of = (lambda n: _regions(objs, kb, n)), (lambda n: _sides(objs, n))
        counting.derive_sessions(objs, add, sessions, request, lines, procedures, regions_of, sides_of)
        _flush(g, pending)
    _latest_at_site(objs, add, kb, request, procedures, applicable.criteria)
    _flush(g, pending)
    return EnrichedCase(g, case_node, request, policy, request_date, tuple(lines), applicable)


def _mark_unstated(g: Graph, objs: Objects, add: Adder, kb: KnowledgeBase, steps: tuple[Step, ...]) -> None:
    """Mark the values a case leaves unstated, and the classes a fact may have because of them.

    ``gr:unstated``: a property expected on a kind of fact (``gr:expectedOn``) without a value on
    a fact of that kind, and a derived property (``gr:derivedFrom``) whose input is unstated.
    ``gr:possibleType``: a class a fact would have for some value of its unstated purpose or pain
    character (every class a pain character indicates: more than may be, never less, so an
    unknown is never taken for a no). The compiled evaluator reads both (reasoner/shacl/reader.py).
    """
    unstated: dict[Node, set[Node]] = {}
    subjects = _subjects_reader(g)
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
        levels = _levels(objs, finding)
        for proc, t in candidates:
            if t in by and (not levels or not _levels(objs, proc) or levels & _levels(objs, proc)):
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


def _flush(g: Graph, pending: list[tuple[Node, Node, Node]]) -> None:
    store = g.store
    if isinstance(store, CaseStore):
        store.extend(pending)
    else:
        for triple in pending:
            g.add(triple)
    pending.clear()


def _elapsed(add: Adder, node: Node, days: int, made: dict[int, tuple[Literal, Literal, Literal]]) -> None:
    terms = made.get(days)
    if terms is None:
        weeks = (Decimal(days) / 7).quantize(_HUNDREDTHS)
        months = (Decimal(days) / DAYS_PER_MONTH).quantize(_HUNDREDTHS)
        terms = made[days] = (literal(days, _INTEGER), literal(weeks, _DECIMAL), literal(months, _DECIMAL))
    add((node, GR.daysBeforeRequest, terms[0]))
    add((node, GR.weeksBeforeRequest, terms[1]))
    add((node, GR.monthsBeforeRequest, terms[2]))


_SIDES: dict[Node | None, frozenset[str]] = {
    CV.Left: frozenset({"L"}),
    CV.Right: frozenset({"R"}),
    CV.Bilateral: frozenset({"L", "R"}),
}
_MODIFIER_SIDES = {"LT": frozenset({"L"}), "RT": frozenset({"R"}), "50": frozenset({"L", "R"})}
_TRUE = Literal(True)


def _region_of_level(level: str) -> URIRef | None:
    head = level[:1].upper()
    return GR.CervicothoracicRegion if head in "CT" else GR.LumbosacralRegion if head in "LS" else None


def _regions(objs: Objects, kb: KnowledgeBase, node: Node) -> frozenset[URIRef]:
    """A fact's spinal regions: its code's region, else the regions of its levels."""
    code = kb.codes.get(_first(objs(node, CV.code)))  # type: ignore[call-overload]  # IRI keys; any term, or none, asked
    if code is not None and code.region is not None:
        return frozenset({code.region})
    return frozenset(r for v in objs(node, CV.level) if (r := _region_of_level(str(v))) is not None)


def _sides(objs: Objects, node: Node) -> frozenset[str]:
    side = _first(objs(node, CV.laterality))
    out = _SIDES.get(side, frozenset())
    for m in objs(node, CV.modifier):
        out |= _MODIFIER_SIDES.get(str(m), frozenset())
    return out


def _sites(
    objs: Objects, add: Adder, kb: KnowledgeBase, request: Node, lines: list[Line], procedures: tuple[Node, ...]
) -> None:
    """Add-ons, levels, regions and sides: what session limits and level limits count.

    Whether a fact whose region or side is not known (or a request's) is in the request's region
    or on its side is unstated: a limit it could exceed is undecided, not failed.
    """
    codes = {line.code for line in lines}
    regions = frozenset(r for v in objs(request, CV.level) if (r := _region_of_level(str(v))) is not None)
    sides = _sides(objs, request)
    for line in lines:
        code = kb.codes.get(line.code)
        regions |= _regions(objs, kb, line.node)
        sides |= _sides(objs, line.node)
        if code is None:
            continue
        if code.add_on_to:
            add((line.node, GR.addOnCode, _TRUE))
            if not code.add_on_to & codes:
                for primary in sorted(code.add_on_to):
                    add((line.node, GR.missingPrimaryCode, primary))
    counting.write_level_count(add, request, counting.level_bounds(objs, kb, request, lines, lambda n: _sides(objs, n)))
    add((request, GR.regionCount, literal(len(regions), _INTEGER)))
    for line in lines:
        add((line.node, GR.sameRegionAsRequest, _TRUE))
        add((line.node, GR.sameSideAsRequest, _TRUE))
    for proc in procedures:
        code = kb.codes.get(_first(objs(proc, CV.code)))  # type: ignore[call-overload]  # IRI keys; any term, or none, asked
        if code is not None and code.add_on_to:
            add((proc, GR.addOnCode, _TRUE))
        theirs = _regions(objs, kb, proc)
        if not theirs or not regions:
            add((proc, GR.unstated, GR.sameRegionAsRequest))  # not known: the same region, or not
        elif theirs & regions:
            add((proc, GR.sameRegionAsRequest, _TRUE))
        side = _sides(objs, proc)
        if not side or not sides:
            add((proc, GR.unstated, GR.sameSideAsRequest))
        elif side & sides:
            add((proc, GR.sameSideAsRequest, _TRUE))


def _request_diagnoses(objs: Objects, add: Adder, kb: KnowledgeBase, request: Node, request_date: date) -> None:
    """Each diagnosis on the request: typed as one, and linked to the diagnosis lists its code is on.

    Matched by notation, so a code the knowledge base does not hold is still found in a range or
    family; a code deleted from ICD-10-CM on or before the request date is on no list.
    """
    for prop in (CV.primaryDiagnosis, CV.secondaryDiagnosis):
        for diagnosis in tuple(objs(request, prop)):
            add((diagnosis, _TYPE, GR.RequestDiagnosis))
            code = _first(objs(diagnosis, CV.code))
            notation = icd10cm_notation(code, kb.codes)
            if notation is None or deleted_by(kb, code, request_date):
                continue
            for listed in sorted(kb.lists_holding(notation)):
                add((diagnosis, GR.onDiagnosisList, listed))


def deleted_by(kb: KnowledgeBase, code: Node | None, when: date) -> str | None:
    """The date (ISO) ``code`` was deleted from its code set, when that is on or before ``when``."""
    known = kb.codes.get(code) if isinstance(code, URIRef) else None
    if known is None or known.deleted_on is None:
        return None
    return known.deleted_on if date.fromisoformat(known.deleted_on) <= when else None


def _levels(objs: Objects, node: Node) -> set[str]:
    return {str(v) for v in objs(node, CV.level)}


def _mark_addressed(
    objs: Objects, add: Adder, kb: KnowledgeBase, case_node: Node, procedures: tuple[Node, ...]
) -> None:
    # For each procedure class, whether any procedure has it and the union of their levels: a
    # finding is addressed by a procedure of a class that addresses it at one of its levels (at
    # any level when the finding has none). Pairing findings with procedures was quadratic.
    done: set[Node] = set()
    levels_done: dict[Node, set[str]] = {}
    for proc in procedures:
        levels = _levels(objs, proc)
        for t in objs(proc, _TYPE):
            done.add(t)
            levels_done.setdefault(t, set()).update(levels)
    for finding in tuple(objs(case_node, CV.imagingFinding)):
        types = set(objs(finding, _TYPE))
        if GR.PainGeneratorFinding not in types:
            continue
        if _first(objs(finding, CV.addressed)) == _TRUE:
            add((finding, GR.addressed, _TRUE))
            continue
        by = frozenset().union(*(kb.addressed_by.get(t, frozenset()) for t in types if isinstance(t, URIRef)))
        levels = _levels(objs, finding)
        if any(t in done and (not levels or levels & levels_done[t]) for t in by):
            add((finding, GR.addressed, _TRUE))


# --- Sites of repeat rules (issue 24) ------------------------------------------------------------------

_LEVEL = re.compile(r"^([CTLS])(\d+)(?:[-/]([CTLS])?(\d+))?$")
_WILD = "?"  # a site whose place neither the request nor the fact states


@lru_cache(maxsize=1024)
def level_key(level: str) -> str:
    """A spinal level as one spelling: ``L4-L5``, ``l4-5`` and ``L4/5`` are ``L4-5``; ``L5-S1`` stays."""
    text = str(level).strip().upper().replace(" ", "")
    m = _LEVEL.match(text)
    if m is None:
        return text
    head, first, other, second = m.groups()
    if second is None:
        return f"{head}{first}"
    return f"{head}{first}-{'' if other in (None, head) else other}{second}"


def _level_keys(objs: Objects, node: Node) -> frozenset[str]:
    return frozenset(level_key(str(v)) for v in objs(node, CV.level))


def _same_levels(objs: Objects, add: Adder, request: Node, facts: Iterable[Node]) -> None:
    """Whether each prior procedure and imaging finding shares a level with the request (unstated: either has none)."""
    requested = _level_keys(objs, request)
    for fact in facts:
        theirs = _level_keys(objs, fact)
        if not theirs or not requested:
            add((fact, GR.unstated, GR.sameLevelAsRequest))
        elif theirs & requested:
            add((fact, GR.sameLevelAsRequest, _TRUE))


def _latest_at_site(
    objs: Objects,
    add: Adder,
    kb: KnowledgeBase,
    request: Node,
    procedures: tuple[Node, ...],
    criteria: Iterable[URIRef],
) -> None:
    """For each applicable rule with ``gr:mostRecentOnly``: the earlier procedures most recent at a site of the request.

    A site is a place of the request as the rule scopes it (region, level, side). An earlier procedure
    of the rule's class is the most recent at a site when no other of the class there is later.
    Kleene's logic throughout: a date, level, side or purpose not stated makes the answer unknown,
    and a possible statement then names the values it hangs on (``gr:hangsOn``). Facts that state
    everything are compared through the latest date at each site (linear in the history); only
    those that leave something unstated are compared pairwise.
    """
    scopes = [kb.site_scopes[c] for c in criteria if c in kb.site_scopes]
    if not scopes or not procedures:
        return
    lines = tuple(objs(request, CV.line))
    requested = {
        "region": _regions(objs, kb, request).union(*(_regions(objs, kb, ln) for ln in lines)),
        "level": _level_keys(objs, request),
        "side": _sides(objs, request).union(*(_sides(objs, ln) for ln in lines)),
    }
    facts: dict[Node, _Placed] = {}
    for scope in scopes:
        dims = tuple(d for d, on in (("region", scope.region), ("level", scope.level), ("side", scope.side)) if on)
        members: dict[Node, Truth] = {}
        for p in procedures:
            member = _member(objs, p, scope.procedure_class)
            if member is not False:
                members[p] = member
                if p not in facts:
                    facts[p] = _placed(objs, kb, p)
        sure = [p for p, m in members.items() if m is True and facts[p].when is not None and facts[p].states(dims)]
        stated = set(sure)
        unsure = [p for p in members if p not in stated]
        latest: dict[tuple[object, ...], date] = {}  # the latest date at each site of the facts that state everything
        for q in sure:
            for site in _sites_of(facts[q], dims, None):
                when = facts[q].when
                # (sure: each states its date)
                if site not in latest or latest[site] < when:  # type: ignore[operator]
                    latest[site] = when  # type: ignore[assignment]
        for p in members:
            truth = _latest(p, dims, requested, facts, members, latest, unsure, request)
            if truth is True:
                add((p, GR.latestAtSite, scope.criterion))
            elif truth is not False:
                _possibly(add, p, GR.latestAtSite, scope.criterion, truth.gaps)


@dataclass(frozen=True, slots=True)
class _Placed:
    """Where and when a prior procedure was done: its date and its values on each site dimension."""

    fact: Node
    when: date | None
    places: dict[str, frozenset[object]]

    def states(self, dims: tuple[str, ...]) -> bool:
        return all(self.places[d] for d in dims)


_DIM_PROPERTY = {"region": CV.level, "level": CV.level, "side": CV.laterality}


def _placed(objs: Objects, kb: KnowledgeBase, fact: Node) -> _Placed:
    stated = _first(objs(fact, CV.date))
    when = stated.toPython() if isinstance(stated, Literal) else None
    places: dict[str, frozenset[object]] = {
        "region": _regions(objs, kb, fact),
        "level": _level_keys(objs, fact),
        "side": _sides(objs, fact),
    }
    return _Placed(fact, when if isinstance(when, date) else None, places)


def _member(objs: Objects, fact: Node, cls: URIRef) -> Truth:
    """Whether the fact is of the class: for certain, or only possibly (its purpose unstated)."""
    if cls in objs(fact, _TYPE):
        return True
    if cls in objs(fact, GR.possibleType):
        because = frozenset(Gap(fact, p) for p in objs(fact, GR.uncertainBecause))
        return Unknown(because or frozenset(Gap(fact, p) for p in objs(fact, GR.unstated)))
    return False


def _sites_of(
    placed: _Placed, dims: tuple[str, ...], requested: Mapping[str, frozenset[object]] | None
) -> list[tuple[object, ...]]:
    """The sites of a fact (with ``requested``: those of the request it may be at; a place neither states: ``?``)."""
    sites: list[tuple[object, ...]] = [()]
    for d in dims:
        mine = placed.places[d]
        if requested is None:
            values: frozenset[object] = mine
        elif requested[d]:
            values = requested[d] & mine if mine else requested[d]
        else:
            values = mine or frozenset({_WILD})
        sites = [(*site, v) for site in sites for v in sorted(values, key=str)]
    return sites


def _latest(
    p: Node,
    dims: tuple[str, ...],
    requested: Mapping[str, frozenset[object]],
    facts: dict[Node, _Placed],
    members: dict[Node, Truth],
    latest: dict[tuple[object, ...], date],
    unsure: list[Node],
    request: Node,
) -> Truth:
    """Kleene: ``p`` is the most recent member at some site of the request it may be at."""
    mine = facts[p]
    result: Truth = False
    for site in _sites_of(mine, dims, requested):
        superseded: Truth = False
        if _WILD in site:  # where neither p nor the request says: any other member may be there
            others = [q for q in members if q is not p]
        else:
            others = [q for q in unsure if q is not p]
            best = latest.get(site)
            if best is not None:
                superseded = best > mine.when if mine.when is not None else Unknown(frozenset({Gap(p, CV.date)}))
        for q in others:
            if superseded is True:
                break
            later = _later(facts[q], mine)
            if later is not False:
                at = _at(facts[q], mine, site, dims, request)
                superseded = kleene_or(superseded, kleene_and(members[q], kleene_and(at, later)))
        result = kleene_or(result, kleene_not(superseded))
        if result is True:
            return True
    return result


def _later(q: _Placed, p: _Placed) -> Truth:
    if q.when is not None and p.when is not None:
        return q.when > p.when
    return Unknown(frozenset(Gap(f.fact, CV.date) for f in (q, p) if f.when is None))


def _at(q: _Placed, p: _Placed, site: tuple[object, ...], dims: tuple[str, ...], request: Node) -> Truth:
    """Kleene: ``q`` is at the site (a place neither ``p`` nor the request states: unknown)."""
    out: Truth = True
    for d, value in zip(dims, site, strict=True):
        theirs, prop = q.places[d], _DIM_PROPERTY[d]
        if value == _WILD:
            nowhere = {Gap(p.fact, prop), Gap(request, prop)} | ({Gap(q.fact, prop)} if not theirs else set())
            here: Truth = Unknown(frozenset(nowhere))
        elif not theirs:
            here = Unknown(frozenset({Gap(q.fact, prop)}))
        else:
            here = value in theirs
        out = kleene_and(out, here)
        if out is False:
            return False
    return out


def _possibly(add: Adder, subject: Node, predicate: URIRef, obj: Node, gaps: frozenset[Gap]) -> None:
    """A possible statement that hangs on the unstated values ``gaps``, each named."""
    statement = BNode()
    add((statement, _TYPE, GR.PossibleStatement))
    add((statement, GR.possibleSubject, subject))
    add((statement, GR.possiblePredicate, predicate))
    add((statement, GR.possibleObject, obj))
    for gap in sorted(gaps, key=lambda g: (str(g.fact), str(g.prop))):
        because = BNode()
        add((statement, GR.hangsOn, because))
        add((because, GR.gapFact, gap.fact))
        add((because, GR.gapProperty, gap.prop))
