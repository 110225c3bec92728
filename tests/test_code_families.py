"""Code families (gr:CodeFamily): a category or a range of ICD-10-CM codes classified at once.

The bundled knowledge base names three (ontology/codes/): M54.1- radiculopathy, M51.1- disc
disorders with radiculopathy, and the adult BMI range Z68.35-Z68.45, which replaced ten codes held
one by one. A code the knowledge base holds says what it denotes; any other code of a family
denotes the family's class, and criteria that read the class decide with it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rdflib import URIRef

from reasoner import KnowledgeBase, determine
from reasoner.knowledge.classes import denoted
from reasoner.vocab import DX, ICD10CM

from .conftest import EXAMPLES


def _case(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


@pytest.mark.parametrize(
    ("code", "denotes"),
    [
        ("M54.16", DX.LumbarRadiculopathy),  # held as a code: its own class
        ("M54.15", DX.Radiculopathy),  # not held: the family's
        ("M54.1", DX.Radiculopathy),  # the category itself, in a history
        ("M51.15", DX.DiscDisorderWithRadiculopathy),
        ("Z68.41", DX.BodyMassIndexAtLeast35),  # the range that replaced ten codes
        ("Z68.45", DX.BodyMassIndexAtLeast35),
        ("Z68.34", None),  # just below the range
        ("Z68.4", None),  # a category is in no range (ranges hold codes as long as their ends)
        ("M54.5", None),  # held as deleted: it denotes nothing, whatever family it would be in
    ],
)
def test_a_code_denotes_its_own_class_else_its_familys(kb: KnowledgeBase, code: str, denotes: URIRef | None) -> None:
    assert denoted(kb, ICD10CM[code]) == denotes


@pytest.mark.parametrize("code", ["M54.15", "M54.18", "M51.14", "M54.16"])
def test_any_radiculopathy_code_fails_the_facet_radiculopathy_exclusion(kb: KnowledgeBase, code: str) -> None:
    """F4 excludes a radiculopathy: one coded M54.15 (thoracolumbar), which the KB does not hold, counts."""
    case = _case("facet-rfa-radiculopathy")
    case["conditions"] = [c if c["code"] != "M54.16" else {**c, "code": code} for c in case["conditions"]]
    d = determine(json.dumps(case).encode(), "json", kb)
    criterion = next(c for c in d.criteria if c.id == "medicare-facet-lcd/no-radiculopathy")
    assert (criterion.status.value, d.outcome.value) == ("not-met", "not-medically-necessary")
    assert any(code in f.text for f in criterion.facts)


def test_a_code_outside_every_family_is_no_radiculopathy(kb: KnowledgeBase) -> None:
    case = _case("facet-rfa-radiculopathy")
    case["conditions"] = [c for c in case["conditions"] if c["code"] != "M54.16"] + [
        {"code": "M54.9", "status": "active", "source": "spine-clinic"}  # dorsalgia, unspecified
    ]
    d = determine(json.dumps(case).encode(), "json", kb)
    criterion = next(c for c in d.criteria if c.id == "medicare-facet-lcd/no-radiculopathy")
    assert criterion.status.value == "met"


def test_the_bmi_codes_are_a_family_not_ten_codes(kb: KnowledgeBase) -> None:
    assert not [c for c in kb.codes.values() if c.notation.startswith("Z68.")]
    (family,) = [f for f in kb.code_families if f.first == "Z68.35"]
    assert (family.last, family.denotes) == ("Z68.45", DX.BodyMassIndexAtLeast35)
