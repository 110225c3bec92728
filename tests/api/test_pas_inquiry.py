"""A PAS request pended, then decided: $submit keeps it, a clinician reviews it, and HL7's own
PASClaimInquiry example (unchanged) is answered with the reviewed answer."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle

from api import create_app
from api.settings import Settings

from ..conftest import ROOT, fhir_examples
from ..fhir_validation import FhirValidator, errors
from ..test_pas import review_action

FHIR = {"content-type": "application/fhir+json"}


def _example(name: str) -> bytes:
    return (fhir_examples("pas-2.2.1") / f"Bundle-{name}.json").read_bytes()


@pytest.fixture
def kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(kb_dir=ROOT, store=True, data_dir=tmp_path_factory.mktemp("pas"))
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as c:
        yield c


def _inquire(c: TestClient, body: bytes) -> dict[str, Any]:
    r = c.post("/Claim/$inquire", content=body, headers=FHIR)
    assert r.status_code == 200, r.text
    Bundle.model_validate(r.json())  # a valid FHIR R4 Bundle
    return r.json()


def test_hl7s_inquiry_gets_the_stored_reviewed_answer(kept: TestClient, fhir_validator: FhirValidator) -> None:
    submitted = kept.post("/Claim/$submit", content=_example("HomecareAuthorizationBundleExample"), headers=FHIR)
    assert submitted.status_code == 200 and submitted.headers["x-review-status"] == "awaiting-review"
    first = submitted.json()["entry"][0]["resource"]
    assert [review_action(i)[0] for i in first["item"]] == ["A4", "A4"]  # no policy has G0154 or B4184: pended
    inquiry = _example("PASClaimInquiryBundleExample")

    before = _inquire(kept, inquiry)["entry"][0]["resource"]
    assert [review_action(i)[0] for i in before["item"]] == ["A4", "A4"]
    assert before["processNote"][0]["text"].startswith("Awaiting clinician review")

    where = submitted.headers["location"]
    review = {"action": "overturn", "outcome": "medically-necessary", "reviewer": "dr-lee", "reason": "visits needed"}
    signed = kept.post(where + "/reviews", json=review, headers={"if-match": submitted.headers["etag"]})
    assert signed.status_code == 201

    answer = _inquire(kept, inquiry)
    response = answer["entry"][0]["resource"]
    assert response["meta"]["profile"] == [
        "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-claiminquiryresponse"
    ]
    assert response["identifier"][0]["value"] == "111099" and response["disposition"] == "Medically necessary"
    actions = [review_action(i) for i in response["item"]]
    assert [a[:2] for a in actions] == [("A1", "Certified in total")] * 2
    assert {a[2] for a in actions} == {where.rsplit("/", 1)[-1]}  # the review number is the kept id
    notes = [n["text"] for n in response["processNote"]]
    assert notes[0].startswith("Reviewed by dr-lee on ") and "overturned; final outcome Medically necessary" in notes[0]
    assert notes[1] == "Reviewer's reason: visits needed"
    (messages,) = fhir_validator.validate([answer])
    assert errors(messages) == []


def test_a_modified_answer_is_a6(kept: TestClient) -> None:
    submitted = kept.post("/Claim/$submit", content=_example("HomecareAuthorizationBundleExample"), headers=FHIR)
    review = {"action": "modify", "outcome": "medically-necessary", "reviewer": "dr-lee", "reason": "4 visits, not 8"}
    kept.post(submitted.headers["location"] + "/reviews", json=review, headers={"if-match": submitted.headers["etag"]})
    response = _inquire(kept, _example("PASClaimInquiryBundleExample"))["entry"][0]["resource"]
    assert [review_action(i)[:2] for i in response["item"]] == [("A6", "Modified")] * 2


def test_an_inquiry_about_nothing_kept_is_404(kept: TestClient) -> None:
    r = kept.post("/Claim/$inquire", content=_example("PASClaimInquiryBundleExample"), headers=FHIR)
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
    assert r.json()["issue"][0]["code"] == "not-found"


def test_an_inquiry_for_another_patient_finds_nothing(kept: TestClient) -> None:
    kept.post("/Claim/$submit", content=_example("HomecareAuthorizationBundleExample"), headers=FHIR)
    other = json.loads(_example("PASClaimInquiryBundleExample"))
    for entry in other["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["identifier"][0]["value"] = "99999999999"
    r = kept.post("/Claim/$inquire", content=json.dumps(other).encode(), headers=FHIR)
    assert r.status_code == 404


def test_an_inquiry_without_an_identifier_is_422(kept: TestClient) -> None:
    bundle = json.loads(_example("PASClaimInquiryBundleExample"))
    anonymous = copy.deepcopy(bundle)
    del anonymous["entry"][0]["resource"]["identifier"]
    r = kept.post("/Claim/$inquire", content=json.dumps(anonymous).encode(), headers=FHIR)
    assert r.status_code == 422 and "identifier" in json.dumps(r.json())


def test_a_judged_request_is_inquired_about_as_judged(kept: TestClient) -> None:
    pas = (ROOT / "examples/fhir/sij-seed-neurectomy.pas.json").read_bytes()
    submitted = kept.post("/Claim/$submit?policy=sij-clinical-pathway", content=pas, headers=FHIR)
    assert submitted.status_code == 200 and submitted.headers["x-review-status"] == "awaiting-review"
    claim = json.loads(pas)["entry"][0]["resource"]
    inquiry = {"resourceType": "Bundle", "type": "collection", "entry": json.loads(pas)["entry"]}
    assert claim.get("identifier"), "the example request has an identifier to inquire by"
    response = _inquire(kept, json.dumps(inquiry).encode())["entry"][0]["resource"]
    assert response["disposition"] == "Not medically necessary"
    assert [review_action(i)[0] for i in response["item"]] == [
        review_action(i)[0] for i in submitted.json()["entry"][0]["resource"]["item"]
    ]


def test_the_report_names_requests_no_policy_could_judge(kept: TestClient) -> None:
    kept.post("/Claim/$submit", content=_example("HomecareAuthorizationBundleExample"), headers=FHIR)
    report = kept.get("/reports/prior-authorization", headers={"accept": "text/markdown"}).text
    assert "| no policy (PAS requests no policy could judge) | 1 | 0 | 0 | 1 |" in report
