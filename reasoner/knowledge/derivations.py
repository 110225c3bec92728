"""Derived facts declared as data: the derivations of the knowledge base, read once at load.

A derivation (``gr:SelectFact``, ``gr:Elapsed``, ``gr:WindowedSeriesAggregate``; vocabulary in
ontology/core.ttl) says how to compute one fact of a case from its facts; the enrich stage
(reasoner/enrich/derived.py) computes it, and rules (reasoner/knowledge/rules/derived.py) compare
it. Here: :func:`read` turns the declarations into frozen :class:`Derivation` records in
topological order (a derivation after those it reads), refusing a malformed one; ``for_criteria``
gives the derivations some criteria use, with what those read; ``needs_of`` the case facts each
derivation reads (the sieve keeps them). Numbers are thresholds: a window or
a span is converted to whole days here (a month is 30.44 days, floored), a per-sample threshold
keeps its value. Reads only the knowledge base.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Protocol

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.term import Node

from reasoner._memo import per_knowledge_base
from reasoner.errors import KnowledgeBaseError
from reasoner.vocab import CV, GR

KINDS = (GR.SelectFact, GR.Elapsed, GR.WindowedSeriesAggregate)
DAYS_PER_MONTH = Decimal("30.44")
_DAYS_PER_UNIT = {GR.Days: Decimal(1), GR.Weeks: Decimal(7), GR.Months: DAYS_PER_MONTH}
#: The comparisons a gr:ValueRule makes, by its parameter: (operator, strict).
COMPARISONS = {GR.atLeast: ">=", GR.atMost: "<=", GR.above: ">", GR.below: "<"}


class WithDerivations(Protocol):
    """What :func:`for_criteria` reads of the knowledge base (which imports this module)."""

    @property
    def memo(self) -> dict[object, dict[Any, Any]]:
        """What functions of it remember (reasoner/_memo.py)."""

    @property
    def derivations(self) -> tuple[Derivation, ...]:
        """Its derivations, in order."""

    @property
    def derivations_used_by(self) -> Mapping[URIRef, frozenset[URIRef]]:
        """The derivations each criterion uses."""


@dataclass(frozen=True, slots=True)
class Derivation:
    """One declared derivation (the fields its kind uses; the others are None)."""

    iri: URIRef
    kind: URIRef
    label: str
    missing_text: str | None  # gr:missingText, as written
    anchor: URIRef | None = None  # another derivation, or None: the request date
    # gr:SelectFact
    fact_class: URIRef | None = None
    latest: bool = True
    method_class: URIRef | None = None
    component_class: URIRef | None = None
    date_property: URIRef = CV.date
    lookback_days: int | None = None
    on_or_before: bool = False
    # gr:Elapsed (None: the request date)
    start: URIRef | None = None
    end: URIRef | None = None
    # gr:WindowedSeriesAggregate
    series_class: URIRef | None = None
    sample_at_least: Decimal | None = None
    window_days: int = 0
    span_days: int = 0
    bounds: tuple[tuple[str, Decimal], ...] = ()  # what the value rules reading it compare it with
    # As written, for the explanation's words: the window's and the sample's values, the sample's unit.
    window_value: Literal | None = None
    sample_value: Literal | None = None
    sample_unit: URIRef | None = None

    @property
    def reads(self) -> tuple[URIRef, ...]:
        """The derivations this one reads."""
        return tuple(d for d in (self.anchor, self.start, self.end) if d is not None)

    @property
    def needs(self) -> tuple[frozenset[URIRef], ...]:
        """The facts it reads by their classes: those with every class of a set (none: it reads no fact itself).

        A ``gr:SelectFact`` reads the facts of its class (with a method of its method class, when
        given; the component it reads is part of the fact); a ``gr:WindowedSeriesAggregate`` the
        series of its class, samples and all; a ``gr:Elapsed`` only other derivations.
        """
        if self.fact_class is not None:
            return (frozenset(c for c in (self.fact_class, self.method_class) if c is not None),)
        return (frozenset({self.series_class}),) if self.series_class is not None else ()


class _Reader:
    def __init__(self, g: Graph, node: URIRef) -> None:
        self.g, self.node = g, node

    def fail(self, why: str) -> KnowledgeBaseError:
        return KnowledgeBaseError(f"derivation {_tail(self.node)}: {why}")

    def one(self, p: URIRef, *, required: bool = False) -> Node | None:
        values = list(self.g.objects(self.node, p))
        if len(values) > 1 or (required and not values):
            raise self.fail(f"needs {'exactly' if required else 'at most'} one {_tail(p)}")
        return values[0] if values else None

    def iri(self, p: URIRef, *, required: bool = False) -> URIRef | None:
        value = self.one(p, required=required)
        if value is not None and not isinstance(value, URIRef):
            raise self.fail(f"{_tail(p)} must name an IRI")
        return value

    def end(self, p: URIRef, *, required: bool = False) -> URIRef | None:
        """A derivation it reads (None: the request date)."""
        value = self.iri(p, required=required)
        if value is None or value == GR.RequestDate:
            return None
        if not any((value, RDF.type, k) in self.g for k in KINDS):
            raise self.fail(f"{_tail(p)} names {_tail(value)}, which is not a derivation")
        return value

    def threshold(self, p: URIRef, *, required: bool = False) -> tuple[Decimal, Node | None] | None:
        t = self.one(p, required=required)
        if t is None:
            return None
        value = self.g.value(t, GR.value)
        if (t, RDF.type, GR.Threshold) not in self.g or not isinstance(value, Literal):
            raise self.fail(f"{_tail(p)} must name a gr:Threshold with a value")
        return Decimal(str(value)), self.g.value(t, GR.unit)

    def days(self, p: URIRef, *, required: bool = False) -> int | None:
        found = self.threshold(p, required=required)
        if found is None:
            return None
        value, unit = found
        if unit not in _DAYS_PER_UNIT:
            raise self.fail(f"{_tail(p)} must be in days, weeks or months")
        return int((value * _DAYS_PER_UNIT[unit]).to_integral_value(ROUND_FLOOR))  # type: ignore[index]


def _read_one(g: Graph, node: URIRef, kind: URIRef, bounds: tuple[tuple[str, Decimal], ...]) -> Derivation:
    r = _Reader(g, node)
    label = g.value(node, RDFS.label)
    missing = g.value(node, GR.missingText)
    common = {
        "iri": node,
        "kind": kind,
        "label": str(label) if label is not None else _tail(node),
        "missing_text": str(missing) if missing is not None else None,
        "bounds": bounds,
    }
    if kind == GR.SelectFact:
        pick = r.iri(GR.pick)
        if pick not in (None, GR.Latest, GR.Earliest):
            raise r.fail("gr:pick must be gr:Latest or gr:Earliest")
        return Derivation(
            **common,  # type: ignore[arg-type]
            anchor=r.end(GR.anchor),
            fact_class=r.iri(GR.factClass, required=True),
            latest=pick != GR.Earliest,
            method_class=r.iri(GR.methodClass),
            component_class=r.iri(GR.componentClass),
            date_property=r.iri(GR.dateProperty) or CV.date,
            lookback_days=r.days(GR.lookback),
            on_or_before=g.value(node, GR.onOrBeforeAnchor) == Literal(True),
        )
    if kind == GR.Elapsed:
        return Derivation(**common, start=r.end(GR.from_, required=True), end=r.end(GR.to, required=True))  # type: ignore[arg-type]
    sample = r.threshold(GR.sampleAtLeast, required=True)
    assert sample is not None
    window, span = r.days(GR.windowLength, required=True), r.days(GR.searchSpan, required=True)
    assert window is not None and span is not None
    if not 0 < window <= span:
        raise r.fail("the window must be at least a day and no longer than the span")
    return Derivation(
        **common,  # type: ignore[arg-type]
        anchor=r.end(GR.anchor),
        series_class=r.iri(GR.seriesClass, required=True),
        sample_at_least=sample[0],
        window_days=window,
        span_days=span,
        window_value=_value_of(g, g.value(node, GR.windowLength)),
        sample_value=_value_of(g, g.value(node, GR.sampleAtLeast)),
        sample_unit=unit if isinstance(unit := sample[1], URIRef) else None,
    )


def _value_of(g: Graph, threshold: Node | None) -> Literal | None:
    value = g.value(threshold, GR.value) if threshold is not None else None
    return value if isinstance(value, Literal) else None


def read(g: Graph) -> tuple[Derivation, ...]:
    """Every derivation declared in ``g``, each after those it reads.

    Raises:
        KnowledgeBaseError: a derivation of more than one kind, with a missing or wrong parameter, or in a cycle.
    """
    bounds = _bounds(g)
    found: dict[URIRef, Derivation] = {}
    for kind in KINDS:
        for node in sorted(s for s in g.subjects(RDF.type, kind) if isinstance(s, URIRef)):
            if node in found:
                raise KnowledgeBaseError(f"derivation {_tail(node)}: needs exactly one kind of derivation")
            found[node] = _read_one(g, node, kind, tuple(sorted(bounds.get(node, ()))))
    ordered: list[Derivation] = []
    done: set[URIRef] = set()

    def visit(d: Derivation, stack: tuple[URIRef, ...]) -> None:
        if d.iri in done:
            return
        if d.iri in stack:
            raise KnowledgeBaseError(f"derivation {_tail(d.iri)}: reads itself through {_tail(stack[-1])}")
        for other in d.reads:
            visit(found[other], (*stack, d.iri))
        done.add(d.iri)
        ordered.append(d)

    for d in found.values():
        visit(d, ())
    return tuple(ordered)


def _bounds(g: Graph) -> dict[Node, set[tuple[str, Decimal]]]:
    """For each derivation: the comparisons the value rules reading it make."""
    out: dict[Node, set[tuple[str, Decimal]]] = {}
    for rule in g.subjects(RDF.type, GR.ValueRule):
        for d in g.objects(rule, GR.derivation):
            for p, op in COMPARISONS.items():
                for t in g.objects(rule, p):
                    value = g.value(t, GR.value)
                    if isinstance(value, Literal):
                        out.setdefault(d, set()).add((op, Decimal(str(value))))
    return out


def used_by(g: Graph) -> dict[URIRef, frozenset[URIRef]]:
    """For each criterion: the derivations its rules and gr:considers name."""
    out: dict[URIRef, set[URIRef]] = {}
    kinds = set(KINDS)
    for criterion, rule in g.subject_objects(GR.rule):
        for d in g.objects(rule, GR.derivation):
            if isinstance(criterion, URIRef) and isinstance(d, URIRef):
                out.setdefault(criterion, set()).add(d)
    for criterion, d in g.subject_objects(GR.considers):
        if isinstance(criterion, URIRef) and isinstance(d, URIRef) and not kinds.isdisjoint(g.objects(d, RDF.type)):
            out.setdefault(criterion, set()).add(d)
    return {c: frozenset(ds) for c, ds in out.items()}


def for_criteria(kb: WithDerivations, criteria: Iterable[URIRef]) -> tuple[Derivation, ...]:
    """The derivations ``criteria`` use, with those they read, in order (cached per knowledge base)."""
    return _for_criteria(kb, frozenset(criteria))


@per_knowledge_base(maxsize=256)
def _for_criteria(kb: WithDerivations, criteria: frozenset[URIRef]) -> tuple[Derivation, ...]:
    by_iri = {d.iri: d for d in kb.derivations}
    uses = kb.derivations_used_by
    wanted: set[URIRef] = set()
    stack = [d for c in criteria for d in uses.get(c, ())]
    while stack:
        d = stack.pop()
        if d in by_iri and d not in wanted:
            wanted.add(d)
            stack.extend(by_iri[d].reads)
    return tuple(d for d in kb.derivations if d.iri in wanted)


def needs_of(kb: WithDerivations) -> Mapping[URIRef, tuple[frozenset[URIRef], ...]]:
    """For every derivation: the facts it reads (:attr:`Derivation.needs`), and those the derivations it reads read."""
    return _needs_of(kb)


@per_knowledge_base(maxsize=1)
def _needs_of(kb: WithDerivations) -> Mapping[URIRef, tuple[frozenset[URIRef], ...]]:
    out: dict[URIRef, tuple[frozenset[URIRef], ...]] = {}
    for d in kb.derivations:  # each after those it reads
        found = dict.fromkeys(d.needs)
        for other in d.reads:
            found.update(dict.fromkeys(out[other]))
        out[d.iri] = tuple(found)
    return out


def _tail(iri: Node) -> str:
    return str(iri).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
