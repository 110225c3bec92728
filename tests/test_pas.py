"""The Da Vinci PAS answer (reasoner/interop/pas.py): response Bundles that validate, review actions per outcome."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claimresponse import ClaimResponse

from reasoner import Determination, FhirError, KnowledgeBase, determine
from reasoner.intake.fhir.pas import PasCase, read_pas
from reasoner.intake.json_case.to_rdf import to_graph
from reasoner.interop.pas import (
    REVIEW_ACTION,
    REVIEW_ACTION_CODE,
    X12_306,
    choose_policy,
    claim_response_bundle,
    judge,
    review,
)

from .conftest import EXAMPLES, ROOT, fhir_examples

SEED_PAS = ROOT / "examples" / "fhir" / "sij-seed-neurectomy.pas.json"
#: HL7's PAS 2.2.1 examples whose first entry is a Claim (the five requests, and the $inquire request).
HL7_REQUESTS = [
    "Bundle-SurgicalRequestBundleExample.json",
    "Bundle-MedicalServicesAuthorizationBundleExample.json",
    "Bundle-HomecareAuthorizationBundleExample.json",
    "Bundle-HomecareAuthorizationUpdateBundleExample.json",
    "Bundle-ReferralAuthorizationBundleExample.json",
    "Bundle-PASClaimInquiryBundleExample.json",
]
NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def seed(kb: KnowledgeBase) -> PasCase:
    return read_pas(SEED_PAS.read_bytes(), kb)


def _determine(kb: KnowledgeBase, name: str, policy: str) -> Determination:
    return determine((EXAMPLES / f"{name}.json").read_bytes(), "json", kb, policy=policy)


def review_action(item: dict[str, Any]) -> tuple[str, str, str]:
    """A ClaimResponse item's (review action, display, review number), checking the PAS 2.2.1 shape on the way."""
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
    assert response["type"] == claim["type"] and response["identifier"] == claim["identifier"]
    assert response["request"] == {
        "reference": "http://example.org/fhir/Claim/sij-seed-neurectomy",
        "identifier": {"system": "http://example.org/PATIENT_EVENT_TRACE_NUMBER", "value": "SIJ-SEED-0001"},
    }
    assert response["created"] == "2026-01-15T09:30:00+00:00"
    assert response["disposition"] == d.outcomeLabel
    assert [n["text"] for n in response["processNote"]] == [*d.rationale, *d.missingInformation]
    assert all(n["type"] == "display" for n in response["processNote"])
    assert [i["itemSequence"] for i in response["item"]] == [seq for seq, _ in seed.items] == [1, 2]
    for item in response["item"]:
        assert review_action(item)[0] == code and review_action(item)[2] == d.determinationId
    echoed = {e["fullUrl"]: e["resource"] for e in out["entry"][1:]}
    requested = {e["fullUrl"]: e["resource"] for e in seed.bundle["entry"]}
    urls = [
        "http://example.org/fhir/Patient/patient-0001",
        "http://example.org/fhir/Organization/insurer-0001",
        "http://example.org/fhir/Organization/requestor-0001",
    ]
    assert list(echoed) == [f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url)}" for url in urls]  # UUID v5 of each
    assert list(echoed.values()) == [requested[url] for url in urls]  # carried as sent
    assert [response[k]["reference"] for k in ("patient", "insurer", "requestor")] == list(echoed)
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


def test_the_hl7_requests_are_every_example_with_a_claim_first() -> None:
    folder = fhir_examples("pas-2.2.1")
    firsts = {
        p.name: json.loads(p.read_bytes())["entry"][0]["resource"]["resourceType"] for p in folder.glob("Bundle-*.json")
    }
    assert sorted(name for name, kind in firsts.items() if kind == "Claim") == sorted(HL7_REQUESTS)


@pytest.mark.parametrize("name", HL7_REQUESTS)
def test_every_pas_request_example_is_read_and_reviewed(kb: KnowledgeBase, name: str) -> None:
    pas = read_pas((fhir_examples("pas-2.2.1") / name).read_bytes(), kb)
    assert pas.claim["resourceType"] == "Claim" and pas.items
    if pas.case is None:
        assert pas.missing and all(code == "required" for code, _, _ in pas.missing)
    result = review(pas, kb, policy=None)  # none can be judged here: every item pended, or cancelled
    assert {i.action for i in result.items} <= {"A4", "C"} and result.notes[0].startswith("Pended for a clinician")
    Bundle.model_validate(claim_response_bundle(pas, result, now=NOW))


def test_an_update_names_the_request_it_updates_and_cancels_its_items(kb: KnowledgeBase) -> None:
    pas = read_pas(
        (fhir_examples("pas-2.2.1") / "Bundle-HomecareAuthorizationUpdateBundleExample.json").read_bytes(), kb
    )
    assert pas.items == [(1, "G0154"), (2, "B4184"), (3, "B4185")] and pas.cancelled == {2}
    assert pas.skipped["Claim"] == 1  # the earlier version, which the update includes as PAS requires
    result = review(pas, kb, policy=None)
    assert [(i.sequence, i.action) for i in result.items] == [(1, "A4"), (2, "C"), (3, "A4")]
    assert "This request updates the request with identifier 111099 (Claim.related); " in " ".join(result.notes)


def test_an_unknown_policy_is_still_refused(kb: KnowledgeBase, seed: PasCase) -> None:
    with pytest.raises(FhirError) as caught:
        review(seed, kb, policy="no-such-policy")
    assert caught.value.status == 422 and caught.value.issues[0][:2] == ("invalid", "policy")
