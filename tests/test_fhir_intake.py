"""FHIR intake (reasoner/intake/fhir/): PAS Bundles and CDS Hooks order requests as cases."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from reasoner import KnowledgeBase, determine
from reasoner.errors import FhirError
from reasoner.intake.fhir.hooks import read_hook
from reasoner.intake.fhir.pas import read_pas
from reasoner.intake.json_case.to_rdf import to_graph
from reasoner.interop.fhir_output import operation_outcome, skipped_header
from reasoner.pipeline import determine_graph

from .conftest import EXAMPLES, ROOT, fhir_examples

FHIR = ROOT / "examples" / "fhir"
BAD = Path(__file__).resolve().parent / "fixtures" / "fhir"
SHARED = Path(__file__).resolve().parent / "fixtures" / "fhir" / "hl7"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
SEED_POLICIES = ("sij-clinical-pathway", "medicare-sij-lcd", "evicore-sij")


def _load(name: str) -> dict[str, Any]:
    return json.loads((FHIR / name).read_text())


def _answer(d) -> tuple[str, dict[str, str], list[str]]:  # type: ignore[no-untyped-def]
    return d.outcome.value, {c.id: c.status.value for c in d.criteria}, [s.step for s in d.nextSteps]


def _seed(kb: KnowledgeBase, policy: str):  # type: ignore[no-untyped-def]
    return determine((EXAMPLES / "sij-seed-neurectomy.json").read_bytes(), "json", kb, policy=policy)


@pytest.mark.parametrize("policy", SEED_POLICIES)
def test_seed_as_a_pas_bundle_gets_the_json_answer(kb: KnowledgeBase, policy: str) -> None:
    pas = read_pas((FHIR / "sij-seed-neurectomy.pas.json").read_bytes(), kb)
    assert pas.case is not None and pas.problem is None
    d = determine_graph(to_graph(pas.case, kb), kb, policy=policy)
    assert _answer(d) == _answer(_seed(kb, policy))
    assert pas.items == [(1, "64772"), (2, "64999")]
    assert pas.skipped == {"Patient": 1, "Organization": 2, "Coverage": 1, "Encounter": 1}
    assert skipped_header(pas.skipped) == "Coverage=1, Encounter=1, Organization=2, Patient=1"


@pytest.mark.parametrize("policy", SEED_POLICIES)
def test_seed_as_an_order_sign_request_gets_the_json_answer(kb: KnowledgeBase, policy: str) -> None:
    call = read_hook((FHIR / "sij-seed-neurectomy.order-sign.json").read_bytes(), kb, service_hook="order-sign")
    assert call.case is not None and call.problem is None
    assert [o.reference for o in call.orders] == [
        "ServiceRequest/sij-seed-neurectomy-64772",
        "ServiceRequest/sij-seed-neurectomy-64999",
    ]
    d = determine_graph(to_graph(call.case, kb), kb, policy=policy)
    assert _answer(d) == _answer(_seed(kb, policy))
    assert call.coverage is not None and call.coverage["resourceType"] == "Coverage"


def test_order_select_judges_only_the_selected_order(kb: KnowledgeBase) -> None:
    call = read_hook((FHIR / "sij-seed-neurectomy.order-select.json").read_bytes(), kb, service_hook="order-select")
    assert [o.codes for o in call.orders] == [["64772"]]
    assert call.skipped["ServiceRequest (not selected)"] == 1
    assert call.case is not None and [line.code for line in call.case.request.codes] == ["64772"]


def test_a_draft_device_request_is_an_order(kb: KnowledgeBase) -> None:
    """A DeviceRequest (CRD's crd-devicerequest: durable medical equipment) is read like a ServiceRequest,
    its code from ``codeCodeableConcept``; one that names only a Device (``codeReference``) has no code."""
    request = _load("pap-initial-b1-hst.order-sign.json")
    call = read_hook(json.dumps(request).encode(), kb, service_hook="order-sign")
    assert [(o.reference, o.codes) for o in call.orders] == [("DeviceRequest/pap-initial-b1-hst-E0601", ["E0601"])]
    assert call.case is not None and call.case.request.diagnoses == ["G47.33"]
    assert str(call.case.request.date) == "2026-04-20" and "DeviceRequest" not in call.skipped
    order = request["context"]["draftOrders"]["entry"][0]["resource"]
    order["codeReference"] = {"reference": "Device/cpap"}
    del order["codeCodeableConcept"]
    call = read_hook(json.dumps(request).encode(), kb, service_hook="order-sign")
    assert call.case is None and call.problem == "no order has a CPT or HCPCS code"


def test_order_select_selects_a_device_request(kb: KnowledgeBase) -> None:
    request = _load("pap-initial-b1-hst.order-sign.json")
    orders = request["context"]["draftOrders"]["entry"]
    other = copy.deepcopy(orders[0])
    other["resource"].update(id="other", codeCodeableConcept={"coding": [{"system": HCPCS, "code": "E0470"}]})
    orders.append(other)
    request["hook"] = "order-select"
    request["context"]["selections"] = ["DeviceRequest/other"]
    call = read_hook(json.dumps(request).encode(), kb, service_hook="order-select")
    assert [o.codes for o in call.orders] == [["E0470"]] and call.skipped["DeviceRequest (not selected)"] == 1


def test_facts_keep_their_resource_and_relief_is_derived_from_pain_scores(kb: KnowledgeBase) -> None:
    pas = read_pas((FHIR / "sij-seed-neurectomy.pas.json").read_bytes(), kb)
    d = determine_graph(to_graph(pas.case, kb), kb, policy="sij-clinical-pathway")  # type: ignore[arg-type]
    blocks = next(c for c in d.criteria if c.id.endswith("/lateral-branch-blocks"))
    [fact] = blocks.facts
    assert "80 % relief" in fact.text  # (5 - 1) / 5 from two LOINC 72514-3 Observations
    assert fact.source is not None and fact.source.title == "Procedure/lateral-branch-block"
    assert fact.source.id == "Procedure-lateral-branch-block" and fact.source.kind == "procedure note"


def test_entered_in_error_is_ignored(kb: KnowledgeBase) -> None:
    bundle = _load("sij-seed-neurectomy.pas.json")
    pas = read_pas(json.dumps(bundle).encode(), kb)
    assert pas.case is not None and all(c.code != "M54.16" for c in pas.case.conditions)
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Condition":
            del entry["resource"]["verificationStatus"]
            entry["resource"]["clinicalStatus"] = {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
            }
    again = read_pas(json.dumps(bundle).encode(), kb)
    assert again.case is not None and [c.code for c in again.case.conditions] == ["M54.16"]


@pytest.mark.parametrize(
    "system",
    [
        "http://www.ama-assn.org/go/cpt",
        "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "urn:oid:2.16.840.1.113883.6.285",
    ],
)
def test_hcpcs_system_uris_are_one(kb: KnowledgeBase, system: str) -> None:
    bundle = _load("sij-seed-neurectomy.pas.json")
    for item in bundle["entry"][0]["resource"]["item"]:
        for coding in item["productOrService"]["coding"]:
            coding["system"] = system
    pas = read_pas(json.dumps(bundle).encode(), kb)
    assert pas.case is not None and [line.code for line in pas.case.request.codes] == ["64772", "64999"]


def test_snomed_diagnoses_are_skipped_and_the_claim_asks_for_icd10(kb: KnowledgeBase) -> None:
    bundle = _load("sij-seed-neurectomy.pas.json")
    bundle["entry"][0]["resource"]["diagnosis"][0]["diagnosisCodeableConcept"] = {
        "coding": [{"system": "http://snomed.info/sct", "code": "279039007"}]
    }
    pas = read_pas(json.dumps(bundle).encode(), kb)
    assert pas.case is None
    assert pas.missing == [("required", "Bundle.entry[0].resource.diagnosis", "no ICD-10-CM diagnosis")]
    with pytest.raises(FhirError) as caught:
        determine(json.dumps(bundle).encode(), "fhir", kb, policy="sij-clinical-pathway")
    assert caught.value.status == 422


@pytest.mark.parametrize(
    ("fixture", "status", "code", "where"),
    [
        ("wrong-resource-type.json", 400, "invalid", "Bundle.entry[0].resource.resourceType"),
        ("claim-not-first.json", 400, "invalid", "Bundle.entry[0]"),
        ("broken-reference.json", 400, "not-found", "Bundle.entry[0].resource.supportingInfo[1].valueReference"),
        ("bad-quantity.json", 400, "invalid", "Bundle.entry[0].resource.item[0].quantity.value"),
        ("not-fhir.json", 400, "structure", None),
    ],
)
def test_bad_fhir_names_the_problem(kb: KnowledgeBase, fixture: str, status: int, code: str, where: str | None) -> None:
    payload = (BAD / fixture).read_bytes()
    with pytest.raises(FhirError) as caught:
        read_pas(payload, kb)
    err = caught.value
    assert err.status == status
    assert (err.issues[0][0], err.issues[0][1]) == (code, where)
    outcome = operation_outcome(err)
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == code
    assert "lots" not in json.dumps(outcome)  # never echoes a submitted value


def test_no_procedure_code_is_a_missing_item_not_a_crash(kb: KnowledgeBase) -> None:
    pas = read_pas((BAD / "no-procedure-code.json").read_bytes(), kb)
    assert pas.case is None and pas.items == [(1, None), (2, None)]
    assert pas.missing[0][:2] == ("required", "Bundle.entry[0].resource.item")


def test_oversized_bundle_is_too_costly(kb: KnowledgeBase) -> None:
    bundle = _load("sij-seed-neurectomy.pas.json")
    bundle["entry"][0]["resource"]["text"] = {"status": "generated", "div": "<div>" + "x" * 1_100_000 + "</div>"}
    with pytest.raises(FhirError) as caught:
        read_pas(json.dumps(bundle).encode(), kb)
    assert caught.value.status == 413 and caught.value.issues[0][0] == "too-costly"


def test_every_pas_request_example_parses(kb: KnowledgeBase) -> None:
    folder = fhir_examples("pas-2.2.1")  # HL7's, unchanged, in the team's shared folder
    requests = [p for p in sorted(folder.glob("Bundle-*.json")) if "Response" not in p.name]
    requests = [p for p in requests if "Notification" not in p.name]
    assert len(requests) == 6
    for path in requests:
        pas = read_pas(path.read_bytes(), kb)
        if pas.case is not None:  # the surgical example: a CPT code no policy here addresses
            d = determine_graph(to_graph(pas.case, kb), kb, policy="sij-clinical-pathway")
            assert d.outcome.value == "no-applicable-guideline", path.name
        else:
            assert pas.missing and all(code == "required" for code, _, _ in pas.missing), path.name


def test_crd_order_sign_examples_parse_and_other_hooks_are_refused(kb: KnowledgeBase) -> None:
    for path in sorted((SHARED / "crd-2.2").glob("CRDServiceRequest*.json")):
        data = json.loads(path.read_text())
        if data["hook"] == "order-sign":
            call = read_hook(path.read_bytes(), kb, service_hook="order-sign")
            assert call.case is None and call.problem, path.name  # no ICD-10-CM reason, or no CPT/HCPCS order
        else:
            with pytest.raises(FhirError) as caught:
                read_hook(path.read_bytes(), kb, service_hook="order-sign")
            assert caught.value.issues[0][:2] == ("not-supported", "hook")


def _crd_with_our_codes() -> dict[str, Any]:
    data = json.loads((SHARED / "crd-2.2" / "CRDServiceRequest.json").read_text())
    order = data["context"]["draftOrders"]["entry"][0]["resource"]
    order["code"] = {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "64635"}]}
    order["reasonCode"] = [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M47.816"}]}]
    data["context"]["draftOrders"]["entry"] = data["context"]["draftOrders"]["entry"][:1]
    return data


def test_missing_history_prefetch_is_412_only_when_a_guideline_applies(kb: KnowledgeBase) -> None:
    data = _crd_with_our_codes()
    with pytest.raises(FhirError) as caught:
        read_hook(json.dumps(data).encode(), kb, service_hook="order-sign")
    assert caught.value.status == 412
    assert [where for _, where, _ in caught.value.issues] == [
        "prefetch.conditions",
        "prefetch.procedures",
        "prefetch.observations",
    ]
    with_nulls = copy.deepcopy(data)
    with_nulls["prefetch"].update({"conditions": None, "procedures": None, "observations": None})
    call = read_hook(json.dumps(with_nulls).encode(), kb, service_hook="order-sign")
    assert call.case is not None and [line.code for line in call.case.request.codes] == ["64635"]
    d = determine_graph(to_graph(call.case, kb), kb, policy="medicare-facet-lcd")
    assert d.outcome.value == "pended-information-needed"  # no history given: each missing item named
    assert "A pain history: duration in months, score, and where the pain is felt." in d.missingInformation


def test_cli_reads_a_pas_bundle_and_names_bad_elements() -> None:
    from typer.testing import CliRunner

    from api.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["determine", str(FHIR / "sij-seed-neurectomy.pas.json"), "--policy", "evicore-sij"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["outcome"] == "pended-clinician-review"  # eviCore's 64772 exclusion is U
    bad = runner.invoke(app, ["determine", str(BAD / "bad-quantity.json"), "--policy", "evicore-sij"])
    assert bad.exit_code == 2
    assert "Bundle.entry[0].resource.item[0].quantity.value" in bad.stderr
