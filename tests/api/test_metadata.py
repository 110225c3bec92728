"""GET /metadata: a FHIR R4 CapabilityStatement listing the FHIR operations the service really offers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from ..conftest import ROOT

PAS = "http://hl7.org/fhir/us/davinci-pas"


def test_metadata_is_a_capability_statement(client: TestClient) -> None:
    r = client.get("/metadata")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/fhir+json"
    body = r.json()
    CapabilityStatement.model_validate(body)  # R4B's model: the resource is valid FHIR
    assert body["resourceType"] == "CapabilityStatement"
    assert (body["status"], body["kind"], body["fhirVersion"], body["format"]) == (
        "active",
        "instance",
        "4.0.1",
        ["json"],
    )
    assert body["instantiates"] == [f"{PAS}/CapabilityStatement/IntermediaryCapabilities|2.2.1"]
    assert body["software"]["name"] == "guideline-reasoner"
    assert body["implementation"]["url"] == "http://testserver"
    assert r.headers["x-knowledge-base"] in body["implementation"]["description"]
    assert body["date"] == client.get("/version").json()["published"]
    (rest,) = body["rest"]
    assert rest["mode"] == "server"
    offered = [(res["type"], op["name"], op["definition"]) for res in rest["resource"] for op in res["operation"]]
    assert offered == [
        ("Claim", "submit", f"{PAS}/OperationDefinition/Claim-submit"),
        ("Claim", "inquire", f"{PAS}/OperationDefinition/Claim-inquiry"),
    ]


def test_every_operation_listed_answers(client: TestClient) -> None:
    pas = (ROOT / "examples" / "fhir" / "sij-seed-neurectomy.pas.json").read_bytes()
    for resource in client.get("/metadata").json()["rest"][0]["resource"]:
        for operation in resource["operation"]:
            url = f"/{resource['type']}/${operation['name']}"
            r = client.post(url, content=pas, headers={"content-type": "application/fhir+json"})
            assert r.status_code == 200, (url, r.text[:300])
            assert r.json()["entry"][0]["resource"]["resourceType"] == "ClaimResponse"
