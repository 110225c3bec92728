"""Units and observation kinds, read from the knowledge base at load, and the measure check intake makes.

The unit table (ontology/units.ttl, and the threshold units of core.ttl) maps each UCUM code to a
unit, its canonical unit and an exact factor and divisor; each observation kind (a class under
``gr:ObservationKind``) says its canonical unit and accepted range, its value set, or that it is
yes-or-no or valueless. reasoner/knowledge/measures.py converts values with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.term import Node

from reasoner.vocab import GR

_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit: its IRI, label, canonical unit, and what a value is multiplied and divided by to give it there."""

    iri: URIRef
    label: str
    canonical: URIRef
    factor: Decimal = _ONE
    divisor: Decimal = _ONE


@dataclass(frozen=True, slots=True)
class ObservationKind:
    """How values of an observation kind are given (``values``: case word -> value IRI, for a coded kind)."""

    iri: URIRef
    label: str
    unit: URIRef | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    values: tuple[tuple[str, URIRef], ...] = ()
    boolean: bool = False


def _decimal(g: Graph, s: Node, p: URIRef) -> Decimal | None:
    value = g.value(s, p)
    return Decimal(str(value)) if isinstance(value, Literal) else None


def _label(g: Graph, s: Node) -> str:
    value = g.value(s, RDFS.label)
    return str(value) if value is not None else str(s).rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def read_units(g: Graph) -> dict[str, Unit]:
    """Each UCUM code of the knowledge base, and the unit it names."""
    out: dict[str, Unit] = {}
    for u in sorted(s for s in g.subjects(RDF.type, GR.Unit) if isinstance(s, URIRef)):
        canonical = g.value(u, GR.canonical)
        if not isinstance(canonical, URIRef):
            continue
        unit = Unit(u, _label(g, u), canonical, _decimal(g, u, GR.factor) or _ONE, _decimal(g, u, GR.divisor) or _ONE)
        for code in sorted(str(c) for c in g.objects(u, GR.ucumCode)):
            out.setdefault(code, unit)
    return out


def read_observation_kinds(g: Graph, superclasses: dict[Node, frozenset[URIRef]]) -> dict[URIRef, ObservationKind]:
    """Each declared observation kind (a subclass of ``gr:ObservationKind`` with a unit, value set or yes-or-no)."""
    out: dict[URIRef, ObservationKind] = {}
    for cls, sup in superclasses.items():
        if not isinstance(cls, URIRef) or cls == GR.ObservationKind or GR.ObservationKind not in sup:
            continue
        unit = g.value(cls, GR.canonicalUnit)
        values = tuple(
            sorted(
                (str(g.value(v, GR.caseWord) or _label(g, v)), v)
                for v in g.objects(cls, GR.valueSet)
                if isinstance(v, URIRef)
            )
        )
        boolean = g.value(cls, GR.booleanValued)
        out[cls] = ObservationKind(
            cls,
            _label(g, cls).lower(),
            unit if isinstance(unit, URIRef) else None,
            _decimal(g, cls, GR.minAccepted),
            _decimal(g, cls, GR.maxAccepted),
            values,
            isinstance(boolean, Literal) and boolean.toPython() is True,
        )
    return out
