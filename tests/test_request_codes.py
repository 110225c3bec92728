"""The request's ICD-10-CM codes checked as a payer's intake checks them (reasoner/intake/diagnosis_codes.py).

A code the release in force does not have is refused (422, naming it and the closest codes); a
category pends the request for a billable code; a code that cannot be checked (the request's date
outside the release's fiscal year) pends it too. Every format: JSON, Turtle, FHIR PAS.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from rdflib import Graph, URIRef

from reasoner import FhirError, KnowledgeBase, determine
from reasoner.errors import CaseSchemaError, CaseShapeError
from reasoner.intake import diagnosis_codes
from reasoner.intake.fhir.pas import read_pas
from reasoner.interop.pas import claim_response_bundle
from reasoner.knowledge import icd10cm

from .conftest import EXAMPLES, ROOT

SEED = "sij-seed-neurectomy"
FACET_RFA = "facet-rfa-initial"  # requested 2026-03, in FY2026
CV = "https://w3id.org/guideline-reasoner/case#"


def _case(name: str, diagnoses: list[str], when: str | None = None) -> bytes:
    case: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    case["request"]["diagnoses"] = diagnoses
    if when:
        case["request"]["date"] = when
    return json.dumps(case).encode()


def test_a_code_icd10cm_does_not_have_is_refused_naming_it_and_the_closest_codes(kb: KnowledgeBase) -> None:
    with pytest.raises(CaseSchemaError) as caught:
        determine(_case(SEED, ["M47.816", "M99.999"]), "json", kb)
    (where, why), *more = caught.value.problems
    assert more == [] and where == "request.diagnoses.1"
    assert why.startswith("M99.999 is not an ICD-10-CM code: ICD-10-CM FY2026 (April 1, 2026 update), in force on ")
    assert why.endswith("the closest codes are M99.9, M99.09, M99.19")
    assert caught.value.status == 422


def test_a_mistyped_last_character_is_answered_with_its_siblings(kb: KnowledgeBase) -> None:
    with pytest.raises(CaseSchemaError, match="the closest codes are M47.811, M47.812, M47.813$"):
        determine(_case(FACET_RFA, ["M47.810"]), "json", kb)


def test_a_turtle_case_is_refused_at_the_diagnosis_node(kb: KnowledgeBase) -> None:
    text = (EXAMPLES / f"{SEED}.ttl").read_text().replace("icd10cm:M47.816", "icd10cm:M99.999")
    with pytest.raises(CaseShapeError) as caught:
        determine(text.encode(), "turtle", kb)
    assert caught.value.problems == [
        ("Condition 1 of 1, cv:code", diagnosis_codes.refusal("M99.999", date(2025, 11, 17)))
    ]


def test_a_pas_claim_is_refused_at_its_diagnosis_element(kb: KnowledgeBase) -> None:
    text = (ROOT / "examples" / "fhir" / f"{SEED}.pas.json").read_text().replace('"M47.816"', '"M47.810"')
    with pytest.raises(FhirError) as caught:
        read_pas(text.encode(), kb)
    ((code, where, why),) = caught.value.issues
    assert (code, where) == ("code-invalid", "Bundle.entry[0].resource.diagnosis[0].diagnosisCodeableConcept")
    assert why.startswith("M47.810 is not an ICD-10-CM code") and caught.value.status == 422


def test_a_category_on_the_request_pends_it_for_a_billable_code(kb: KnowledgeBase) -> None:
    d = determine(_case(SEED, ["M47.8"]), "json", kb)
    assert d.outcome.value == "pended-information-needed"
    assert d.missingInformation[0] == "A billable ICD-10-CM code in place of M47.8 (a category)"
    assert d.rationale[0].startswith("A billable code is needed: M47.8 (Other spondylosis) is a category of ICD-10-CM")
    assert "18 billable codes fall under it (M47.811, M47.812, M47.813 ...)" in d.rationale[0]
    (dx,) = d.diagnoses
    assert (dx.code, dx.system, dx.description, dx.billable, dx.primary) == (
        "M47.8",
        "ICD-10-CM",
        "Other spondylosis",
        False,
        True,
    )
    assert dx.problem == d.rationale[0]


def test_a_category_whose_codes_a_list_covers_leaves_the_criterion_unknown(kb: KnowledgeBase) -> None:
    """M47.81 holds M47.812-M47.817, on the facet list: whether the billable code will be is unknown."""
    d = determine(_case(FACET_RFA, ["M47.81"]), "json", kb)
    covered = next(c for c in d.criteria if c.id.endswith("/covered-diagnosis"))
    assert (covered.status.value, d.outcome.value) == ("unknown", "pended-information-needed")
    assert covered.facts[0].assessment == "may qualify"
    assert "M47.81 Spondylosis without myelopathy or radiculopathy (a category, not a billable code)" in (
        covered.facts[0].text
    )


def test_a_category_none_of_whose_codes_a_list_covers_is_not_met_and_still_pends(kb: KnowledgeBase) -> None:
    d = determine(_case(FACET_RFA, ["M54.1"]), "json", kb)  # radiculopathy: off the facet list whatever the code
    covered = next(c for c in d.criteria if c.id.endswith("/covered-diagnosis"))
    assert (covered.status.value, d.outcome.value) == ("not-met", "pended-information-needed")


def test_a_billable_code_the_kb_does_not_hold_is_decided_and_described_officially(kb: KnowledgeBase) -> None:
    d = determine(_case(FACET_RFA, ["M47.812"]), "json", kb)
    assert d.outcome.value == "medically-necessary" and d.diagnoses[0].problem is None
    assert d.diagnoses[0].description == "Spondylosis without myelopathy or radiculopathy, cervical region"


def test_outside_the_releases_fiscal_year_an_absent_code_cannot_be_checked_and_pends(kb: KnowledgeBase) -> None:
    d = determine(_case(FACET_RFA, ["M47.816", "M99.999"], when="2026-11-02"), "json", kb)  # FY2027
    assert d.outcome.value == "pended-information-needed"
    assert d.missingInformation[0] == "An ICD-10-CM code that can be checked in place of M99.999"
    assert d.rationale[0] == (
        "M99.999 cannot be checked: ICD-10-CM FY2027 is in force on 2026-11-02, and this service holds "
        "ICD-10-CM FY2026 (April 1, 2026 update), which does not list it."
    )
    assert [dx.problem is None for dx in d.diagnoses] == [True, False]


def test_a_history_coded_under_its_own_year_is_not_refused(kb: KnowledgeBase) -> None:
    case = json.loads(_case(FACET_RFA, ["M47.816"]))
    case.setdefault("conditions", []).append(
        {"code": "M99.999", "status": "active", "source": case["documents"][0]["id"]}
    )
    d = determine(json.dumps(case).encode(), "json", kb)
    assert d.outcome.value == "medically-necessary"


def test_the_pas_answer_notes_the_category_on_each_item(kb: KnowledgeBase) -> None:
    text = (ROOT / "examples" / "fhir" / f"{SEED}.pas.json").read_text().replace('"M47.816"', '"M47.8"')
    pas = read_pas(text.encode(), kb)
    assert pas.case is not None
    d = determine(text.encode(), "fhir", kb, policy="sij-clinical-pathway")
    bundle = claim_response_bundle(pas, d, now=datetime(2026, 1, 15, tzinfo=UTC))
    response = bundle["entry"][0]["resource"]
    notes = {n["number"]: n["text"] for n in response["processNote"]}
    for item in response["item"]:
        numbered = [notes[n] for n in item.get("noteNumber", [])]
        assert any(
            n.startswith(f"Item {item['itemSequence']} (") and "A billable code is needed: M47.8" in n for n in numbered
        )


def test_the_windows_of_the_fiscal_years() -> None:
    assert icd10cm.fiscal_year(date(2025, 9, 30)) == 2025 and icd10cm.fiscal_year(date(2025, 10, 1)) == 2026
    assert icd10cm.in_force(date(2025, 10, 1)) and icd10cm.in_force(date(2026, 9, 30))
    assert not icd10cm.in_force(date(2025, 9, 30)) and not icd10cm.in_force(date(2026, 10, 1))
    assert diagnosis_codes.refusal("M99.999", date(2026, 10, 1)) is None  # FY2027: not refused, pended instead


def test_a_turtle_category_pends_too(kb: KnowledgeBase) -> None:
    g = Graph().parse(data=(EXAMPLES / f"{SEED}.ttl").read_text(), format="turtle")
    code = URIRef(CV + "code")
    (node,) = [s for s, o in g.subject_objects(code) if str(o).endswith("/M47.816")]
    g.set((node, code, URIRef("https://w3id.org/guideline-reasoner/code/icd10cm/M47.8")))
    d = determine(g.serialize(format="turtle").encode(), "turtle", kb)
    assert d.outcome.value == "pended-information-needed" and d.diagnoses[0].billable is False


def test_a_request_with_only_codes_the_kb_holds_never_reads_the_release(kb: KnowledgeBase) -> None:
    """The official descriptions of the codes held are read at preparation: the seed's path needs no index."""
    icd10cm.release.cache_clear()
    d = determine(_case(SEED, ["M47.816"]), "json", kb)
    assert icd10cm.release.cache_info().currsize == 0
    assert d.diagnoses[0].description == "Spondylosis without myelopathy or radiculopathy, lumbar region"
    determine(_case(SEED, ["M47.812"]), "json", kb)  # not held: read now
    assert icd10cm.release.cache_info().currsize == 1


def test_an_overlong_code_is_refused_without_repeating_it_or_searching_for_near_ones(kb: KnowledgeBase) -> None:
    """difflib's cost grows with the text: a code longer than any (8 characters) is refused at once."""
    long = "M" + "9" * 50_000
    assert icd10cm.release().near(long) == []
    why = diagnosis_codes.refusal(long, date(2026, 11, 2))  # outside the release's year too
    assert why == "not an ICD-10-CM code: longer than any (8 characters at most, with its dot)"
    text = (ROOT / "examples" / "fhir" / f"{SEED}.pas.json").read_text().replace('"M47.816"', f'"{long}"')
    with pytest.raises(FhirError) as caught:
        read_pas(text.encode(), kb)
    ((code, _where, message),) = caught.value.issues
    assert code == "code-invalid" and long not in message
