"""Derived facts declared as data: one generic enrichment computes every derivation a policy's criteria use.

Part of the enrich stage (reasoner/enrich/stage.py calls :func:`derive` once the facts are typed
and before the unstated values are marked); it writes only to the case graph. The declarations
are read at load (reasoner/knowledge/derivations.py). Each derivation gets **one** derived node per
case (``gr:DerivedValue``, ``gr:derivation`` its declaration), always, so a shape always reaches it;
what cannot be computed is left unstated (``gr:unstated``), so a criterion reading it is unknown and
pends, never not met (three-valued: only stated values fail).

- ``gr:SelectFact``: the latest (earliest) dated fact of the class in the window; no candidate:
  unstated; an undated candidate: every selection only possible, hanging on the undated dates.
- ``gr:Elapsed``: days, weeks, months and day number between two ends; unstated when either is.
- ``gr:WindowedSeriesAggregate``: the best percent of days meeting the per-sample threshold over the
  whole windows inside the span; days without a sample are gaps, so the best window lies between a
  lower bound (gaps not meeting) and an upper one (gaps meeting); the value is stated only when both
  give the same answer to every comparison a value rule makes of it, else unstated, naming the gap
  days (``gr:gapDays``) of the window that decides. Decimal arithmetic throughout.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from rdflib import RDF, XSD, BNode, Literal, URIRef
from rdflib.term import Node

from reasoner._rdf.terms import literal
from reasoner.enrich.access import Adder, Objects, first_of
from reasoner.knowledge import derivations
from reasoner.knowledge.derivations import DAYS_PER_MONTH, Derivation
from reasoner.vocab import CASE_DATA, CV, GR, KB

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase

Subjects = Callable[[Node, Node], Iterable[Node]]

_TYPE = RDF.type
_REQUESTED = frozenset({CV.RequestLine, CV.ServiceRequest})
_HUNDREDTHS = Decimal("0.01")
_PRECISION = Decimal("0.000001")  # keeps every comparison with a threshold of two decimals (windows < 10,000 days)
_ELAPSED_OUTPUTS = (GR.elapsedDays, GR.elapsedWeeks, GR.elapsedMonths, GR.dayNumber)
_VALUES = (CV.value, CV.valueCode, CV.valueBoolean)  # at most one is given (the case shapes say so)
_OPS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}
_NAMES = itertools.count()
_PREFIX = f"gr{uuid.uuid4().hex[:16]}d"


def _fresh() -> BNode:
    return BNode(_PREFIX + str(next(_NAMES)))


@dataclass(slots=True)
class _Out:
    """Writes one derived node, its possible statements and the gaps they hang on."""

    add: Adder
    node: Node

    def unstated(self, *props: URIRef) -> None:
        for p in props:
            self.add((self.node, GR.unstated, p))

    def maybe(self, p: URIRef, o: Node, gaps: Sequence[tuple[Node, Node]]) -> None:
        statement = _fresh()
        self.add((statement, _TYPE, GR.PossibleStatement))
        self.add((statement, GR.possibleSubject, self.node))
        self.add((statement, GR.possiblePredicate, p))
        self.add((statement, GR.possibleObject, o))
        for fact, prop in gaps:
            gap = _fresh()
            self.add((gap, GR.gapFact, fact))
            self.add((gap, GR.gapProperty, prop))
            self.add((statement, GR.hangsOn, gap))

    def elapsed(self, days: int) -> None:
        add, node = self.add, self.node
        add((node, GR.elapsedDays, literal(days, XSD.integer)))
        add((node, GR.elapsedWeeks, literal((Decimal(days) / 7).quantize(_HUNDREDTHS), XSD.decimal)))
        add((node, GR.elapsedMonths, literal((Decimal(days) / DAYS_PER_MONTH).quantize(_HUNDREDTHS), XSD.decimal)))
        add((node, GR.dayNumber, literal(days + 1, XSD.integer)))


def derive(
    objs: Objects,
    subjects: Subjects,
    add: Adder,
    kb: KnowledgeBase,
    case_node: Node,
    request_date: date,
    criteria: Iterable[URIRef],
) -> None:
    """Write the derived node of every derivation ``criteria`` use (see the module docstring).

    A derived node is named from the case and the derivation (``<case>/derived/<policy>/<name>``), so
    the facts a determination lists keep their ids from one run to the next.
    """
    base = str(case_node) if isinstance(case_node, URIRef) else str(CASE_DATA) + "case"
    dates: dict[URIRef, date | None] = {}  # each derivation's date, where another reads it (None: not known)
    for d in derivations.for_criteria(kb, criteria):
        tail = str(d.iri)[len(str(KB)) :] if str(d.iri).startswith(str(KB)) else str(d.iri).rsplit("/", 1)[-1]
        out = _Out(add, URIRef(f"{base}/derived/{tail}"))
        add((out.node, _TYPE, GR.DerivedValue))
        add((out.node, GR.derivation, d.iri))
        anchor = request_date if d.anchor is None else dates.get(d.anchor)
        if d.kind == GR.SelectFact:
            dates[d.iri] = _select(objs, subjects, out, d, anchor)
        elif d.kind == GR.Elapsed:
            start = request_date if d.start is None else dates.get(d.start)
            end = request_date if d.end is None else dates.get(d.end)
            if start is None or end is None:
                out.unstated(*_ELAPSED_OUTPUTS)
            else:
                out.elapsed((end - start).days)
            dates[d.iri] = None
        else:
            _aggregate(objs, subjects, out, d, anchor)
            dates[d.iri] = None


def _date_of(objs: Objects, fact: Node, p: URIRef) -> date | None:
    value = first_of(objs(fact, p))
    day = value.toPython() if isinstance(value, Literal) else None
    return day if isinstance(day, date) else None


def _value_of(objs: Objects, fact: Node, component: URIRef | None) -> Node | None:
    """The fact's value (a number, a coded value or a yes or no), or that of its component of class ``component``."""
    if component is not None:
        part = next((c for c in objs(fact, CV.component) if component in objs(c, _TYPE)), None)
        if part is None:
            return None
        fact = part
    for p in _VALUES:
        value = first_of(objs(fact, p))
        if value is not None:
            return value
    return None


def _select(objs: Objects, subjects: Subjects, out: _Out, d: Derivation, anchor: date | None) -> date | None:
    """A ``gr:SelectFact``: writes the selection; returns the selected fact's date when it is surely known."""
    assert d.fact_class is not None
    if anchor is None:  # what it counts from is not known
        out.unstated(GR.selected, GR.derivedValue, *_ELAPSED_OUTPUTS)
        return None
    method = d.method_class
    candidates = [  # facts of the record: never a requested line, which has the class of its code too
        c
        for c in subjects(_TYPE, d.fact_class)
        if (method is None or method in objs(c, _TYPE)) and not _REQUESTED.intersection(objs(c, _TYPE))
    ]
    dated: list[tuple[date, str, Node]] = []
    undated: list[Node] = []
    oldest = None if d.lookback_days is None else anchor - timedelta(d.lookback_days)
    for c in candidates:
        day = _date_of(objs, c, d.date_property)
        if day is None:
            undated.append(c)
        elif not (d.on_or_before and day > anchor) and (oldest is None or day >= oldest):
            dated.append((day, str(c), c))
    dated.sort(reverse=d.latest)
    best = dated[0] if dated else None
    if undated:  # any of them may be the one: nothing is surely selected
        gaps = [(u, d.date_property) for u in sorted(undated, key=str)]
        for c in ([best[2]] if best else []) + sorted(undated, key=str):
            out.maybe(GR.selected, c, gaps)
            value = _value_of(objs, c, d.component_class)
            if value is not None:
                out.maybe(GR.derivedValue, value, gaps)
        out.unstated(*_ELAPSED_OUTPUTS)
        return None
    if best is None:
        out.unstated(GR.selected, GR.derivedValue, *_ELAPSED_OUTPUTS)
        return None
    day, _name, fact = best
    out.add((out.node, GR.selected, fact))
    value = _value_of(objs, fact, d.component_class)
    if value is None:
        out.unstated(GR.derivedValue)
    else:
        out.add((out.node, GR.derivedValue, value))
    out.elapsed((anchor - day).days)
    return day


def _days(objs: Objects, subjects: Subjects, d: Derivation) -> dict[date, bool] | None:
    """Each day with a sample: whether it meets the per-sample threshold (None: no series at all)."""
    assert d.series_class is not None and d.sample_at_least is not None
    series = list(subjects(_TYPE, d.series_class))
    if not series:
        return None
    days: dict[date, bool] = {}
    for s in series:
        for sample in objs(s, CV.sample):
            day, value = _date_of(objs, sample, CV.date), first_of(objs(sample, CV.value))
            if day is None or not isinstance(value, Literal):
                continue  # a sample without its date or value is a gap
            try:
                met = Decimal(str(value)) >= d.sample_at_least
            except ArithmeticError:
                continue
            days[day] = days.get(day, False) or met
    return days


def _aggregate(objs: Objects, subjects: Subjects, out: _Out, d: Derivation, anchor: date | None) -> None:
    """A ``gr:WindowedSeriesAggregate`` (see the module docstring)."""
    days = None if anchor is None else _days(objs, subjects, d)
    if anchor is None or days is None:
        out.unstated(GR.derivedValue, GR.sampleCount)
        return
    span, width = d.span_days, d.window_days
    met = [days.get(anchor + timedelta(i)) is True for i in range(span)]
    gap = [anchor + timedelta(i) not in days for i in range(span)]
    low, high = [0], [0]
    for m, g in zip(met, gap, strict=True):
        low.append(low[-1] + m)
        high.append(high[-1] + (m or g))
    lows = [low[s + width] - low[s] for s in range(span - width + 1)]
    highs = [high[s + width] - high[s] for s in range(span - width + 1)]
    best_low, best_high = max(lows), max(highs)
    at_low, at_high = lows.index(best_low), highs.index(best_high)
    if _same_answers(d, best_low, best_high, width):
        first = anchor + timedelta(at_low)
        out.add((out.node, GR.derivedValue, literal(_percent(best_low, width), XSD.decimal)))
        out.add((out.node, GR.sampleCount, literal(best_low, XSD.integer)))
        out.add((out.node, GR.windowStart, literal(first, XSD.date)))
        out.add((out.node, GR.windowEnd, literal(first + timedelta(width - 1), XSD.date)))
        return
    first = anchor + timedelta(at_high)
    out.unstated(GR.derivedValue, GR.sampleCount)
    out.add((out.node, GR.windowStart, literal(first, XSD.date)))
    out.add((out.node, GR.windowEnd, literal(first + timedelta(width - 1), XSD.date)))
    missing = [first + timedelta(i) for i in range(width) if gap[at_high + i]]
    out.add((out.node, GR.gapDays, literal(date_ranges(missing), XSD.string)))


def _same_answers(d: Derivation, low: int, high: int, width: int) -> bool:
    """Whether the lower and upper bounds answer every comparison the rules make alike (exactly, in decimals)."""
    if low == high:
        return True
    if not d.bounds:
        return False
    a, b = Decimal(low) * 100 / width, Decimal(high) * 100 / width
    return all(_OPS[op](a, t) == _OPS[op](b, t) for op, t in d.bounds)


def _percent(count: int, width: int) -> Decimal:
    exact = Decimal(count * 100) / Decimal(width)
    return exact if exact == exact.to_integral_value() else exact.quantize(_PRECISION)


def date_ranges(days: Sequence[date]) -> str:
    """Days in words, consecutive ones as a range: ``2026-02-10 to 2026-02-19, 2026-02-25``."""
    parts: list[str] = []
    run: list[date] = []
    for day in sorted(days):
        if run and day != run[-1] + timedelta(1):
            parts.append(_run(run))
            run = []
        run.append(day)
    if run:
        parts.append(_run(run))
    return ", ".join(parts)


def _run(run: list[date]) -> str:
    return run[0].isoformat() if len(run) == 1 else f"{run[0].isoformat()} to {run[-1].isoformat()}"
