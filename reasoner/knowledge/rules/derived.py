"""The rule kinds that read derived facts (reasoner/knowledge/derivations.py, reasoner/enrich/derived.py).

``gr:ValueRule`` (the derived value compared with thresholds), ``gr:IntervalRule`` (an elapsed time
within bounds) and ``gr:FactRequired`` (a fact was selected; a documentation kind, so it pends when
none was, never fails). Each writes a root shape targeting the derivation's IRI and reaching its
derived node by ``^gr:derivation`` (as sessions are reached by ``^gr:sessionOf``): compiled SHACL
only, thresholds bound by reference. A value left unstated makes the criterion unknown.
"""

from __future__ import annotations

from rdflib import RDF, SH, Literal, URIRef
from rdflib.term import Node

from reasoner.errors import KnowledgeBaseError
from reasoner.knowledge.rules.rule import Rule, local_name
from reasoner.vocab import GR

_DERIVATIONS = (GR.SelectFact, GR.Elapsed, GR.WindowedSeriesAggregate)
# gr:ValueRule's parameters: the shape parameter each binds, and words for messages.
_COMPARISONS = (
    (GR.atLeast, GR.minInclusiveFrom, "at least"),
    (GR.atMost, GR.maxInclusiveFrom, "at most"),
    (GR.above, GR.minExclusiveFrom, "above"),
    (GR.below, GR.maxExclusiveFrom, "below"),
)
_ELAPSED = {GR.Days: GR.elapsedDays, GR.Weeks: GR.elapsedWeeks, GR.Months: GR.elapsedMonths}


def _derivation(r: Rule, *kinds: URIRef) -> tuple[URIRef, str]:
    """The derivation the rule reads (of one of ``kinds``), and its label."""
    d = r.one(GR.derivation)
    if not isinstance(d, URIRef) or not any((d, RDF.type, k) in r.onto for k in kinds):
        names = " or ".join(f"gr:{local_name(k)}" for k in kinds)
        raise KnowledgeBaseError(f"rule of {r.tail}: gr:derivation must name a declared {names}")
    return d, r.label(d)


def _root(r: Rule, d: URIRef, label: str) -> URIRef:
    return r.node_shape("", label, checks=True, targetNode=d)


def _bound(
    r: Rule, root: URIRef, suffix: str, path: Node, words: tuple[str, str, str], bind: tuple[URIRef, URIRef]
) -> None:
    """A property shape: the derived value (``path`` from the derivation) compares with a bound threshold.

    ``words``: the derivation's name, the comparison ("at least") and what it compares with.
    """
    name, comparison, what = words
    r.prop(
        root,
        suffix,
        path,
        f"{name.lower()}, {comparison} {local_name(bind[1])}",
        message=f"{name} is not {comparison} {what}.",
        severity=SH.Violation,
        minCount=Literal(1),
        bind=bind,
    )


def value_rule(r: Rule) -> None:
    """``gr:ValueRule``: the derived value compares with each threshold given."""
    d, name = _derivation(r, *_DERIVATIONS)
    bounds = [(p, binder, words, r.threshold(p, required=False)) for p, binder, words in _COMPARISONS]
    given = [(p, binder, words, t) for p, binder, words, t in bounds if t is not None]
    if not given:
        raise KnowledgeBaseError(f"rule of {r.tail}: needs at least one of gr:atLeast, gr:atMost, gr:above, gr:below")
    root = _root(r, d, f"{name}: within the thresholds")
    path = r.sequence(r.inverse(GR.derivation), GR.derivedValue)
    for p, binder, words, t in given:
        _bound(r, root, local_name(p), path, (name, words, "the threshold"), (binder, t))


def interval_rule(r: Rule) -> None:
    """``gr:IntervalRule``: the elapsed time (or day number) within the bounds, in each threshold's unit."""
    d, name = _derivation(r, GR.Elapsed, GR.SelectFact)
    low, high = r.threshold(GR.minInterval, required=False), r.threshold(GR.maxInterval, required=False)
    if low is None and high is None:
        raise KnowledgeBaseError(f"rule of {r.tail}: needs gr:minInterval or gr:maxInterval")
    root = _root(r, d, f"{name}: within the interval")
    for t, binder, words in ((low, GR.minInclusiveFrom, "at least"), (high, GR.maxInclusiveFrom, "at most")):
        if t is None:
            continue
        unit = r.onto.value(t, GR.unit)
        if unit not in _ELAPSED:
            raise KnowledgeBaseError(f"rule of {r.tail}: {local_name(t)} must be in days, weeks or months")
        step = GR.dayNumber if unit == GR.Days and r.flag(GR.asDayNumber) else _ELAPSED[unit]  # type: ignore[index]
        suffix = "min" if binder == GR.minInclusiveFrom else "max"
        path = r.sequence(r.inverse(GR.derivation), step)
        _bound(r, root, suffix, path, (name, words, "the interval allowed"), (binder, t))


def fact_required(r: Rule) -> None:
    """``gr:FactRequired``: the derivation selected a fact; without one the criterion is unknown (pended)."""
    d, name = _derivation(r, GR.SelectFact)
    missing = r.onto.value(d, GR.missingText)
    kind = r.documentation_kind(name, str(missing) if missing is not None else f"{name}.")
    path = r.sequence(r.inverse(GR.derivation), GR.selected)
    doc = r.node_shape("documented", f"{name}: documented", targetNode=d)
    r.shapes.add((doc, GR.checksDocumentation, kind))
    r.prop(doc, "selected", path, f"{name.lower()}, selected", severity=SH.Violation, minCount=Literal(1))
    root = _root(r, d, f"{name}: a fact selected")
    r.prop(
        root,
        "selected",
        path,
        f"{name.lower()}, selected",
        message=f"No fact for {name.lower()}.",
        severity=SH.Violation,
        minCount=Literal(1),
    )
