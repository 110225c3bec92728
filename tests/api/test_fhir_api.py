"""FHIR over HTTP: CDS Hooks services, POST /Claim/$submit, and PAS Bundles on POST /determinations.

Every error here is an OperationOutcome with the FhirError's status, never a 5xx, and never
repeats a submitted value.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from reasoner.interop.cds_hooks import PREFETCH
from reasoner.interop.coverage_information import COVERAGE_INFORMATION

from ..conftest import EXAMPLES, FIXTURES, ROOT
from ..test_cds_hooks import check_coverage_information, check_response
from .conftest import JSON

FHIR = {"content-type": "application/fhir+json"}
FHIR_EXAMPLES = ROOT / "examples" / "fhir"
SEED_PAS = (FHIR_EXAMPLES / "sij-seed-neurectomy.pas.json").read_bytes()
SEED_SIGN = (FHIR_EXAMPLES / "sij-seed-neurectomy.order-sign.json").read_bytes()
SEED_SELECT = (FHIR_EXAMPLES / "sij-seed-neurectomy.order-select.json").read_bytes()
SIGN = "/cds-services/guideline-reasoner-order-sign"
SELECT = "/cds-services/guideline-reasoner-order-select"
SUBMIT = "/Claim/$submit"


pytestmark = pytest.mark.usefixtures("never_5xx")


def _outcome(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].split(";")[0] == "application/fhir+json"
    body = r.json()
    OperationOutcome.model_validate(body)
    assert body["resourceType"] == "OperationOutcome"
    assert [i["severity"] for i in body["issue"]] == ["error"] * len(body["issue"])
    assert code in [i["code"] for i in body["issue"]], body
    return body


def _seed(client: TestClient, path: str = "/determinations", **params: str) -> Any:
    return client.post(path, content=SEED_PAS, headers=FHIR, params=params)


# --- CDS Hooks ---------------------------------------------------------------------------------


def test_discovery(client: TestClient) -> None:
    r = client.get("/cds-services")
    assert r.status_code == 200
    services = {s["id"]: s for s in r.json()["services"]}
    assert services["guideline-reasoner-order-sign"]["hook"] == "order-sign"
    assert services["guideline-reasoner-order-select"]["hook"] == "order-select"
    assert all(s["prefetch"] == PREFETCH for s in services.values())


def test_order_sign_seed(client: TestClient) -> None:
    r = client.post(SIGN, content=SEED_SIGN, headers=JSON)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    check_response(body)
    urls = sorted(c["source"]["url"] for c in body["cards"])
    assert urls == [
        f"http://testserver/policies/{p}" for p in ("evicore-sij", "medicare-sij-lcd", "sij-clinical-pathway")
    ]
    assert all(client.get(u.removeprefix("http://testserver")).status_code == 200 for u in urls)  # the links work
    for c in body["cards"]:  # each card links the determination kept, which is the card's
        (kept,) = [link["url"] for link in c["links"] if "/determinations/" in link["url"]]
        record = client.get(kept.removeprefix("http://testserver")).json()
        assert record["policy"]["label"] in c["summary"] and record["record"]["status"] == "awaiting-review"
    infos = [e for a in body["systemActions"] for e in a["resource"]["extension"] if e["url"] == COVERAGE_INFORMATION]
    assert {check_coverage_information(i)["coverage"][0]["reference"] for i in infos} == {"Coverage/coverage-0001"}
    one = client.post(SIGN, content=SEED_SIGN, headers=JSON, params={"policy": "sij-clinical-pathway"}).json()
    assert [c["summary"] for c in one["cards"]] == ["64772, 64999: not medically necessary under SIJ clinical pathway"]
    assert r.json() == client.post(SIGN, content=SEED_SIGN, headers=JSON).json()  # same request, same answer


def test_order_select_seed(client: TestClient) -> None:
    r = client.post(SELECT, content=SEED_SELECT, headers=JSON)
    assert r.status_code == 200
    check_response(r.json())


def test_cds_errors(client: TestClient) -> None:
    _outcome(client.post("/cds-services/no-such-service", content=SEED_SIGN, headers=JSON), 404, "not-found")
    wrong = _outcome(client.post(SELECT, content=SEED_SIGN, headers=JSON), 400, "not-supported")  # hook mismatch
    assert wrong["issue"][0]["expression"] == ["hook"]
    request = json.loads(SEED_SIGN)
    del request["prefetch"]["procedures"]
    missing = _outcome(client.post(SIGN, content=json.dumps(request), headers=JSON), 412, "required")
    assert [i["expression"] for i in missing["issue"]] == [["prefetch.procedures"]]
    _outcome(client.post(SIGN, content=b"not json", headers=JSON), 400, "structure")
    unknown = _outcome(client.post(SIGN, content=SEED_SIGN, headers=JSON, params={"policy": "bogus-x"}), 422, "invalid")
    assert "bogus-x" not in json.dumps(unknown)


def test_cds_coverage_rule(client: TestClient) -> None:
    """No Coverage prefetch: 412; a Coverage prefetch with no Coverage: 400 (README, "FHIR, PAS and CDS Hooks")."""
    request = json.loads(SEED_SIGN)
    request["prefetch"]["coverage"] = None
    none = _outcome(client.post(SIGN, content=json.dumps(request), headers=JSON), 400, "required")
    assert [i["expression"] for i in none["issue"]] == [["prefetch.coverage"]]
    select = json.loads(SEED_SELECT)
    del select["prefetch"]["coverage"]
    absent = _outcome(client.post(SELECT, content=json.dumps(select), headers=JSON), 412, "required")
    assert [i["expression"] for i in absent["issue"]] == [["prefetch.coverage"]]


def test_system_actions_have_a_description(client: TestClient) -> None:
    body = client.post(SIGN, content=SEED_SIGN, headers=JSON, params={"policy": "sij-clinical-pathway"}).json()
    assert [a["description"] for a in body["systemActions"]] == [
        f"Add coverage information to ServiceRequest/{o}: not-covered under SIJ clinical pathway"
        for o in ("sij-seed-neurectomy-64772", "sij-seed-neurectomy-64999")
    ]


def test_cds_request_over_the_limit(client: TestClient) -> None:
    big = b'{"hook": "order-sign", "x": "' + b"a" * 1_100_000 + b'"}'
    _outcome(client.post(SIGN, content=big, headers=JSON), 413, "too-costly")


# --- POST /Claim/$submit -----------------------------------------------------------------------


def test_submit_seed(client: TestClient) -> None:
    r = _seed(client, SUBMIT, policy="sij-clinical-pathway")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/fhir+json"
    assert r.headers["x-fhir-skipped"] == "Coverage=1, Encounter=1, Organization=2, Patient=1"
    body = r.json()
    Bundle.model_validate(body)
    response = body["entry"][0]["resource"]
    assert response["resourceType"] == "ClaimResponse" and response["disposition"] == "Not medically necessary"
    plain = client.post(
        "/determinations?policy=sij-clinical-pathway",
        content=(EXAMPLES / "sij-seed-neurectomy.json").read_bytes(),
        headers=JSON,
    ).json()
    codes = {
        i["adjudication"][0]["extension"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
        for i in response["item"]
    }
    assert codes == {"A3"} and plain["outcome"] == "not-medically-necessary"
    plain_json = client.post(SUBMIT, content=SEED_PAS, headers=JSON, params={"policy": "sij-clinical-pathway"})
    assert plain_json.status_code == 200  # application/json is read as FHIR JSON too


def test_submit_without_a_policy_pends_and_lists_the_relevant_ones(client: TestClient) -> None:
    r = _seed(client, SUBMIT)
    assert r.status_code == 200, r.text  # a PAS client cannot name a policy: the reviewer chooses
    response = r.json()["entry"][0]["resource"]
    assert response["disposition"] == "Pended: clinician review"
    assert "(evicore-sij, medicare-sij-lcd, sij-clinical-pathway)" in response["processNote"][1]["text"]


def test_submit_with_an_unknown_policy_is_refused(client: TestClient) -> None:
    body = _outcome(_seed(client, SUBMIT, policy="bogus-x"), 422, "invalid")
    assert body["issue"][0]["expression"] == ["policy"] and "bogus-x" not in json.dumps(body)


def test_submit_needs_fhir_json(client: TestClient) -> None:
    _outcome(client.post(SUBMIT, content=SEED_PAS, headers={"content-type": "text/turtle"}), 415, "not-supported")


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/turtle"],
)
def test_a_hook_call_needs_a_json_content_type(client: TestClient, content_type: str | None) -> None:
    """What a cross-site form can send (no type, text/plain, a form) never reaches a CDS service."""
    headers = {"content-type": content_type} if content_type else {}
    _outcome(client.post(SIGN, content=SEED_SIGN, headers=headers), 415, "not-supported")
    assert client.post(SIGN, content=SEED_SIGN, headers={"content-type": "application/fhir+json"}).status_code == 200


BAD = [
    ("wrong-resource-type", 400, "invalid", "Pateint"),
    ("claim-not-first", 400, "invalid", None),
    ("broken-reference", 400, "not-found", "does-not-exist"),
    ("bad-quantity", 400, "invalid", "lots"),
    ("not-fhir", 400, "structure", None),
]


@pytest.mark.parametrize(("name", "status", "code", "secret"), BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize("path", [SUBMIT, "/determinations"])
def test_bad_fhir_input_is_an_operation_outcome(
    client: TestClient, path: str, name: str, status: int, code: str, secret: str | None
) -> None:
    payload = (FIXTURES / "fhir" / f"{name}.json").read_bytes()
    r = client.post(path, content=payload, headers=FHIR, params={"policy": "sij-clinical-pathway"})
    body = _outcome(r, status, code)
    if secret is not None:
        assert secret not in r.text
    if name == "bad-quantity":
        assert ["Bundle.entry[0].resource.item[0].quantity.value"] in [i.get("expression") for i in body["issue"]]


def test_a_claim_without_a_procedure_code_is_pended_by_submit_and_refused_by_determinations(
    client: TestClient,
) -> None:
    payload = (FIXTURES / "fhir" / "no-procedure-code.json").read_bytes()
    params = {"policy": "sij-clinical-pathway"}
    _outcome(client.post("/determinations", content=payload, headers=FHIR, params=params), 422, "required")
    r = client.post(SUBMIT, content=payload, headers=FHIR, params=params)
    assert r.status_code == 200, r.text
    response = r.json()["entry"][0]["resource"]
    assert [
        i["adjudication"][0]["extension"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
        for i in response["item"]
    ] == ["A4", "A4"]
    assert "Information needed: no item has a CPT or HCPCS code" in json.dumps(response["processNote"])


@pytest.mark.parametrize("path", [SUBMIT, "/determinations"])
def test_fhir_body_over_the_limit(client: TestClient, path: str) -> None:
    big = b'{"resourceType": "Bundle", "x": "' + b"a" * 1_100_000 + b'"}'
    _outcome(client.post(path, content=big, headers=FHIR), 413, "too-costly")


# --- POST /determinations with a PAS Bundle ------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "marker"),
    [
        ("application/json", '"outcome":"not-medically-necessary"'),
        ("text/markdown", "# Determination: Not medically necessary"),
        ("text/html", "<h1>Determination: Not medically necessary</h1>"),
        ("text/turtle", "prov:wasGeneratedBy"),
        ("application/ld+json", "http://www.w3.org/ns/prov#wasGeneratedBy"),
    ],
)
def test_determinations_reads_a_pas_bundle(client: TestClient, accept: str, marker: str) -> None:
    r = client.post("/determinations?policy=sij-clinical-pathway", content=SEED_PAS, headers={**FHIR, "accept": accept})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == accept
    assert marker in r.text.replace('": "', '":"')
    assert r.headers["x-fhir-skipped"]


def test_determinations_pas_bundle_matches_the_json_case(client: TestClient) -> None:
    fhir = _seed(client, policy="sij-clinical-pathway").json()
    plain = client.post(
        "/determinations?policy=sij-clinical-pathway",
        content=(EXAMPLES / "sij-seed-neurectomy.json").read_bytes(),
        headers=JSON,
    ).json()
    assert fhir["outcome"] == plain["outcome"]
    assert {c["id"]: c["status"] for c in fhir["criteria"]} == {c["id"]: c["status"] for c in plain["criteria"]}


def test_determinations_pas_bundle_compared_and_defaults(client: TestClient) -> None:
    r = _seed(client, policy="all")
    assert r.status_code == 200
    assert [s["policy"] for s in r.json()["summary"]] == ["evicore-sij", "medicare-sij-lcd", "sij-clinical-pathway"]
    _outcome(_seed(client), 422, "required")  # several policies and none chosen
