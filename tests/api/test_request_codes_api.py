"""Diagnosis codes over HTTP: a code ICD-10-CM does not have is a 422 naming it; a category pends, in every format."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from ..conftest import EXAMPLES, ROOT
from .conftest import JSON

FHIR = {"content-type": "application/fhir+json"}
SEED = (EXAMPLES / "sij-seed-neurectomy.json").read_text()
SIGN = (ROOT / "examples" / "fhir" / "sij-seed-neurectomy.order-sign.json").read_text()
PAS = (ROOT / "examples" / "fhir" / "sij-seed-neurectomy.pas.json").read_text()


def test_a_json_case_with_no_such_code_is_a_422_naming_it(client: TestClient, never_5xx: None) -> None:
    r = client.post("/determinations", content=SEED.replace('"M47.816"', '"M99.999"'), headers=JSON)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "case-schema"
    (error,) = body["errors"]
    assert error["location"] == "request.diagnoses.0"
    assert (
        error["problem"].startswith("M99.999 is not an ICD-10-CM code") and "M99.9, M99.09, M99.19" in error["problem"]
    )


def test_a_json_case_with_a_category_is_pended(client: TestClient, never_5xx: None) -> None:
    r = client.post("/determinations", content=SEED.replace('"M47.816"', '"M47.8"'), headers=JSON)
    assert r.status_code == 200
    body = r.json()
    assert body["outcome"] == "pended-information-needed"
    assert body["diagnoses"][0] == {
        "code": "M47.8",
        "system": "ICD-10-CM",
        "description": "Other spondylosis",
        "billable": False,
        "primary": True,
        "problem": body["rationale"][0],
    }


def test_a_pas_claim_with_no_such_code_is_an_operation_outcome(client: TestClient, never_5xx: None) -> None:
    for path in ("/Claim/$submit", "/determinations"):
        r = client.post(path, content=PAS.replace('"M47.816"', '"M47.810"'), headers=FHIR)
        assert r.status_code == 422, path
        (issue,) = r.json()["issue"]
        assert issue["code"] == "code-invalid"
        assert issue["expression"] == ["Bundle.entry[0].resource.diagnosis[0].diagnosisCodeableConcept"]
        assert "M47.810 is not an ICD-10-CM code" in issue["diagnostics"]


def test_a_pas_claim_with_a_category_is_pended_with_a_note_on_each_item(client: TestClient, never_5xx: None) -> None:
    r = client.post(
        "/Claim/$submit",
        params={"policy": "sij-clinical-pathway"},
        content=PAS.replace('"M47.816"', '"M47.8"'),
        headers=FHIR,
    )
    assert r.status_code == 200
    response = r.json()["entry"][0]["resource"]
    notes = {n["number"]: n["text"] for n in response["processNote"]}
    assert notes[1].startswith("A billable code is needed: M47.8")
    for item in response["item"]:
        assert any("A billable code is needed: M47.8" in notes[n] for n in item["noteNumber"])


def test_a_cds_hook_warns_of_no_such_code_and_of_a_category(client: TestClient, never_5xx: None) -> None:
    """CDS Hooks answers the ordering clinician with a card, not a refusal: the order is there to be fixed."""
    url = "/cds-services/guideline-reasoner-order-sign"
    r = client.post(url, content=SIGN.replace('"M47.816"', '"M47.810"'), headers=JSON)
    assert r.status_code == 200
    (card,) = r.json()["cards"]
    assert card["indicator"] == "warning"
    assert "M47.810 is not an ICD-10-CM code" in card["detail"] and "M47.811, M47.812, M47.813" in card["detail"]
    r = client.post(url, content=SIGN.replace('"M47.816"', '"M47.8"'), headers=JSON)
    assert r.status_code == 200
    assert "A billable code is needed: M47.8" in json.dumps(r.json()["cards"])
    r = client.post(url, content=SIGN, headers=JSON)
    named = "Diagnoses (ICD-10-CM): M47.816 Spondylosis without myelopathy or radiculopathy, lumbar region."
    assert r.json()["cards"] and all(named in card["detail"] for card in r.json()["cards"])
