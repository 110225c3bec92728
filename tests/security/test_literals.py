"""Numbers are capped in every intake path, on their text, before anything converts them.

``"1e400000000"^^xsd:decimal`` took 6 s and 1.3 GiB (rdflib writes the value back out as 400
million characters), and the same string as a FHIR quantity never finished (``int()`` of it). The
caps (``reasoner/numbers.py``): at most 32 characters and an exponent within +-100. The cost of
each payload is measured by ``bench/hostile_input.py``; these tests check the answers: status,
code and where.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rdflib import XSD, Literal, URIRef
from rdflib.term import XSDToPython

from reasoner.intake.fhir.resources import _decimal
from reasoner.intake.limits import untrusted_input
from reasoner.numbers import MAX_NUMBER_CHARS, MAX_NUMBER_EXPONENT, NUMERIC_DATATYPES, number_problem

from .cases import (
    FHIR,
    JSON,
    JSONLD,
    ORDER_SIGN,
    SEED_JSON,
    SEED_ORDER_SIGN,
    SEED_OUTCOME,
    SEED_PAS,
    SEED_TTL,
    TURTLE,
    outcome,
    post,
    problem,
    seed_jsonld,
)

HUGE = "1e400000000"
TOO_LONG = "1." + "0" * MAX_NUMBER_CHARS  # 34 characters
LONGEST = "1." + "0" * (MAX_NUMBER_CHARS - 2)  # 32 characters


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("80.5", False),
        ("-0.25", False),
        (LONGEST, False),
        (TOO_LONG, True),
        ("9" * 4000, True),
        (f"1e{MAX_NUMBER_EXPONENT}", False),
        (f"1E-{MAX_NUMBER_EXPONENT}", False),
        (f"1e{MAX_NUMBER_EXPONENT + 1}", True),
        (f"1e-{MAX_NUMBER_EXPONENT + 1}", True),
        ("1E+400000000", True),
        ("1e4_0000_0000", True),  # Python reads underscores between digits
        ("1e\u0664\u0660\u0660", True),  # and any Unicode decimal digit (Arabic-Indic 400)
        (" 1e5 ", False),
        ("INF", False),
        ("NaN", False),
        ("1e", False),  # not a number: left to the conversion, which refuses it
    ],
)
def test_number_problem(text: str, refused: bool) -> None:
    assert (number_problem(text) is not None) == refused


def test_every_numeric_xsd_datatype_is_capped() -> None:
    numeric = {str(d) for d, convert in XSDToPython.items() if convert in (int, float, Decimal) or d in {XSD.integer}}
    assert numeric <= NUMERIC_DATATYPES
    assert {str(XSD.decimal), str(XSD.integer), str(XSD.double), str(XSD.float), str(XSD.long)} <= NUMERIC_DATATYPES


# --- the rdflib adapter (reasoner/_rdf/literals.py) ---------------------------------------------


@pytest.mark.parametrize("datatype", sorted(NUMERIC_DATATYPES))
def test_while_parsing_an_over_long_number_is_never_converted(datatype: str) -> None:
    with untrusted_input():
        made = Literal(HUGE, datatype=URIRef(datatype))
        long = Literal("9" * 4000, datatype=URIRef(datatype))
    for lit, text in ((made, HUGE), (long, "9" * 4000)):
        assert lit.ill_typed and lit.value is None and str(lit) == text


@pytest.mark.parametrize("datatype", sorted(NUMERIC_DATATYPES))
def test_within_the_caps_rdflib_converts_as_ever(datatype: str) -> None:
    convert = XSDToPython[URIRef(datatype)]
    for text in ("1", "42", "-7", "1.5", "1e5"):
        try:
            expected: Any = convert(text)  # type: ignore[misc]
        except ValueError:
            expected = None
        with untrusted_input():
            inside = Literal(text, datatype=URIRef(datatype))
        outside = Literal(text, datatype=URIRef(datatype))
        assert inside.value == outside.value == expected, (datatype, text)
        assert str(inside) == str(outside)


RDFLIB_TABLE = textwrap.dedent(
    """
    import json, sys
    from decimal import Decimal
    if sys.argv[1] == "reasoner":
        import reasoner  # installs the adapter
    from rdflib import XSD, Literal
    from reasoner.numbers import NUMERIC_DATATYPES  # a leaf module: no adapter, no hook
    from rdflib import URIRef
    rows = []
    for d in sorted(NUMERIC_DATATYPES):
        for text in ("1", "1.50", "1e400000000", "9" * 50, "x", "-0"):
            lit = Literal(text, datatype=URIRef(d))
            rows.append([d, text, str(lit)[:60], repr(lit.value)[:60], lit.ill_typed])
    for value in (Decimal("1.50"), 5, 1.5, True, Decimal("1E+400")):
        lit = Literal(value)
        rows.append([repr(value), str(lit), str(lit.datatype), repr(lit.value)])
    print(json.dumps(rows))
    """
)


def test_outside_a_parse_rdflib_behaves_as_without_the_reasoner() -> None:
    """The same literals, in a process with only rdflib and one that imported the reasoner."""
    tables = []
    for mode in ("plain", "reasoner"):
        done = subprocess.run(
            [sys.executable, "-c", RDFLIB_TABLE, mode], capture_output=True, text=True, timeout=120, check=True
        )
        tables.append(json.loads(done.stdout))
    assert tables[0] == tables[1]


# --- Turtle: both parsers ------------------------------------------------------------------------

_RELIEF = "cv:reliefMonths 1.0"
_NODE = re.compile(r"^PriorProcedure \d of \d, cv:reliefMonths: ")


def _ttl(value: str) -> str:
    assert _RELIEF in SEED_TTL
    return SEED_TTL.replace(_RELIEF, f"cv:reliefMonths {value}", 1)


TURTLE_NUMBERS = {
    "decimal-huge-exponent": f'"{HUGE}"^^xsd:decimal',
    "decimal-tiny-exponent": '"1e-400000000"^^xsd:decimal',
    "decimal-exponent-underscores": '"1e4_0000_0000"^^xsd:decimal',
    "double-exponent-101": '"1e101"^^xsd:double',
    "float-huge-exponent": f'"{HUGE}"^^xsd:float',
    "integer-4000-digits": f'"{"9" * 4000}"^^xsd:integer',
    "integer-33-digits": f'"{"9" * 33}"^^xsd:nonNegativeInteger',
    "bare-decimal-too-long": TOO_LONG,
    "bare-integer-40-digits": "9" * 40,
    "bare-double-huge-exponent": HUGE,
}


@pytest.mark.parametrize("name", list(TURTLE_NUMBERS))
def test_turtle_number_over_the_caps_is_a_400_naming_its_node(client: TestClient, name: str) -> None:
    body = problem(post(client, _ttl(TURTLE_NUMBERS[name]), TURTLE), 400, "case-parse")
    assert _NODE.match(body["detail"]), body["detail"]
    assert "9999" not in body["detail"] and "400000000" not in body["detail"]


@pytest.mark.parametrize("name", ["decimal-huge-exponent", "integer-33-digits", "bare-decimal-too-long"])
def test_turtle_number_over_the_caps_in_rdflibs_parser(
    client: TestClient, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A case Oxigraph refuses goes to rdflib's parser: the same answer."""
    import reasoner.intake.turtle as intake

    refused: list[str] = []
    monkeypatch.setattr(intake, "_parse_with_oxigraph", lambda text: refused.append(text))  # returns None
    body = problem(post(client, _ttl(TURTLE_NUMBERS[name]), TURTLE), 400, "case-parse")
    assert len(refused) == 1
    assert _NODE.match(body["detail"]), body["detail"]


@pytest.mark.parametrize(
    "value",
    [f'"{LONGEST}"^^xsd:decimal', '"0.01e2"^^xsd:decimal', f'"1e{MAX_NUMBER_EXPONENT}"^^xsd:double', LONGEST],
)
def test_turtle_numbers_within_the_caps_are_judged(client: TestClient, value: str) -> None:
    r = post(client, _ttl(value), TURTLE)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["outcome"] == SEED_OUTCOME


# --- JSON-LD -------------------------------------------------------------------------------------


def _relief(value: Any, context: Any = None, key: str = "percentRelief") -> str:
    doc = seed_jsonld()
    if context is not None:
        doc["@context"] = context
    node = next(n for n in doc["@graph"] if "percentRelief" in n)
    del node["percentRelief"]
    node[key] = value
    return json.dumps(doc)


JSONLD_NUMBERS = {
    "value-object": lambda: _relief({"@value": HUGE, "@type": "xsd:decimal"}),
    "value-object-full-iri": lambda: _relief({"@value": HUGE, "@type": str(XSD.decimal)}),
    "coerced-by-the-published-context": lambda: _relief(HUGE),
    "coerced-by-a-term-of-its-own": lambda: _relief(
        HUGE, [seed_jsonld()["@context"], {"r": {"@id": "cv:percentRelief", "@type": "xsd:decimal"}}], key="r"
    ),
    "aliased-value-keyword": lambda: _relief(
        {"v": HUGE, "@type": "xsd:decimal"}, [seed_jsonld()["@context"], {"v": "@value"}]
    ),
    "json-number-exponent-300": lambda: _relief(1e300),
    "integer-40-digits": lambda: _relief({"@value": "9" * 40, "@type": "xsd:integer"}),
}


@pytest.mark.parametrize("name", list(JSONLD_NUMBERS))
def test_jsonld_number_over_the_caps_is_a_400_naming_its_node(client: TestClient, name: str) -> None:
    body = problem(post(client, JSONLD_NUMBERS[name](), JSONLD), 400, "case-parse")
    assert re.match(r"^PriorProcedure \d of \d, cv:percentRelief: ", body["detail"]), body["detail"]
    assert "400000000" not in body["detail"]


# --- the JSON form -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ('"percentRelief": 80', f'"percentRelief": {HUGE}', "priorProcedures.2.percentRelief"),
        ('"percentRelief": 80', f'"percentRelief": "{HUGE}"', "priorProcedures.2.percentRelief"),
        ('"percentRelief": 80', '"percentRelief": "1e-400000000"', "priorProcedures.2.percentRelief"),
        ('"percentRelief": 80', f'"percentRelief": {"9" * 40}', "priorProcedures.2.percentRelief"),
        ('"units": 6', f'"units": "{HUGE}"', "request.codes.0.units"),
        ('"units": 6', f'"units": {HUGE}', "request.codes.0.units"),
    ],
)
def test_json_number_over_the_caps_is_a_422_naming_its_field(
    client: TestClient, old: str, new: str, where: str
) -> None:
    assert old in SEED_JSON
    body = problem(post(client, SEED_JSON.replace(old, new, 1), JSON), 422, "case-schema")
    assert [e["location"] for e in body["errors"]] == [where]
    assert "400000000" not in json.dumps(body)


# --- FHIR: PAS and CDS Hooks ---------------------------------------------------------------------


def _pas(edit: Any) -> str:
    bundle = json.loads(SEED_PAS)
    edit(bundle)
    return json.dumps(bundle)


def _set(resource: dict[str, Any], key: str, value: Any) -> None:
    resource[key]["value"] = value


FHIR_NUMBERS = {
    "claim-quantity-huge-exponent": (
        lambda b: _set(b["entry"][0]["resource"]["item"][0], "quantity", HUGE),
        "Bundle.entry[0].resource.item[0].quantity.value",
    ),
    "claim-quantity-1e40000": (
        lambda b: _set(b["entry"][0]["resource"]["item"][0], "quantity", "1e40000"),
        "Bundle.entry[0].resource.item[0].quantity.value",
    ),
    "claim-quantity-json-number-1e300": (
        lambda b: _set(b["entry"][0]["resource"]["item"][0], "quantity", 1e300),
        "Bundle.entry[0].resource.item[0].quantity.value",
    ),
    "pain-score-huge-exponent": (
        lambda b: _set(b["entry"][9]["resource"], "valueQuantity", HUGE),
        "Bundle.entry[9].resource.valueQuantity.value",
    ),
    "relief-duration-too-long": (
        lambda b: _set(b["entry"][7]["resource"], "valueQuantity", TOO_LONG),
        "Bundle.entry[7].resource.valueQuantity.value",
    ),
    "percent-relief-tiny-exponent": (
        lambda b: _set(b["entry"][12]["resource"], "valueQuantity", "1e-400000000"),
        "Bundle.entry[12].resource.valueQuantity.value",
    ),
}


@pytest.mark.parametrize("endpoint", ["/Claim/$submit", "/determinations"])
@pytest.mark.parametrize("name", list(FHIR_NUMBERS))
def test_pas_number_over_the_caps_is_a_400_naming_its_element(client: TestClient, name: str, endpoint: str) -> None:
    edit, where = FHIR_NUMBERS[name]
    r = post(client, _pas(edit), FHIR, f"{endpoint}?policy=sij-clinical-pathway")
    issue = outcome(r, 400)
    assert (issue["code"], issue["expression"]) == ("invalid", [where]), issue
    assert "400000000" not in r.text and "40000" not in issue["diagnostics"]


def _hook(edit: Any) -> str:
    request = json.loads(SEED_ORDER_SIGN)
    edit(request)
    return json.dumps(request)


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (
            lambda h: _set(h["context"]["draftOrders"]["entry"][0]["resource"], "quantityQuantity", HUGE),
            "context.draftOrders.entry[0].resource.quantityQuantity.value",
        ),
        (
            lambda h: _set(h["prefetch"]["observations"]["entry"][1]["resource"], "valueQuantity", HUGE),
            "prefetch.observations.entry[1].resource.valueQuantity.value",
        ),
    ],
    ids=["order-quantity", "prefetched-pain-score"],
)
def test_hook_number_over_the_caps_is_a_400_naming_its_element(client: TestClient, edit: Any, where: str) -> None:
    r = post(client, _hook(edit), {"content-type": "application/json"}, ORDER_SIGN)
    issue = outcome(r, 400)
    assert (issue["code"], issue["expression"]) == ("invalid", [where]), issue


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN"])
def test_a_fhir_number_that_is_not_finite_is_refused(value: str) -> None:
    """fhir.resources refuses these first; the reader refuses them too, rather than fail on int()."""
    from reasoner import FhirError

    with pytest.raises(FhirError) as info:
        _decimal(value, "Claim.item[0].quantity.value")
    assert info.value.issues == [("invalid", "Claim.item[0].quantity.value", "a number must be finite")]
