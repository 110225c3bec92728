"""POST /Claim/$submit answers every valid PAS request, HL7's own examples included, with references that resolve.

HL7's Da Vinci PAS 2.2.1 request examples are read unchanged from the team's shared folder
(tests/conftest.py, ``fhir_examples``). None of them can be judged here: no policy of the knowledge
base addresses their codes, or they have no diagnosis or no CPT/HCPCS code. Each is pended (A4) for
a clinician reviewer with the reason and what is missing as process notes, an item of an update
that the update cancels is answered C, and the ClaimResponse names the Claim it answers.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claimresponse import ClaimResponse

from ..conftest import ROOT, fhir_examples
from ..fhir_references import UUID_URL, walk
from ..test_pas import review_action

SUBMIT = "/Claim/$submit"
FHIR = {"content-type": "application/fhir+json"}
SEED_PAS = ROOT / "examples" / "fhir" / "sij-seed-neurectomy.pas.json"
REVIEWER = "Pended for a clinician reviewer: the request cannot be judged against a guideline as sent."
DIAGNOSIS = "Information needed: an ICD-10-CM diagnosis (Claim.diagnosis)."
NO_CODE = (
    "Information needed: no item has a CPT or HCPCS code (Claim.item.productOrService), "
    "and guidelines are found by those codes."
)


def _no_policy(codes: str) -> str:
    return (
        f"No policy in the knowledge base addresses the requested code(s) {codes}: none has a coverage "
        "position on them or names them as falling back to general review."
    )


def _unaddressed(sequence: int, code: str) -> str:
    return (
        f"Item {sequence} ({code}): no policy in the knowledge base addresses this code; sent to a clinician reviewer."
    )


# Each example: the review action of each item, the notes about the request as a whole, and each item's notes.
EXAMPLES: dict[str, tuple[dict[int, str], list[str], dict[int, list[str]]]] = {
    "Bundle-SurgicalRequestBundleExample.json": (
        {1: "A4"},
        [REVIEWER, _no_policy("33510")],
        {1: [_unaddressed(1, "33510")]},
    ),
    "Bundle-MedicalServicesAuthorizationBundleExample.json": (
        {1: "A4"},
        [REVIEWER, _no_policy("99212"), DIAGNOSIS],
        {1: [_unaddressed(1, "99212")]},
    ),
    "Bundle-HomecareAuthorizationBundleExample.json": (
        {1: "A4", 2: "A4"},
        [REVIEWER, _no_policy("G0154, B4184"), DIAGNOSIS],
        {1: [_unaddressed(1, "G0154")], 2: [_unaddressed(2, "B4184")]},
    ),
    "Bundle-HomecareAuthorizationUpdateBundleExample.json": (
        {1: "A4", 2: "C", 3: "A4"},
        [
            REVIEWER,
            _no_policy("G0154, B4185"),
            DIAGNOSIS,
            "This request updates the request with identifier 111099 (Claim.related); "
            "each item is reviewed as it now stands.",
        ],
        {
            1: [_unaddressed(1, "G0154")],
            2: ["Item 2 (B4184): cancelled by this update; not reviewed."],
            3: [_unaddressed(3, "B4185")],
        },
    ),
    "Bundle-ReferralAuthorizationBundleExample.json": (
        {1: "A4"},
        [REVIEWER, NO_CODE],
        {1: ["Item 1: no CPT or HCPCS code, so no guideline can be found for it; sent to a clinician reviewer."]},
    ),
}
DISPLAYS = {"A1": "Certified in total", "A3": "Not Certified", "A4": "Pending", "C": "Cancelled"}


pytestmark = pytest.mark.usefixtures("never_5xx")


def _check_response_bundle(request: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The PAS response Bundle's shape, the Claim it answers, and its references; returns the ClaimResponse."""
    Bundle.model_validate(body)
    assert body["type"] == "collection" and body["timestamp"]
    assert body["identifier"] == request["identifier"]
    assert body["meta"]["profile"] == [
        "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-pas-response-bundle"
    ]
    assert [e["fullUrl"] for e in body["entry"] if not UUID_URL.fullmatch(e["fullUrl"])] == []
    response = body["entry"][0]["resource"]
    ClaimResponse.model_validate(response)
    assert response["resourceType"] == "ClaimResponse"
    assert (response["status"], response["use"], response["outcome"]) == ("active", "preauthorization", "complete")
    claim_entry = request["entry"][0]
    claim = claim_entry["resource"]
    assert response["identifier"] == claim["identifier"]
    assert response["request"] == {"reference": claim_entry["fullUrl"], "identifier": claim["identifier"][0]}
    assert [i["itemSequence"] for i in response["item"]] == [i["sequence"] for i in claim["item"]]
    references = walk(body)
    assert references.broken == {}
    assert references.external == {"Bundle.entry[0].resource.request.reference": claim_entry["fullUrl"]}
    by_url = {e["fullUrl"]: e["resource"] for e in body["entry"]}
    sent = {f"{r['resourceType']}/{r['id']}": r for r in (e["resource"] for e in request["entry"])}
    for field, asked in (("patient", "patient"), ("insurer", "insurer"), ("requestor", "provider")):
        carried = by_url[response[field]["reference"]]
        assert carried == sent[claim[asked]["reference"]], field  # the requester's resource, as sent
    return response


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_hl7_request_example_is_answered_with_a_claim_response(client: TestClient, name: str) -> None:
    path = fhir_examples("pas-2.2.1") / name
    request = json.loads(path.read_bytes())
    r = client.post(SUBMIT, content=path.read_bytes(), headers=FHIR)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/fhir+json"
    response = _check_response_bundle(request, r.json())
    actions, general, per_item = EXAMPLES[name]
    assert response["disposition"] == "Pended: clinician review"
    notes = {n["number"]: n["text"] for n in response["processNote"]}
    assert list(notes) == list(range(1, len(notes) + 1))
    assert [notes[i] for i in range(1, len(general) + 1)] == general
    numbers = set()
    for item in response["item"]:
        code, display, number = review_action(item)
        assert (code, display) == (actions[item["itemSequence"]], DISPLAYS[code])
        assert [notes[n] for n in item["noteNumber"]] == per_item[item["itemSequence"]]
        numbers.add(number)
    assert len(numbers) == 1 and len(numbers.pop()) == 32  # one review number, a digest
    again = client.post(SUBMIT, content=path.read_bytes(), headers=FHIR).json()["entry"][0]["resource"]
    assert {k: v for k, v in again.items() if k != "created"} == {k: v for k, v in response.items() if k != "created"}


def test_the_item_trace_numbers_come_back(client: TestClient) -> None:
    path = fhir_examples("pas-2.2.1") / "Bundle-ReferralAuthorizationBundleExample.json"
    (item,) = client.post(SUBMIT, content=path.read_bytes(), headers=FHIR).json()["entry"][0]["resource"]["item"]
    (trace,) = item["extension"]
    assert trace == {
        "url": "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-itemTraceNumber",
        "valueIdentifier": {"system": "http://example.org/ITEM_TRACE_NUMBER", "value": "1122334"},
    }


def test_an_update_that_cancels_every_coded_item_is_still_answered(client: TestClient) -> None:
    path = fhir_examples("pas-2.2.1") / "Bundle-HomecareAuthorizationUpdateBundleExample.json"
    request = json.loads(path.read_bytes())
    cancel = {"url": "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/modifierextension-infoCancelled"}
    for item in request["entry"][0]["resource"]["item"]:
        item["modifierExtension"] = [{**cancel, "valueBoolean": True}]
    r = client.post(SUBMIT, content=json.dumps(request), headers=FHIR)
    assert r.status_code == 200, r.text
    response = _check_response_bundle(request, r.json())
    assert [review_action(i)[0] for i in response["item"]] == ["C", "C", "C"]
    assert NO_CODE in [n["text"] for n in response["processNote"]]


# --- decidable requests: the seed case, with and without a policy ------------------------------------------


EVICORE_64999 = (
    "Item 2 (64999): the policy 'eviCore CMM-203 SIJ Injection and CMM-208 RF Denervation' does not address "
    "this code; sent to a clinician reviewer."
)


@pytest.mark.parametrize(
    ("policy", "actions", "disposition", "item_notes"),
    [
        ("sij-clinical-pathway", ["A3", "A3"], "Not medically necessary", [[], []]),
        ("evicore-sij", ["A4", "A4"], "Pended: clinician review", [[], [EVICORE_64999]]),  # advisory criteria only
        ("medicare-sij-lcd", ["A4", "A4"], "No applicable guideline", [[], []]),  # both codes: general review
    ],
)
def test_the_seed_is_judged_under_the_policy_named(
    client: TestClient, policy: str, actions: list[str], disposition: str, item_notes: list[list[str]]
) -> None:
    request = json.loads(SEED_PAS.read_bytes())
    r = client.post(SUBMIT, content=SEED_PAS.read_bytes(), headers=FHIR, params={"policy": policy})
    assert r.status_code == 200, r.text
    response = _check_response_bundle(request, r.json())
    assert response["disposition"] == disposition
    determination = client.post(f"/determinations?policy={policy}", content=SEED_PAS.read_bytes(), headers=FHIR).json()
    reasons = determination["rationale"] + determination["missingInformation"]
    notes = {n["number"]: n["text"] for n in response["processNote"]}
    assert [notes[i] for i in range(1, len(reasons) + 1)] == reasons
    assert [review_action(i)[0] for i in response["item"]] == actions
    assert [[notes[n] for n in i.get("noteNumber", [])] for i in response["item"]] == item_notes
    assert {review_action(i)[2] for i in response["item"]} == {determination["determinationId"]}
    if policy == "evicore-sij":
        assert notes[1].startswith("Requested code covered [U, advisory]: ")


def test_the_seed_without_a_policy_is_pended_naming_each_policy_and_its_answer(client: TestClient) -> None:
    r = client.post(SUBMIT, content=SEED_PAS.read_bytes(), headers=FHIR)
    assert r.status_code == 200, r.text
    response = _check_response_bundle(json.loads(SEED_PAS.read_bytes()), r.json())
    assert {review_action(i)[0] for i in response["item"]} == {"A4"}
    assert [n["text"] for n in response["processNote"]] == [
        REVIEWER,
        "Several policies address the requested codes (evicore-sij, medicare-sij-lcd, sij-clinical-pathway) and "
        "the request does not say which applies: the clinician reviewer chooses (a request sent with ?policy=ID "
        "is judged under that policy).",
        "Under eviCore CMM-203 SIJ Injection and CMM-208 RF Denervation (evicore-sij): pended for clinician review.",
        "Under Medicare LCD L39383 Sacroiliac Joint Injections and Procedures (medicare-sij-lcd): "
        "no applicable guideline.",
        "Under SIJ clinical pathway (sij-clinical-pathway): not medically necessary.",
    ]


def test_an_item_the_policy_does_not_address_is_pended_on_its_own(client: TestClient) -> None:
    request = json.loads(SEED_PAS.read_bytes())
    claim = request["entry"][0]["resource"]
    extra = copy.deepcopy(claim["item"][0])
    extra["sequence"] = 3
    extra["productOrService"] = {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}
    claim["item"].append(extra)
    r = client.post(SUBMIT, content=json.dumps(request), headers=FHIR, params={"policy": "sij-clinical-pathway"})
    assert r.status_code == 200, r.text
    response = _check_response_bundle(request, r.json())
    assert [review_action(i)[0] for i in response["item"]] == ["A3", "A3", "A4"]
    notes = {n["number"]: n["text"] for n in response["processNote"]}
    assert [notes[n] for n in response["item"][2]["noteNumber"]] == [
        "Item 3 (99213): the policy 'SIJ clinical pathway' does not address this code; sent to a clinician reviewer."
    ]


# --- references --------------------------------------------------------------------------------------------


def _urn(name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def _seed_with_a_practitioner_role(restful: bool) -> dict[str, Any]:
    """The seed request whose provider is a PractitionerRole reaching further (fullUrls urn:uuid, or RESTful)."""
    request = json.loads(SEED_PAS.read_bytes())
    base = "http://example.org/fhir/"
    role = {
        "resourceType": "PractitionerRole",
        "id": "role-1",
        "practitioner": {"reference": "Practitioner/practitioner-1"},
        "organization": {"reference": "Organization/requestor-0001", "display": "the clinic"},
        "location": [{"reference": "Location/not-sent"}],
    }
    practitioner = {"resourceType": "Practitioner", "id": "practitioner-1", "name": [{"family": "EXAMPLE"}]}
    request["entry"] += [{"resource": role}, {"resource": practitioner}]
    for entry in request["entry"]:
        r = entry["resource"]
        entry["fullUrl"] = f"{base}{r['resourceType']}/{r['id']}" if restful else _urn(r["id"])
    if not restful:
        claim = request["entry"][0]["resource"]
        claim["patient"] = {"reference": _urn("patient-0001")}
        claim["insurer"] = {"reference": _urn("insurer-0001")}
        role["practitioner"] = {"reference": _urn("practitioner-1")}
    request["entry"][0]["resource"]["provider"] = {"reference": "PractitionerRole/role-1"}
    return request


@pytest.mark.parametrize("restful", [False, True], ids=["urn-uuid", "restful"])
def test_references_resolve_in_the_response_whatever_the_request_used(client: TestClient, restful: bool) -> None:
    request = _seed_with_a_practitioner_role(restful)
    r = client.post(SUBMIT, content=json.dumps(request), headers=FHIR, params={"policy": "sij-clinical-pathway"})
    assert r.status_code == 200, r.text
    body = r.json()
    Bundle.model_validate(body)
    references = walk(body)
    assert references.broken == {}
    entries = {e["resource"]["resourceType"] + "/" + e["resource"]["id"]: e for e in body["entry"][1:]}
    assert list(entries) == [
        "Patient/patient-0001",
        "Organization/insurer-0001",
        "PractitionerRole/role-1",
        "Practitioner/practitioner-1",
        "Organization/requestor-0001",
    ]
    if not restful:  # the request's own urn:uuid fullUrls are kept
        assert entries["Patient/patient-0001"]["fullUrl"] == _urn("patient-0001")
    role = entries["PractitionerRole/role-1"]["resource"]
    assert role["practitioner"] == {"reference": entries["Practitioner/practitioner-1"]["fullUrl"]}
    assert role["organization"] == {
        "reference": entries["Organization/requestor-0001"]["fullUrl"],
        "display": "the clinic",
    }
    role_path = f"Bundle.entry[{list(entries).index('PractitionerRole/role-1') + 1}].resource.location[0]"
    if restful:  # on the requester's server, as R4 reads it in the request
        assert role["location"] == [{"reference": "http://example.org/fhir/Location/not-sent"}]
        assert references.external[f"{role_path}.reference"] == "http://example.org/fhir/Location/not-sent"
    else:  # it pointed nowhere in the request either
        absent = {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}
        assert role["location"] == [{"extension": [absent]}]
        assert role_path + ".reference" not in references.external


def test_the_walk_finds_references_that_do_not_resolve() -> None:
    """The walk can fail: a relative reference from a urn:uuid entry, and a urn:uuid no entry has."""
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {
                "fullUrl": _urn("a"),
                "resource": {"resourceType": "ClaimResponse", "patient": {"reference": "Patient/1"}},
            },
            {
                "fullUrl": _urn("b"),
                "resource": {"resourceType": "Patient", "link": [{"other": {"reference": _urn("c")}}]},
            },
        ],
    }
    assert walk(bundle).broken == {
        "Bundle.entry[0].resource.patient.reference": "Patient/1",
        "Bundle.entry[1].resource.link[0].other.reference": _urn("c"),
    }


def test_the_walk_reads_hl7s_own_response_example() -> None:
    """HL7's pended response uses RESTful fullUrls: its relative references resolve against them, or are external."""
    path = fhir_examples("pas-2.2.1") / "Bundle-ReferralPendingAuthorizationResponseBundleExample.json"
    references = walk(json.loads(path.read_bytes()))
    assert references.broken == {}
    assert references.inside["Bundle.entry[0].resource.patient.reference"] == (
        "http://example.org/fhir/Patient/SubscriberExample"
    )
    assert references.external["Bundle.entry[0].resource.request.reference"] == (
        "http://example.org/fhir/Claim/ReferralAuthorizationExample"
    )


# --- what is refused: a body that is not a PAS request Bundle ----------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "expression"),
    [
        (b"[]", "structure", None),
        (b'{"resourceType": "Claim", "status": "active"}', "invalid", "resourceType"),
        (b'{"resourceType": "Bundle", "type": "collection"}', "invalid", "Bundle.entry[0]"),
        (b'{"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "urn:uuid:x"}]}', "structure", None),
    ],
    ids=["an-array", "a-claim-alone", "no-entries", "an-entry-without-a-resource"],
)
def test_what_is_not_a_pas_request_is_an_operation_outcome(
    client: TestClient, body: bytes, code: str, expression: str | None
) -> None:
    r = client.post(SUBMIT, content=body, headers=FHIR)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/fhir+json"
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == code
    if expression is not None:
        assert outcome["issue"][0]["expression"] == [expression]
