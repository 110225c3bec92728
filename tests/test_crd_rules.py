"""The CRD 2.2.1 coverage-information check of the tests (tests/crd_rules.py), checked itself.

HL7's own CRD response examples keep every rule; each kind of breach is found and named.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from . import hl7_examples
from .crd_rules import URL, coverage_information_problems

RESPONSES = hl7_examples.files("crd-2.2", "CRDServiceResponse*.json")


def _infos(response: dict[str, Any]) -> list[dict[str, Any]]:
    actions = list(response.get("systemActions", []))
    actions += [a for c in response["cards"] for s in c.get("suggestions", []) for a in s.get("actions", [])]
    return [e for a in actions for e in (a.get("resource") or {}).get("extension", []) if e.get("url") == URL]


@pytest.mark.parametrize("path", hl7_examples.params(RESPONSES, "crd-2.2"))
def test_hl7_response_examples_keep_the_rules(path: Path | None) -> None:
    assert path is not None
    for info in _infos(json.loads(path.read_bytes())):
        assert coverage_information_problems(info) == []


GOOD: dict[str, Any] = {
    "url": URL,
    "extension": [
        {"url": "coverage", "valueReference": {"reference": "Coverage/c1"}},
        {"url": "covered", "valueCode": "conditional"},
        {"url": "pa-needed", "valueCode": "auth-needed"},
        {"url": "info-needed", "valueCode": "OTH"},
        {"url": "reason", "valueCodeableConcept": {"text": "a second qualifying block is needed"}},
        {
            "url": "detail",
            "extension": [
                {"url": "category", "valueCode": "cat-limitation"},
                {"url": "code", "valueCodeableConcept": {"coding": [{"code": "instructions"}]}},
                {"url": "value", "valueString": "Information needed: a second block"},
            ],
        },
        {"url": "date", "valueDate": "2026-01-15"},
        {"url": "coverage-assertion-id", "valueString": "a1"},
    ],
}


def _edit(*urls: str, add: tuple[dict[str, Any], ...] = (), **values: Any) -> dict[str, Any]:
    """GOOD without the parts named in ``urls``, plus ``add``, with ``values`` (``valueCode`` by url) changed."""
    out = copy.deepcopy(GOOD)
    out["extension"] = [e for e in out["extension"] if e["url"] not in urls] + list(add)
    for url, value in values.items():
        part = next(e for e in out["extension"] if e["url"] == url.replace("_", "-"))
        part.clear()
        part.update({"url": url.replace("_", "-"), **value})
    return out


def _detail(*parts: dict[str, Any]) -> dict[str, Any]:
    return _edit(detail={"extension": list(parts)})


BREACHES: dict[str, tuple[dict[str, Any], str]] = {
    "no coverage": (_edit("coverage"), "coverage-information.coverage: 0 found, cardinality 1..1"),
    "no date": (_edit("date"), "coverage-information.date: 0 found, cardinality 1..1"),
    "no assertion id": (_edit("coverage-assertion-id"), "coverage-assertion-id: 0 found, cardinality 1..1"),
    "two covered": (_edit(add=({"url": "covered", "valueCode": "covered"},)), "covered: 2 found, cardinality 1..1"),
    "covered not a code": (_edit(covered={"valueString": "yes"}), "covered: valueString is not one of valueCode"),
    "covered not in its value set": (_edit(covered={"valueCode": "maybe"}), "not in the required value set"),
    "a bad date": (_edit(date={"valueDate": "15/01/2026"}), "date: not a FHIR date"),
    "coverage points elsewhere": (
        _edit(coverage={"valueReference": {"reference": "Patient/p"}}),
        "coverage: must reference Coverage, references Patient",
    ),
    "detail without code and value": (
        _detail({"url": "category", "valueCode": "cat-other"}),
        "detail[0].code: 0 found, cardinality 1..1",
    ),
    "detail value of a wrong type": (
        _detail(
            {"url": "category", "valueCode": "cat-other"},
            {"url": "code", "valueCodeableConcept": {"text": "x"}},
            {"url": "value", "valueInteger": 3},
        ),
        "detail[0].value: valueInteger is not one of",
    ),
    "unknown part": (_edit(add=({"url": "colour", "valueString": "blue"},)), "unknown sub-extension 'colour'"),
    "a part with both a value and parts": (
        _edit(date={"valueDate": "2026-01-15", "extension": [{"url": "x", "valueString": "y"}]}),
        "date: a simple part has no sub-extensions (ext-1)",
    ),
    "q2: not-covered with pa-needed": (_edit(covered={"valueCode": "not-covered"}), "crd-ci-q2"),
    "q3: info-needed without conditional": (
        _edit(covered={"valueCode": "covered"}, pa_needed={"valueCode": "no-auth"}),
        "crd-ci-q3",
    ),
    "q5: satisfied without its id": (_edit(pa_needed={"valueCode": "satisfied"}), "crd-ci-q5"),
    "q6: OTH without a reason": (_edit("reason"), "crd-ci-q6"),
    "q9: indeterminate without a reason": (
        _edit("reason", "info-needed", covered={"valueCode": "indeterminate"}, pa_needed={"valueCode": "no-auth"}),
        "crd-ci-q9",
    ),
}


def test_the_good_example_keeps_the_rules() -> None:
    assert coverage_information_problems(GOOD) == []


@pytest.mark.parametrize("label", list(BREACHES))
def test_each_breach_is_found(label: str) -> None:
    ext, expected = BREACHES[label]
    problems = coverage_information_problems(ext)
    assert any(expected in p for p in problems), problems
