"""GET /codes/{system}/{code}: what the service knows about a code (reasoner/knowledge/code_view.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


def test_an_icd10cm_code_the_kb_does_not_hold_is_described_and_classified(client: TestClient) -> None:
    r = client.get("/codes/icd10cm/M54.15")
    assert r.status_code == 200
    body = r.json()
    assert (body["system"], body["code"], body["kind"], body["billable"]) == ("ICD-10-CM", "M54.15", "code", True)
    assert body["description"] == "Radiculopathy, thoracolumbar region"
    assert body["release"] == "ICD-10-CM FY2026 (April 1, 2026 update)"
    assert [a["code"] for a in body["ancestors"]] == ["M54.1", "M54", "M50-M54", "13"]
    assert body["heldByKnowledgeBase"] is False
    assert (body["denotes"], body["denotedBy"]) == ("Radiculopathy", "family-M54.1")
    assert "medicare-facet-lcd/no-radiculopathy" in body["criteria"] and "medicare-facet-lcd" in body["policies"]


def test_a_covered_code_names_the_diagnosis_list_that_holds_it(client: TestClient) -> None:
    body = client.get("/codes/icd10cm/m47.812").json()  # any case: codes are written in capitals
    assert body["code"] == "M47.812"
    assert body["diagnosisLists"] == [
        {
            "id": "medicare-facet-lcd/covered-diagnoses",
            "label": body["diagnosisLists"][0]["label"],
            "policy": "medicare-facet-lcd",
        }
    ]


def test_a_category_counts_its_billable_codes(client: TestClient) -> None:
    body = client.get("/codes/icd10cm/M47.8").json()
    assert (body["kind"], body["billable"], body["billableCodesUnder"]) == ("category", False, 18)


def test_a_code_held_as_deleted_says_so(client: TestClient) -> None:
    body = client.get("/codes/icd10cm/M54.5").json()
    assert (body["heldByKnowledgeBase"], body["deletedOn"], body["kind"]) == (True, "2021-10-01", "category")


def test_a_procedure_code_has_our_label_and_its_policies(client: TestClient) -> None:
    body = client.get("/codes/hcpcs/E0601").json()
    assert (body["system"], body["description"], body["policies"]) == ("HCPCS", "CPAP device", ["medicare-pap"])
    assert client.get("/codes/cpt/64635").json()["policies"] == ["medicare-facet-lcd"]


def test_a_procedure_code_has_its_region_stated_or_entailed(client: TestClient) -> None:
    assert client.get("/codes/cpt/64635").json()["spinalRegion"] == "lumbar or sacral"  # stated on the code
    assert client.get("/codes/cpt/64493").json()["spinalRegion"] == "lumbar or sacral"  # from its class (chain)
    assert client.get("/codes/hcpcs/E0601").json().get("spinalRegion") is None  # not a spinal procedure


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        (
            "/codes/icd10cm/M99.999",
            "M99.999 is not an ICD-10-CM code: ICD-10-CM FY2026 (April 1, 2026 update) has no such code; "
            "the closest codes are M99.9, M99.09, M99.19",
        ),
        ("/codes/cpt/99999", "CPT 99999 is not in the knowledge base"),
        ("/codes/snomed/1234", "no code system 'snomed'; the systems are icd10cm, cpt, hcpcs"),
    ],
)
def test_what_the_service_does_not_know_is_a_404_saying_so(client: TestClient, path: str, detail: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert r.json()["detail"].startswith(detail)


def test_an_overlong_code_is_a_404_that_does_not_repeat_it(client: TestClient) -> None:
    r = client.get("/codes/icd10cm/M" + "9" * 5000)
    assert r.status_code == 404 and "longer than any" in r.json()["detail"] and "9999" not in r.json()["detail"]
