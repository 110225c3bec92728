"""The fast term constructors build exactly what rdflib's constructors build."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rdflib import XSD, Literal, URIRef

from reasoner._rdf.terms import iri, literal

VALUES = [
    ("hist-12", XSD.string),
    ("", XSD.string),
    ("caf\u00e9 \ud800", XSD.string),  # a lone surrogate survives json.loads
    (Decimal("40"), XSD.decimal),
    (Decimal("40.0"), XSD.decimal),
    (Decimal("1E+2"), XSD.decimal),
    (Decimal("-0.01"), XSD.decimal),
    (Decimal("0E-8"), XSD.decimal),
    (0, XSD.integer),
    (-17, XSD.integer),
    (10**30, XSD.integer),
    (True, XSD.boolean),
    (False, XSD.boolean),
    (dt.date(2010, 1, 4), XSD.date),
    (dt.date(1, 1, 1), XSD.date),
]


@pytest.mark.parametrize(
    ("value", "datatype"), VALUES, ids=[f"{type(v).__name__}-{i}" for i, (v, _) in enumerate(VALUES)]
)
def test_literal_is_rdflibs_literal_slot_for_slot(value: object, datatype: URIRef) -> None:
    ours, theirs = literal(value, datatype), Literal(value, datatype=datatype)
    assert type(ours) is Literal
    assert str(ours) == str(theirs)
    assert ours == theirs and hash(ours) == hash(theirs)
    assert ours.value == theirs.value and type(ours.value) is type(theirs.value)
    assert ours.datatype == theirs.datatype and ours.language is theirs.language is None
    assert ours.ill_typed == theirs.ill_typed
    assert ours.n3() == theirs.n3() and ours.toPython() == theirs.toPython()
    assert ours.eq(theirs) and not ours.neq(theirs)


def test_other_types_go_to_rdflib() -> None:
    moment = dt.datetime(2020, 1, 2, 3, 4, 5)
    assert literal(moment, XSD.dateTime) == Literal(moment, datatype=XSD.dateTime)
    assert literal(1.5, XSD.double) == Literal(1.5, datatype=XSD.double)


def test_iri_is_a_uriref() -> None:
    made = iri("https://w3id.org/guideline-reasoner/case-data/c1/case")
    assert type(made) is URIRef and made == URIRef("https://w3id.org/guideline-reasoner/case-data/c1/case")
    assert hash(made) == hash(URIRef(str(made)))
