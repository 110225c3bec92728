"""Sites: the regions, levels and sides of a request and its facts, and what the stage derives from them.

Add-ons, regions and sides of the request and each prior procedure (``derive_sites``), whether a
fact shares a level with the request (``same_levels``), and, for a rule that counts only the most
recent procedure at a site (issue 24), the earlier procedures most recent at a site of the request
(``latest_at_site``, in Kleene's logic). Part of the enrich stage (reasoner/enrich/stage.py calls it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from rdflib import RDF, XSD, BNode, Literal, URIRef
from rdflib.term import Node

from reasoner._rdf.terms import literal
from reasoner.enrich import sessions as counting
from reasoner.enrich.access import Adder, Objects, first_of
from reasoner.enrich.values import Line
from reasoner.shacl.truth import Gap, Truth, Unknown, kleene_and, kleene_not, kleene_or
from reasoner.vocab import CV, GR

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase

_TYPE = RDF.type
_INTEGER = XSD.integer

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


def fact_regions(objs: Objects, kb: KnowledgeBase, node: Node) -> frozenset[URIRef]:
    """A fact's spinal regions: its code's region, else the regions of its levels."""
    code = kb.codes.get(first_of(objs(node, CV.code)))  # type: ignore[call-overload]  # IRI keys; any term, or none, asked
    if code is not None and code.region is not None:
        return frozenset({code.region})
    return frozenset(r for v in objs(node, CV.level) if (r := _region_of_level(str(v))) is not None)


def fact_sides(objs: Objects, node: Node) -> frozenset[str]:
    """A fact's sides (``L``, ``R``): its laterality and its modifiers'."""
    side = first_of(objs(node, CV.laterality))
    out = _SIDES.get(side, frozenset())
    for m in objs(node, CV.modifier):
        out |= _MODIFIER_SIDES.get(str(m), frozenset())
    return out


def derive_sites(
    objs: Objects, add: Adder, kb: KnowledgeBase, request: Node, lines: list[Line], procedures: tuple[Node, ...]
) -> None:
    """Add-ons, levels, regions and sides: what session limits and level limits count.

    Whether a fact whose region or side is not known (or a request's) is in the request's region
    or on its side is unstated: a limit it could exceed is undecided, not failed.
    """
    codes = {line.code for line in lines}
    regions = frozenset(r for v in objs(request, CV.level) if (r := _region_of_level(str(v))) is not None)
    sides = fact_sides(objs, request)
    for line in lines:
        code = kb.codes.get(line.code)
        regions |= fact_regions(objs, kb, line.node)
        sides |= fact_sides(objs, line.node)
        if code is None:
            continue
        if code.add_on_to:
            add((line.node, GR.addOnCode, _TRUE))
            if not code.add_on_to & codes:
                for primary in sorted(code.add_on_to):
                    add((line.node, GR.missingPrimaryCode, primary))
    counting.write_level_count(
        add, request, counting.level_bounds(objs, kb, request, lines, lambda n: fact_sides(objs, n))
    )
    add((request, GR.regionCount, literal(len(regions), _INTEGER)))
    for line in lines:
        add((line.node, GR.sameRegionAsRequest, _TRUE))
        add((line.node, GR.sameSideAsRequest, _TRUE))
    for proc in procedures:
        code = kb.codes.get(first_of(objs(proc, CV.code)))  # type: ignore[call-overload]  # IRI keys; any term, or none, asked
        if code is not None and code.add_on_to:
            add((proc, GR.addOnCode, _TRUE))
        theirs = fact_regions(objs, kb, proc)
        if not theirs or not regions:
            add((proc, GR.unstated, GR.sameRegionAsRequest))  # not known: the same region, or not
        elif theirs & regions:
            add((proc, GR.sameRegionAsRequest, _TRUE))
        side = fact_sides(objs, proc)
        if not side or not sides:
            add((proc, GR.unstated, GR.sameSideAsRequest))
        elif side & sides:
            add((proc, GR.sameSideAsRequest, _TRUE))


def fact_levels(objs: Objects, node: Node) -> set[str]:
    """A fact's levels, as written."""
    return {str(v) for v in objs(node, CV.level)}


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


def same_levels(objs: Objects, add: Adder, request: Node, facts: Iterable[Node]) -> None:
    """Whether each prior procedure and imaging finding shares a level with the request (unstated: either has none)."""
    requested = _level_keys(objs, request)
    for fact in facts:
        theirs = _level_keys(objs, fact)
        if not theirs or not requested:
            add((fact, GR.unstated, GR.sameLevelAsRequest))
        elif theirs & requested:
            add((fact, GR.sameLevelAsRequest, _TRUE))


def latest_at_site(
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
        "region": fact_regions(objs, kb, request).union(*(fact_regions(objs, kb, ln) for ln in lines)),
        "level": _level_keys(objs, request),
        "side": fact_sides(objs, request).union(*(fact_sides(objs, ln) for ln in lines)),
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
    stated = first_of(objs(fact, CV.date))
    when = stated.toPython() if isinstance(stated, Literal) else None
    places: dict[str, frozenset[object]] = {
        "region": fact_regions(objs, kb, fact),
        "level": _level_keys(objs, fact),
        "side": fact_sides(objs, fact),
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
