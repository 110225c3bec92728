"""What counting criteria count: sessions, not records; levels, not units or lines.

Part of the enrich stage (reasoner/enrich/stage.py calls it); it writes only to the case graph.

A **session** of a procedure class is what one visit did: the records of that class on the same
date in the same spinal region, whatever the number of sides, lines or records (a bilateral medial
branch block entered as a left and a right record is one session). The request's own lines of the
class are one session too. Each session is a node of its own (``gr:Session``; ``gr:PriorSession``
or ``gr:RequestedSession``) with ``gr:sessionOf`` its class and ``gr:sessionRecord`` each record;
criteria count sessions with core SHACL (``[ sh:inversePath gr:sessionOf ]`` from the class).

A session's results are judged by the records on the sides the request treats
(``gr:judgedRecord``): a bilateral block with 80 % relief on the left and 60 % on the right
qualifies for a left RFA, not for a right or a bilateral one; a session with no record on the
request's sides is judged by all its records. Every judged record must qualify: the session
qualifies only for what each side it is judged on shows.

Where a record does not state its date or region, or states no purpose that would make it of the
class, whether it shares a session with another is not stated either. It then makes a session of
its own that is only possible (``gr:possibleType gr:Session``), unless no other record could
share it, and is a possible record (``gr:PossibleStatement``) of each session it could belong to:
a count is then a range (the sessions that surely exist, to those that may) and a session's
qualification hangs on the records it may hold; each possibility names the value it hangs on
(``gr:hangsOn``). Likewise for sides: a record or request without a side makes its place among a
session's judged records only possible. Nothing unstated is ever read as a "no".

The **level count** of the request (``gr:levelCount``) is the number of distinct levels the
request and its lines state. Codes and units count only when no level is stated, and then as a
range: at most every unit a level, at least as few as bilateral coding explains (left and right
lines of a code, units on both sides, modifier 50 one level per unit); when the two differ the
larger is only possible, hanging on the request's levels, so a limit only the larger exceeds
pends and asks for the levels instead of denying.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from rdflib import RDF, XSD, BNode, Literal, URIRef
from rdflib.term import Node

from reasoner._rdf.terms import literal
from reasoner.vocab import CV, GR

if TYPE_CHECKING:
    from reasoner.enrich.values import Line
    from reasoner.knowledge.base import KnowledgeBase

Objects = Callable[[Node, Node], Iterable[Node]]
Adder = Callable[[tuple[Node, Node, Node]], None]
Sides = Callable[[Node], frozenset[str]]
Regions = Callable[[Node], frozenset[URIRef]]

_TYPE = RDF.type
# Plain module constants: a DefinedNamespace attribute can cost a microsecond a read.
_SESSION, _PRIOR, _REQUESTED, _POSSIBLE_TYPE = GR.Session, GR.PriorSession, GR.RequestedSession, GR.possibleType
_SESSION_OF, _RECORD, _JUDGED, _HANGS_ON = GR.sessionOf, GR.sessionRecord, GR.judgedRecord, GR.hangsOn
_BOTH = frozenset({"L", "R"})
_SIDE_OPTIONS = (frozenset({"L"}), frozenset({"R"}), _BOTH)
# Blank nodes named from a counter under a prefix of this process (rdflib draws a UUID for each: a
# long history's sessions cost a tenth of its enrichment that way).
_NAMES = itertools.count()
_PREFIX = f"gr{uuid.uuid4().hex[:16]}s"


def _fresh() -> BNode:
    return BNode(_PREFIX + str(next(_NAMES)))


# Beyond this many combinations of unstated sides and memberships, every record is only possibly judged.
_MAX_WORLDS = 4096


@dataclass(frozen=True, slots=True)
class _Record:
    node: Node
    when: date | None
    regions: frozenset[URIRef]
    sides: frozenset[str]
    sure: bool  # surely of the class (not only for some unstated purpose)
    gaps: tuple[tuple[Node, Node], ...]  # (fact, property): what its membership of a session hangs on

    def shares(self, when: date | None, regions: frozenset[URIRef]) -> bool:
        """Whether it could be of a session on ``when`` in ``regions`` (an unstated one: either)."""
        return (self.when is None or when is None or self.when == when) and (
            not self.regions or not regions or not self.regions.isdisjoint(regions)
        )


@dataclass(slots=True)
class _Session:
    node: BNode
    when: date | None
    regions: frozenset[URIRef]
    members: list[_Record]  # surely of the session
    maybe: list[_Record]  # possibly of it


class _Writer:
    """Writes sessions, possible statements and the gaps they hang on (each gap node made once)."""

    def __init__(self, add: Adder) -> None:
        self.add = add
        self._gap_nodes: dict[tuple[Node, Node], BNode] = {}

    def hang(self, holder: Node, gaps: Iterable[tuple[Node, Node]]) -> None:
        for gap in sorted(set(gaps), key=str):
            node = self._gap_nodes.get(gap)
            if node is None:
                node = self._gap_nodes[gap] = _fresh()
                self.add((node, GR.gapFact, gap[0]))
                self.add((node, GR.gapProperty, gap[1]))
            self.add((holder, _HANGS_ON, node))

    def maybe(self, s: Node, p: URIRef, o: Node, gaps: Iterable[tuple[Node, Node]]) -> None:
        statement = _fresh()
        add = self.add
        add((statement, _TYPE, GR.PossibleStatement))
        add((statement, GR.possibleSubject, s))
        add((statement, GR.possiblePredicate, p))
        add((statement, GR.possibleObject, o))
        self.hang(statement, gaps)

    def session(self, cls: URIRef, kinds: Sequence[URIRef], records: Iterable[Node], *, sure: bool = True) -> BNode:
        node = _fresh()
        add, p = self.add, _TYPE if sure else _POSSIBLE_TYPE
        add((node, p, _SESSION))
        for kind in kinds:
            add((node, p, kind))
        add((node, _SESSION_OF, cls))
        for record in records:
            add((node, _RECORD, record))
        return node


def derive_sessions(
    objs: Objects,
    add: Adder,
    classes: Iterable[URIRef],
    request: Node,
    lines: Sequence[Line],
    procedures: Sequence[Node],
    regions_of: Regions,
    sides_of: Sides,
) -> None:
    """Write the sessions of each class in ``classes``: the request's, and the history's (see the module docstring)."""
    out = _Writer(add)
    asked = sides_of(request).union(*(sides_of(line.node) for line in lines))
    for cls in sorted(classes, key=str):
        requested = [line.node for line in lines if cls in line.classes]
        if requested:
            out.session(cls, (_REQUESTED,), requested)
        records = [r for p in procedures if (r := _record(objs, p, cls, regions_of, sides_of)) is not None]
        if records:
            for session in _group(out, cls, records):
                _judge(out, session, asked, request)


def _record(objs: Objects, proc: Node, cls: URIRef, regions_of: Regions, sides_of: Sides) -> _Record | None:
    sure = cls in objs(proc, _TYPE)
    if not sure and cls not in objs(proc, GR.possibleType):
        return None
    when = next(iter(objs(proc, CV.date)), None)
    day = when.toPython() if isinstance(when, Literal) else None
    day = day if isinstance(day, date) else None
    regions = regions_of(proc)
    gaps = [] if sure else [(proc, p) for p in objs(proc, GR.uncertainBecause)]
    if day is None:
        gaps.append((proc, CV.date))
    if not regions:
        gaps.append((proc, CV.level))
    return _Record(proc, day, regions, sides_of(proc), sure, tuple(gaps))


def _group(out: _Writer, cls: URIRef, records: list[_Record]) -> list[_Session]:
    """The sessions of one class's records: those that surely exist, then those that may."""
    certain = [r for r in records if not r.gaps]
    uncertain = [r for r in records if r.gaps]
    anchors: list[_Session] = []
    by_day: dict[date, list[_Record]] = {}
    for r in certain:
        by_day.setdefault(r.when, []).append(r)  # type: ignore[arg-type]  # dated: an undated record has a gap
    for day in sorted(by_day):
        for group in _overlapping(by_day[day]):
            node = out.session(cls, (_PRIOR,), (r.node for r in group))
            anchors.append(_Session(node, day, frozenset().union(*(r.regions for r in group)), group, []))
    alone: list[_Session] = []  # sessions of one uncertain record that no other record could share
    rest: list[_Session] = []
    for u in sorted(uncertain, key=lambda r: str(r.node)):
        near = [s for s in anchors if u.shares(s.when, s.regions)]
        sure = u.sure and not near and not any(u.shares(s.when, s.regions) for s in alone)
        node = out.session(cls, (_PRIOR,), (u.node,), sure=sure)
        session = _Session(node, u.when, u.regions, [u], [])
        if not sure:
            out.hang(node, u.gaps)
        (alone if sure else rest).append(session)
    for u in uncertain:  # each session an uncertain record could belong to, besides its own
        for s in (*anchors, *alone):
            if s.members[0] is not u and u.shares(s.when, s.regions):
                out.maybe(s.node, _RECORD, u.node, u.gaps)
                s.maybe.append(u)
    return [*anchors, *alone, *rest]


def _overlapping(records: list[_Record]) -> list[list[_Record]]:
    """Records of one day grouped by region: those whose regions overlap, directly or through another, together."""
    if len(records) == 1:
        return [records]
    groups: list[list[_Record]] = []
    for r in sorted(records, key=lambda r: str(r.node)):
        joined = [g for g in groups if any(not r.regions.isdisjoint(o.regions) for o in g)]
        merged = [r, *(o for g in joined for o in g)]
        groups = [g for g in groups if g not in joined] + [sorted(merged, key=lambda r: str(r.node))]
    return groups


def _judge(out: _Writer, session: _Session, asked: frozenset[str], request: Node) -> None:
    """Which records of a session its results are judged by, for the sides the request treats."""
    members, maybe = session.members, session.maybe
    if not maybe and (len(members) == 1 or (asked and all(m.sides for m in members))):
        for m in _on_sides(members, asked):
            out.add((session.node, _JUDGED, m.node))
        return
    everyone = [*members, *maybe]
    unknown = [m for m in everyone if not m.sides]
    dimensions: list[Sequence[object]] = [(True, False)] * len(maybe)
    dimensions += [_SIDE_OPTIONS] * len(unknown)
    dimensions += [_SIDE_OPTIONS] if not asked else []
    gaps: list[tuple[Node, Node]] = [(m.node, CV.laterality) for m in unknown]
    gaps += [(request, CV.laterality)] if not asked else []
    gaps += [g for m in maybe for g in m.gaps]
    worlds = 1
    for d in dimensions:
        worlds *= len(d)
    always: set[Node] = {m.node for m in members}
    ever: set[Node] = set()
    if worlds > _MAX_WORLDS:
        always = set()
        ever = {m.node for m in everyone}
    else:
        for world in itertools.product(*dimensions):
            present = list(members) + [m for m, there in zip(maybe, world, strict=False) if there]
            sides = dict(zip((m.node for m in unknown), world[len(maybe) :], strict=False))
            q = asked or world[-1]
            # A world's values past its presences are sides (_SIDE_OPTIONS): the product is typed as objects.
            judged = {m.node for m in _on_sides(present, q, sides)}  # type: ignore[arg-type]
            always &= judged
            ever |= judged
    for m in everyone:
        if m.node in always:
            out.add((session.node, _JUDGED, m.node))
        elif m.node in ever:
            out.maybe(session.node, _JUDGED, m.node, gaps)


def _on_sides(
    records: Sequence[_Record], asked: frozenset[str], sides: dict[Node, frozenset[str]] | None = None
) -> list[_Record]:
    """The records on a side the request treats; all of them when none is (or no side is stated)."""
    sides = sides or {}
    on = [r for r in records if not (sides.get(r.node) or r.sides or _BOTH).isdisjoint(asked or _BOTH)]
    return on or list(records)


def level_bounds(
    objs: Objects, kb: KnowledgeBase, request: Node, lines: Sequence[Line], sides_of: Sides
) -> tuple[int, int]:
    """The fewest and the most levels the request can treat (see the module docstring)."""
    stated = {str(v) for v in objs(request, CV.level)}
    for line in lines:
        stated.update(str(v) for v in objs(line.node, CV.level))
    if stated:
        return len(stated), len(stated)
    asked = sides_of(request).union(*(sides_of(line.node) for line in lines))
    by_code: dict[URIRef, list[tuple[int, frozenset[str], bool]]] = {}
    for line in lines:
        code = kb.codes.get(line.code)
        if code is None or not code.levels_per_unit:
            continue
        bilateral = any(str(m) == "50" for m in objs(line.node, CV.modifier))
        by_code.setdefault(line.code, []).append((code.levels_per_unit * line.units, sides_of(line.node), bilateral))
    fewest = most = 0
    for coded in by_code.values():
        most += sum(n for n, _sides, _fifty in coded)
        per_side = {"L": 0, "R": 0}
        both = plain = 0
        for n, sides, fifty in coded:
            if fifty or sides == _BOTH:
                both = max(both, n)  # one level per unit, on both sides
            elif len(sides) == 1:
                per_side[next(iter(sides))] += n
            else:
                plain += n
        could_be_bilateral = not asked or asked == _BOTH
        fewest += max(both, *per_side.values(), (plain + 1) // 2 if could_be_bilateral else plain)
    return fewest, most


def write_level_count(out_add: Adder, request: Node, bounds: tuple[int, int]) -> None:
    """``gr:levelCount``: the fewest levels for certain; the most only possibly, hanging on the request's levels."""
    fewest, most = bounds
    out_add((request, GR.levelCount, literal(fewest, XSD.integer)))
    if most > fewest:
        _Writer(out_add).maybe(request, GR.levelCount, literal(most, XSD.integer), [(request, CV.level)])
