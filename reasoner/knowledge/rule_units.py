"""Lint: a declared rule's thresholds are in a unit that converts to that of what the rule compares.

A ``gr:ValueRule`` compares a derived value: a ``gr:SelectFact``'s is the selected fact's value
(or its ``gr:componentClass`` component's), in its observation kind's ``gr:canonicalUnit``; a
``gr:WindowedSeriesAggregate``'s is a percent of days. A ``gr:IntervalRule`` compares an elapsed
time (days, weeks or months). A ``gr:WindowedSeriesAggregate``'s ``gr:sampleAtLeast`` compares
each sample, in its series class's canonical unit. Two units convert when they share their
``gr:canonical`` unit (ontology/units.ttl; the threshold units are in core.ttl). Where the
compared quantity has no declared unit, nothing is checked. Reads only the knowledge base.

Also: each observation kind says how its values are given (``observation_kind_problems``). It was a
SPARQL meta-shape targeting every subject of ``rdfs:subClassOf``, and pyshacl ran its query once per
class: half of every lint (2 s of 3.8 s for the bundled knowledge base).
"""

from __future__ import annotations

from collections.abc import Iterator

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.term import Node

from reasoner.vocab import GR

# The parameters by which each rule kind names its thresholds.
_VALUE_PARAMETERS: tuple[URIRef, ...] = (GR.atLeast, GR.atMost, GR.above, GR.below)
_INTERVAL_PARAMETERS: tuple[URIRef, ...] = (GR.minInterval, GR.maxInterval)


def observation_kind_problems(kb: Graph) -> list[tuple[Node, str]]:
    """Each observation kind (under ``gr:ObservationKind``, no subclass) giving no unit, value set or kind of value."""
    under = kb.transitive_subjects(RDFS.subClassOf, GR.ObservationKind)
    kinds = {k for k in under if k is not None and k != GR.ObservationKind}
    true = Literal(True)
    return [
        (
            kind,
            "an observation kind (under gr:ObservationKind, with no subclass) needs a gr:canonicalUnit, "
            "a gr:valueSet, gr:booleanValued true or gr:valueless true",
        )
        for kind in sorted(kinds, key=str)
        if (None, RDFS.subClassOf, kind) not in kb
        and not any((kind, p, None) in kb for p in (GR.canonicalUnit, GR.valueSet))
        and not any((kind, p, true) in kb for p in (GR.booleanValued, GR.valueless))
    ]


def unit_code_problems(kb: Graph) -> list[tuple[Node, str]]:
    """Each unit whose UCUM code (``gr:ucumCode``) another unit has too: a case's unit would be ambiguous.

    In code, not a SPARQL meta-shape: pyshacl ran that query once per unit, a sixth of a lint.
    """
    holders: dict[str, set[Node]] = {}
    for unit, code in kb.subject_objects(GR.ucumCode):
        holders.setdefault(str(code), set()).add(unit)
    shared = {unit for units in holders.values() if len(units) > 1 for unit in units}
    message = "another unit has the same gr:ucumCode, so a case's unit would be ambiguous"
    return [(unit, message) for unit in sorted(shared, key=str)]


def unit_problems(kb: Graph) -> list[tuple[Node, str]]:
    """Each rule (and series derivation) with a threshold whose unit does not convert to what it compares."""
    out: list[tuple[Node, str]] = []
    for criterion, rule in sorted(kb.subject_objects(GR.rule), key=lambda t: str(t[0])):
        derivation = kb.value(rule, GR.derivation)
        if not isinstance(derivation, URIRef):
            continue
        if (rule, RDF.type, GR.ValueRule) in kb:
            kind, parameters, compared = "gr:ValueRule", _VALUE_PARAMETERS, _value_unit(kb, derivation)
        elif (rule, RDF.type, GR.IntervalRule) in kb:
            kind, parameters, compared = "gr:IntervalRule", _INTERVAL_PARAMETERS, (GR.Days, "the elapsed time")
        else:
            continue
        what = f"the {kind} of {_name(criterion)} over {_name(derivation)}"
        out.extend((criterion, m) for m in _mismatches(kb, rule, parameters, compared, what))
    for series in sorted(kb.subjects(RDF.type, GR.WindowedSeriesAggregate), key=str):
        cls = kb.value(series, GR.seriesClass)
        compared = _kind_unit(kb, cls) if isinstance(cls, URIRef) else None
        what = f"the gr:WindowedSeriesAggregate {_name(series)}"
        out.extend((series, m) for m in _mismatches(kb, series, (GR.sampleAtLeast,), compared, what))
    return out


def _mismatches(
    kb: Graph, holder: Node, parameters: tuple[URIRef, ...], compared: tuple[URIRef, str] | None, what: str
) -> Iterator[str]:
    if compared is None:
        return
    unit, quantity = compared
    for p in parameters:
        for threshold in kb.objects(holder, p):
            given = kb.value(threshold, GR.unit)
            if isinstance(given, URIRef) and _canonical(kb, given) != _canonical(kb, unit):
                yield (
                    f"{what}: its threshold {_name(threshold)} (gr:{_name(p)}) is in {_label(kb, given)}, "
                    f"which does not convert to {_label(kb, unit)}, the unit of {quantity} it is compared with"
                )


def _value_unit(kb: Graph, derivation: URIRef) -> tuple[URIRef, str] | None:
    """The unit of the value a derivation derives, and what that value is; None when it has no declared unit."""
    if (derivation, RDF.type, GR.WindowedSeriesAggregate) in kb:
        return GR.Percent, f"the percent of days {_name(derivation)} derives"
    if (derivation, RDF.type, GR.SelectFact) not in kb:
        return None
    cls = kb.value(derivation, GR.componentClass) or kb.value(derivation, GR.factClass)
    return _kind_unit(kb, cls) if isinstance(cls, URIRef) else None


def _kind_unit(kb: Graph, cls: URIRef) -> tuple[URIRef, str] | None:
    """An observation kind's canonical unit (its own, else a superclass's), and its name."""
    seen: set[Node] = set()
    stack: list[Node] = [cls]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        unit = kb.value(node, GR.canonicalUnit)
        if isinstance(unit, URIRef):
            return unit, _label(kb, cls)
        stack.extend(kb.objects(node, RDFS.subClassOf))
    return None


def _canonical(kb: Graph, unit: URIRef) -> Node:
    found = kb.value(unit, GR.canonical)
    return found if found is not None else unit


def _label(kb: Graph, term: Node) -> str:
    label = kb.value(term, RDFS.label)
    return f"{label} ({_name(term)})" if label is not None else _name(term)


def _name(term: Node) -> str:
    return str(term).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
