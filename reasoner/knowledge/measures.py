"""Observation values in a kind's canonical unit: the check intake makes (JSON and FHIR alike).

:func:`measure` converts a value to its kind's canonical unit exactly (a Decimal), with the unit
table of the knowledge base (reasoner/knowledge/units.py); a unit the table does not list is read as
UCUM (reasoner/_ucum.py) and converted when it measures what the canonical unit measures. What is
wrong is worded without ever repeating the value sent.
"""

from __future__ import annotations

from decimal import Context, Decimal, Inexact
from typing import TYPE_CHECKING

from rdflib import URIRef

from reasoner import _ucum
from reasoner.knowledge.classes import denoted
from reasoner.knowledge.units import ObservationKind, Unit

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase

_PLACES = Decimal("0.0001")  # a conversion that does not end (days to weeks) keeps four decimals


def kind_of(kb: KnowledgeBase, term: URIRef) -> ObservationKind | None:
    """The declared kind of an observation coded or named ``term``: the nearest kind of its classes."""
    named = denoted(kb, term) or term
    found = [kb.observation_kinds[c] for c in kb.superclasses.get(named, ()) if c in kb.observation_kinds]
    return max(found, key=lambda k: (len(kb.superclasses.get(k.iri, ())), str(k.iri))) if found else None


def convert(value: Decimal, unit: Unit, to: Unit) -> Decimal:
    """``value`` in ``unit``, in ``to`` (both of one canonical unit): exact when the division ends."""
    context = Context(prec=34)
    out = context.divide(context.multiply(context.multiply(value, unit.factor), to.divisor), unit.divisor * to.factor)
    return out.quantize(_PLACES) if context.flags[Inexact] else out


def measure(
    kb: KnowledgeBase, kind: ObservationKind, value: Decimal, ucum: str | None
) -> tuple[Decimal | None, str, str]:
    """(the value in the kind's canonical unit, "", "") or (None, the field at fault, what is wrong).

    The field is ``unit`` or ``value``; the words never repeat the value sent.
    """
    if kind.unit is None:
        instead = "valueCode" if kind.values else "valueBoolean" if kind.boolean else "no value (its date says it)"
        return None, "value", f"{kind.label} has no unit: give {instead}"
    target = next((u for u in kb.units.values() if u.iri == kind.unit), None)
    codes = ", ".join(sorted(c for c, u in kb.units.items() if target and u.canonical == target.canonical))
    given = kb.units.get(ucum) if ucum is not None else None
    unit_label = target.label if target else str(kind.unit)
    if ucum is None or target is None:
        return None, "unit", f"missing: {kind.label} is given in {unit_label}; use one of {codes}"
    if given is not None and given.canonical == target.canonical:
        canonical = convert(value, given, target)
    else:
        try:
            by = None if given is not None else _library_factor(kb, ucum, target)
        except _ucum.NotUcum as exc:
            return (
                None,
                "unit",
                f"not a UCUM unit ({exc.reason}); {kind.label} is given in {unit_label}: use one of {codes}",
            )
        if by is None:
            return None, "unit", f"does not convert to {unit_label}, the unit of {kind.label}; use one of {codes}"
        canonical = _rounded(value * by)
    low, high = kind.minimum, kind.maximum
    if (low is not None and canonical < low) or (high is not None and canonical > high):
        bounds = f"{_text(low) if low is not None else 'any'} to {_text(high) if high is not None else 'any'}"
        return None, "value", f"outside {bounds} {unit_label}, the range accepted for {kind.label}"
    return canonical, "", ""


def _library_factor(kb: KnowledgeBase, ucum: str, target: Unit) -> Decimal | None:
    """The factor from a unit the table does not list to ``target``, by UCUM's dimensions (reasoner/_ucum.py).

    Only where the dimensions say it all: an annotation (``{beats}/min``) or a dimensionless target
    (a count, a score, a percent) is the table's alone, since ``{beats}`` and ``{events}`` both are 1.
    """
    plain = sorted(c for c, u in kb.units.items() if u.iri == target.iri and "{" not in c)
    if "{" in ucum or not plain or plain[0] in _DIMENSIONLESS:
        _ucum.factor(ucum, "1")  # still refused when it is not UCUM at all
        return None
    return _ucum.factor(ucum, plain[0])


_DIMENSIONLESS = frozenset({"1", "%"})


def _rounded(value: Decimal) -> Decimal:
    """A value converted by a library factor, to the four decimals an inexact conversion keeps."""
    return value.quantize(_PLACES).normalize() if value.as_tuple().exponent < -4 else value  # type: ignore[operator]


def coded(kind: ObservationKind, word: str) -> tuple[URIRef | None, str]:
    """The value IRI of a case word of the kind's value set, or None and what is wrong."""
    for w, value in kind.values:
        if w == word:
            return value, ""
    if not kind.values:
        return None, f"{kind.label} has no value set: give " + ("valueBoolean" if kind.boolean else "value with unit")
    return None, f"not a value of {kind.label}; one of " + ", ".join(w for w, _ in kind.values)


def _text(d: Decimal) -> str:
    return format(d.normalize(), "f")
