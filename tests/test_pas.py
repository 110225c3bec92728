"""The Da Vinci PAS answer (reasoner/pas.py): response Bundles that validate, review actions per outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claimresponse import ClaimResponse

from reasoner import Determination, FhirError, KnowledgeBase, determine
from reasoner.case_json import to_graph
from reasoner.fhir_intake import PasCase, read_pas
from reasoner.pas import REVIEW_ACTION, REVIEW_ACTION_CODE, X12_306, choose_policy, claim_response_bundle, judge

from .conftest import EXAMPLES, ROOT

SEED_PAS = ROOT / "examples" / "fhir" / "sij-seed-neurectomy.pas.json"
PAS_EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "fhir" / "hl7" / "pas-2.2.1"
NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def seed(kb: KnowledgeBase) -> PasCase:
    return read_pas(SEED_PAS.read_bytes(), kb)


def _determine(kb: KnowledgeBase, name: str, policy: str) -> Determination:
    return determine((EXAMPLES / f"{name}.json").read_bytes(), "json", kb, policy=policy)


def _review(item: dict[str, Any]) -> tuple[str, str, str]:
    (adjudication,) = item["adjudication"]
    assert adjudication["category"]["coding"] == [
        {"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": "submitted"}
    ]
    (review,) = [e for e in adjudication["extension"] if e["url"] == REVIEW_ACTION]
    subs = {e["url"]: e for e in review["extension"]}
    (coding,) = subs[REVIEW_ACTION_CODE]["valueCodeableConcept"]["coding"]
    assert coding["system"] == X12_306
    return coding["code"], coding["display"], subs["number"]["valueString"]


@pytest.mark.parametrize(
    ("name", "policy", "code"),
    [
        ("facet-rfa-initial", "medicare-facet-lcd", "A1"),
        ("sij-seed-neurectomy", "sij-clinical-pathway", "A3"),
        ("facet-rfa-results-missing", "medicare-facet-lcd", "A4"),
        ("facet-confirmatory-block-too-soon", "medicare-facet-lcd", "A4"),
        ("sij-seed-neurectomy", "medicare-sij-lcd", "A4"),
    ],
    ids=[
        "medically-necessary",
        "not-medically-necessary",
        "pended",
        "pended-clinician-review",
        "no-applicable-guideline",
    ],
)
def test_response_bundle_validates_with_the_review_action_of_the_outcome(
    kb: KnowledgeBase, seed: PasCase, name: str, policy: str, code: str
) -> None:
    d = _determine(kb, name, policy)
    out = claim_response_bundle(seed, d, now=NOW)
    Bundle.model_validate(out)  # R4B: the response must validate
    assert out["type"] == "collection" and out["timestamp"] == "2026-01-15T09:30:00+00:00"
    assert out["identifier"] == seed.bundle["identifier"]
    assert all(e["fullUrl"] for e in out["entry"])
    response = out["entry"][0]["resource"]
    ClaimResponse.model_validate(response)
    assert response["resourceType"] == "ClaimResponse"
    claim = seed.claim
    assert (response["status"], response["use"], response["outcome"]) == ("active", "preauthorization", "complete")
    assert response["type"] == claim["type"] and response["patient"] == claim["patient"]
    assert response["insurer"] == claim["insurer"] and response["requestor"] == claim["provider"]
    assert response["request"] == {"reference": "http://example.org/fhir/Claim/sij-seed-neurectomy"}
    assert response["created"] == "2026-01-15T09:30:00+00:00"
    assert response["disposition"] == d.outcomeLabel
    assert [n["text"] for n in response["processNote"]] == [*d.rationale, *d.missingInformation]
    assert all(n["type"] == "display" for n in response["processNote"])
    assert [i["itemSequence"] for i in response["item"]] == [seq for seq, _ in seed.items] == [1, 2]
    for item in response["item"]:
        assert _review(item)[0] == code and _review(item)[2] == d.determinationId
    echoed = {e["fullUrl"]: e["resource"] for e in out["entry"][1:]}
    requested = {e["fullUrl"]: e["resource"] for e in seed.bundle["entry"]}
    assert list(echoed) == [
        "http://example.org/fhir/Patient/patient-0001",
        "http://example.org/fhir/Organization/insurer-0001",
        "http://example.org/fhir/Organization/requestor-0001",
    ]
    assert all(echoed[url] == requested[url] for url in echoed)
    assert claim_response_bundle(seed, d, now=NOW) == out  # deterministic for the same time


def test_seed_pas_bundle_gives_the_json_case_answer(kb: KnowledgeBase, seed: PasCase) -> None:
    from_fhir = judge(seed, kb, policy="sij-clinical-pathway")
    plain = _determine(kb, "sij-seed-neurectomy", "sij-clinical-pathway")
    assert from_fhir.outcome == plain.outcome
    assert {c.id: c.status for c in from_fhir.criteria} == {c.id: c.status for c in plain.criteria}
    assert seed.skipped["Organization"] == 2 and seed.skipped["Coverage"] == 1


def test_policy_choice(kb: KnowledgeBase, seed: PasCase) -> None:
    assert seed.case is not None
    graph = to_graph(seed.case, kb)
    with pytest.raises(FhirError) as several:
        choose_policy(graph, kb, None)
    assert several.value.status == 422
    assert "evicore-sij, medicare-sij-lcd, sij-clinical-pathway" in several.value.issues[0][2]
    with pytest.raises(FhirError) as unknown:
        choose_policy(graph, kb, "no-such-policy")
    assert unknown.value.status == 422 and "no-such-policy" not in str(unknown.value)
    assert choose_policy(graph, kb, "medicare-sij-lcd") == "medicare-sij-lcd"


def _request_examples() -> list[Path]:
    found = {*PAS_EXAMPLES.glob("Bundle-*Request*.json"), *PAS_EXAMPLES.glob("Bundle-*Authorization*Bundle*.json")}
    return sorted(p for p in found if json.loads(p.read_text())["entry"][0]["resource"]["resourceType"] == "Claim")


@pytest.mark.parametrize("path", _request_examples(), ids=lambda p: p.stem)
def test_every_pas_request_example_is_read(kb: KnowledgeBase, path: Path) -> None:
    pas = read_pas(path.read_bytes(), kb)
    assert pas.claim["resourceType"] == "Claim" and pas.items
    if pas.case is None:
        assert pas.missing and all(code == "required" for code, _, _ in pas.missing)
