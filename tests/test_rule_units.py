"""Lint: a rule's threshold unit must convert to the unit of what it compares (reasoner/knowledge/rule_units.py).

The bundled knowledge base passes; the same knowledge base with one threshold's unit changed fails,
the finding naming the rule, the threshold and both units (tests/test_lint_kb.py checks the fixture
tests/fixtures/lint/ontology--rule-unit.ttl at its file and line).
"""

from __future__ import annotations

import pytest
from rdflib import Graph, URIRef

from reasoner.knowledge.rule_units import observation_kind_problems, unit_problems
from reasoner.vocab import GR

from .conftest import FIXTURES, ROOT

KB = "https://w3id.org/guideline-reasoner/kb/"
UNIT = "https://w3id.org/guideline-reasoner/unit/"


@pytest.fixture(scope="module")
def ontology() -> Graph:
    g = Graph()
    for path in sorted((ROOT / "ontology").rglob("*.ttl")):
        g.parse(path, format="turtle")
    for name in ("toy-ferritin.ttl", "toy-adherence.ttl"):
        g.parse(FIXTURES / "derived" / name, format="turtle")
    return g


def _with_unit(g: Graph, threshold: str, unit: URIRef) -> Graph:
    changed = Graph()
    for triple in g:
        changed.add(triple)
    changed.set((URIRef(KB + threshold), GR.unit, unit))
    return changed


def test_the_bundled_rules_and_the_toy_policies_pass(ontology: Graph) -> None:
    assert unit_problems(ontology) == []


@pytest.mark.parametrize(
    ("threshold", "unit", "words"),
    [  # a BMI threshold in hours; an elapsed time in kg/m2; a percent of nights in days; a night's use in kg/m2
        ("medicare-bariatric/bmi-min", URIRef(UNIT + "Hour"), ("bmi-min", "gr:atLeast", "(Hour)", "kg/m2")),
        (
            "medicare-bariatric/bmi-max-age-months",
            URIRef(UNIT + "KilogramPerSquareMetre"),
            ("gr:IntervalRule", "bmi-max-age-months", "kg/m2", "days (Days)"),
        ),
        ("toy-adherence/adherent-min-percent", GR.Days, ("gr:ValueRule", "adherent", "(Days)", "(Percent)")),
        ("toy-adherence/use-min-hours", URIRef(UNIT + "KilogramPerSquareMetre"), ("sampleAtLeast", "(Hour)")),
        ("toy-ferritin/ferritin-min", URIRef(UNIT + "Minute"), ("ferritin-min", "(Minute)", "ng/mL")),
    ],
)
def test_a_threshold_in_a_unit_that_does_not_convert_is_found(
    ontology: Graph, threshold: str, unit: URIRef, words: tuple[str, ...]
) -> None:
    [(where, message)] = unit_problems(_with_unit(ontology, threshold, unit))
    assert isinstance(where, URIRef) and str(where).startswith(KB)
    for word in words:
        assert word in message, message


def test_a_unit_that_converts_passes(ontology: Graph) -> None:
    # Weeks convert to days: an interval in weeks is fine; so are minutes for a night's hours.
    assert unit_problems(_with_unit(ontology, "medicare-bariatric/bmi-max-age-months", GR.Weeks)) == []
    assert unit_problems(_with_unit(ontology, "toy-adherence/use-min-hours", URIRef(UNIT + "Minute"))) == []


def test_an_observation_kind_says_how_its_values_are_given() -> None:
    g = Graph().parse(
        data="""
        PREFIX gr: <https://w3id.org/guideline-reasoner/core#>
        PREFIX ex: <https://example.org/kb#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        ex:Vital rdfs:subClassOf gr:ObservationKind .
        ex:Pulse rdfs:subClassOf ex:Vital ; gr:canonicalUnit ex:PerMinute .
        ex:Smoker rdfs:subClassOf ex:Vital ; gr:booleanValued true .
        ex:Tested rdfs:subClassOf ex:Vital ; gr:valueless true .
        ex:Mood rdfs:subClassOf ex:Vital ; gr:valueless false .
        ex:Grip rdfs:subClassOf ex:Vital .
        """,
        format="turtle",
    )
    found = [str(kind).rsplit("#", 1)[-1] for kind, _ in observation_kind_problems(g)]
    assert found == ["Grip", "Mood"]  # ex:Vital has subclasses: only the leaves are kinds of values
