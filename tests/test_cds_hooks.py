"""CDS Hooks answers (reasoner/interop/cds_hooks.py): discovery, cards, CRD coverage information, determinations."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, field_validator

from reasoner import Determination, FhirError, KnowledgeBase, determine
from reasoner.intake.fhir.hooks import read_hook
from reasoner.interop.cds_hooks import (
    PREFETCH,
    SERVICES,
    card,
    coverage_reference,
    discovery,
    problem_card,
    respond,
    summary,
    system_action,
)
from reasoner.interop.coverage_information import COVERAGE_INFORMATION, coverage_label
from reasoner.interop.fhir_output import find_nulls, no_nulls

from . import hl7_examples
from .conftest import EXAMPLES, ROOT
from .crd_rules import coverage_information_problems

FHIR_EXAMPLES = ROOT / "examples" / "fhir"
TODAY = date(2026, 1, 15)
BASE = "http://testserver/"


# --- the CDS Hooks 2.0 response shape (with CRD's requirement of source.topic) ----------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Coding(_Strict):
    system: str
    code: str
    display: str | None = None


class Source(_Strict):
    label: str = Field(min_length=1)
    url: str | None = None
    icon: str | None = None
    topic: Coding  # optional in CDS Hooks, required by Da Vinci CRD


class Link(_Strict):
    label: str = Field(min_length=1)
    url: str = Field(min_length=1)
    type: Literal["absolute", "smart"]
    appContext: str | None = None


class Card(_Strict):
    uuid: str | None = None
    summary: str = Field(min_length=1, max_length=139)  # "<140-character summary"
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    links: list[Link] | None = None
    extension: dict[str, Any] | None = None


class SystemAction(_Strict):
    type: Literal["create", "update", "delete"]
    description: str = Field(min_length=1)  # REQUIRED in the CDS Hooks 2.0 action table
    resource: dict[str, Any]

    @field_validator("resource")
    @classmethod
    def _is_fhir(cls, value: dict[str, Any]) -> dict[str, Any]:
        assert isinstance(value.get("resourceType"), str)
        return value


class CdsResponse(_Strict):
    cards: list[Card]
    systemActions: list[SystemAction] | None = None


def check_response(body: dict[str, Any], *, supporting_hook: bool = False) -> CdsResponse:
    """Validate a CDS Hooks response: the spec's shape, no null/empty values, and CRD 2.2.1's rules."""
    parsed = CdsResponse.model_validate(body)
    inner = {k: v for k, v in body.items() if k != "cards"}
    assert find_nulls(inner) == [] and all(find_nulls(c) == [] for c in body["cards"])
    for action in body.get("systemActions", []):
        infos = [e for e in action["resource"].get("extension", []) if e["url"] == COVERAGE_INFORMATION]
        assert infos, "every system action carries coverage information"
        for info in infos:
            check_coverage_information(info, supporting_hook=supporting_hook)
    return parsed


def check_coverage_information(info: dict[str, Any], *, supporting_hook: bool = False) -> dict[str, list[Any]]:
    """CRD 2.2.1's rules on ext-coverage-information (tests/crd_rules.py); returns the sub-extensions by url."""
    assert coverage_information_problems(info, supporting_hook=supporting_hook) == []
    subs: dict[str, list[Any]] = {}
    for e in info["extension"]:
        value = next(v for k, v in e.items() if k.startswith("value") or k == "extension")
        subs.setdefault(e["url"], []).append(value)
    return subs


# --- determinations of every outcome, from the example cases ---------------------------------


def _determine(kb: KnowledgeBase, name: str, policy: str) -> Determination:
    return determine((EXAMPLES / f"{name}.json").read_bytes(), "json", kb, policy=policy)


OUTCOMES = {
    # outcome: (example case, policy, covered, pa-needed, doc-needed, indicator)
    "medically-necessary": ("facet-rfa-initial", "medicare-facet-lcd", "covered", "no-auth", None, "info"),
    "not-covered": ("sij-seed-neurectomy", "sij-clinical-pathway", "not-covered", None, None, "warning"),
    "not-medically-necessary": (
        "sij-rfa-one-block",
        "sij-clinical-pathway",
        "conditional",
        "auth-needed",
        None,
        "warning",
    ),
    "pended-clinician-review": (  # only F8, single-source (S), is not met
        "facet-confirmatory-block-too-soon",
        "medicare-facet-lcd",
        "conditional",
        "auth-needed",
        None,
        "warning",
    ),
    "pended-information-needed": (
        "facet-rfa-results-missing",
        "medicare-facet-lcd",
        "conditional",
        "auth-needed",
        "clinical",
        "warning",
    ),
    "no-applicable-guideline": (
        "sij-seed-neurectomy",
        "medicare-sij-lcd",
        "indeterminate",
        "indeterminate",
        None,
        "info",
    ),
}


def test_discovery_lists_both_services_with_the_prefetch() -> None:
    doc = discovery()
    assert {(s["id"], s["hook"]) for s in doc["services"]} == set(SERVICES.items())
    for service in doc["services"]:
        assert service["title"] and service["description"]
        assert service["prefetch"] == PREFETCH
        assert service["prefetch"]["coverage"] == "Coverage?patient={{context.patientId}}&status=active"
    assert find_nulls(doc) == []


@pytest.mark.parametrize("key", list(OUTCOMES))
def test_card_and_coverage_information_per_outcome(kb: KnowledgeBase, key: str) -> None:
    name, policy, covered, pa_needed, doc_needed, indicator = OUTCOMES[key]
    d = _determine(kb, name, policy)
    url = f"{BASE}policies/{policy}"
    c = card(d, policy_url=url, order_reference="ServiceRequest/1")
    assert c["indicator"] == indicator
    assert c["summary"].startswith(d.requested[0].code)
    assert c["source"] == {
        "label": d.policy.label,
        "url": url,
        "topic": {
            "system": "http://terminology.hl7.org/CodeSystem/cdshooks-card-type",
            "code": "guideline",
            "display": "Guideline",
        },
    }
    assert c["links"] == [{"label": f"Policy: {d.policy.label}", "url": url, "type": "absolute"}]
    assert c["extension"] == {"davinci-crd.associated-resource": [{"reference": "ServiceRequest/1"}]}
    assert c["uuid"] == card(d, policy_url=url, order_reference="ServiceRequest/1")["uuid"]  # deterministic
    assert c["uuid"] != card(d, policy_url=url, order_reference="ServiceRequest/2")["uuid"]
    assert d.outcomeLabel in c["detail"] and "| Criterion | Tag | Status | Finding |" in c["detail"] or not d.criteria
    for r in d.criteria:  # each criterion with its verification tag, advisory ones marked
        tag = f"{r.verification} (advisory)" if r.advisory else r.verification
        assert f"| {r.label} | {tag} | " in c["detail"]
    for reason in d.rationale:
        assert reason in c["detail"]
    for m in d.missingInformation:
        assert m in c["detail"]
    order = {
        "resourceType": "ServiceRequest",
        "id": "1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p"},
    }
    action = system_action(d, order=order, coverage_ref="Coverage/c", policy_url=url, today=TODAY)
    check_response({"cards": [c], "systemActions": [action]})
    assert action["type"] == "update" and action["resource"]["id"] == "1"
    assert action["description"] == f"Add coverage information to ServiceRequest/1: {covered} under {d.policy.label}"
    assert {k: v for k, v in action["resource"].items() if k != "extension"} == order
    subs = check_coverage_information(action["resource"]["extension"][0])
    assert coverage_label(d) == covered and subs["covered"] == [covered]
    assert subs.get("pa-needed") == ([pa_needed] if pa_needed else None)
    assert subs.get("doc-needed") == ([doc_needed] if doc_needed else None)
    assert subs["reason"] == [{"text": d.rationale[0]}]
    assert subs["coverage"] == [{"reference": "Coverage/c"}]
    assert subs["date"] == ["2026-01-15"] and subs["coverage-assertion-id"] == [d.determinationId]
    policy_detail, *more = subs["detail"]
    assert policy_detail == [
        {"url": "category", "valueCode": "cat-other"},
        {"url": "code", "valueCodeableConcept": {"coding": [POLICY_LINK, {**POLICY_LINK, "system": CRD_TEMP}]}},
        {"url": "value", "valueUrl": url},
        {"url": "qualification", "valueString": f"Judged under {d.policy.label} (version {d.policy.version})"},
    ]
    if covered != "conditional":
        assert more == []
        return
    (instructions,) = more  # what would settle a conditional answer
    assert instructions[0] == {"url": "category", "valueCode": "cat-limitation"}
    assert instructions[1]["valueCodeableConcept"]["coding"][0]["code"] == "instructions"
    text = instructions[2]["valueString"]
    assert all(m in text for m in d.missingInformation)
    assert all(c.label in text for c in d.criteria if c.status.value == "not-met")


POLICY_LINK = {
    "system": "http://terminology.hl7.org/CodeSystem/crd-coverage-detail",
    "code": "policy-link",
    "display": "Policy Link",
}
CRD_TEMP = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"


def test_the_order_keeps_its_own_extensions(kb: KnowledgeBase) -> None:
    d = _determine(kb, "facet-rfa-initial", "medicare-facet-lcd")
    order = {
        "resourceType": "ServiceRequest",
        "id": "1",
        "extension": [{"url": "http://example.org/x", "valueString": "kept"}],
    }
    action = system_action(d, order=order, coverage_ref="Coverage/c", policy_url="http://x/p", today=TODAY)
    extensions = action["resource"]["extension"]
    assert extensions[0] == {"url": "http://example.org/x", "valueString": "kept"}  # the order's own, first
    assert check_coverage_information(extensions[1])["coverage"] == [{"reference": "Coverage/c"}]
    assert order["extension"] == [{"url": "http://example.org/x", "valueString": "kept"}]  # not modified


def test_order_select_asks_for_no_documentation(kb: KnowledgeBase) -> None:
    """CRD 2.2.1 hook-19: a supporting hook's coverage information asks for no clinical or admin documentation."""
    from reasoner.interop.coverage_information import coverage_information

    d = _determine(kb, "facet-rfa-results-missing", "medicare-facet-lcd")
    signed = coverage_information(d, coverage_ref="Coverage/c", policy_url="http://x/p", today=TODAY)
    selected = coverage_information(d, coverage_ref="Coverage/c", policy_url="http://x/p", today=TODAY, supporting=True)
    assert check_coverage_information(signed)["doc-needed"] == ["clinical"]
    assert "doc-needed" not in check_coverage_information(selected, supporting_hook=True)
    assert coverage_information_problems(signed, supporting_hook=True) == [
        "hook-19: a supporting hook's coverage information asks for no clinical or admin documentation"
    ]


def test_summary_is_never_over_139_characters(kb: KnowledgeBase) -> None:
    d = _determine(kb, "facet-rfa-initial", "medicare-facet-lcd")
    assert card(d, policy_url="http://x", order_reference="ServiceRequest/1")["summary"].startswith(
        "64635, 64636: medically necessary under Medicare LCD L38773"
    )
    long = d.model_copy(update={"policy": d.policy.model_copy(update={"label": "Very long policy name " * 20})})
    text = card(long, policy_url="http://x", order_reference="ServiceRequest/1")["summary"]
    assert (
        len(text) <= 139 and text.startswith("64635, 64636: medically necessary under Very long") and text.endswith("…")
    )
    many = summary("64635, " * 40 + ": ", "a policy")
    assert len(many) <= 139
    assert summary("a: ", "b") == "a: b"
    assert len(summary("x: ", "é" * 300)) == 139


def test_problem_card_asks_for_the_information() -> None:
    c = problem_card(
        ["64635"],
        order_reference=["ServiceRequest/1"],
        problem="no order gives an ICD-10-CM reason",
        hook_instance="h1",
        source_label="Guideline reasoner",
        source_url="http://x/cds-services",
    )
    check_response({"cards": [c]})
    assert c["indicator"] == "warning"
    assert c["summary"] == "64635: information needed: no order gives an ICD-10-CM reason"
    assert (
        len(
            problem_card(
                ["1"], order_reference="a", problem="x" * 500, hook_instance="h", source_label="s", source_url="u"
            )["summary"]
        )
        <= 139
    )


def test_no_nulls_strips_and_find_nulls_finds() -> None:
    dirty = {"a": None, "b": [{}, "", {"c": [], "d": {"e": None}}], "f": 0, "g": False, "h": [0, "x"], "i": {"j": "k"}}
    assert no_nulls(dirty) == {"f": 0, "g": False, "h": [0, "x"], "i": {"j": "k"}}
    assert find_nulls(dirty) == ["$.a", "$.b[0]", "$.b[1]", "$.b[2].c", "$.b[2].d.e"]
    assert find_nulls(no_nulls(dirty)) == []
    assert no_nulls([None, [[]], {"a": [{}]}]) == []


# --- whole hook calls through intake.fhir.hooks -----------------------------------------------


def _hook(kb: KnowledgeBase, payload: dict[str, Any] | bytes, hook: str = "order-sign") -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return read_hook(body, kb, service_hook=hook)


def _statuses(d: Any) -> tuple[str, dict[str, str]]:
    return str(d.outcome), {c.id: str(c.status) for c in d.criteria}


def test_seed_order_sign_gives_the_json_case_answer(kb: KnowledgeBase) -> None:
    from reasoner.intake.json_case.to_rdf import to_graph
    from reasoner.pipeline import determine_graph

    call = _hook(kb, (FHIR_EXAMPLES / "sij-seed-neurectomy.order-sign.json").read_bytes())
    assert call.case is not None and call.problem is None
    from_fhir = determine_graph(to_graph(call.case, kb), kb, policy="sij-clinical-pathway")
    plain = _determine(kb, "sij-seed-neurectomy", "sij-clinical-pathway")
    assert _statuses(from_fhir) == _statuses(plain)
    out = respond(call, kb, policy=None, base_url=BASE, today=TODAY)
    check_response(out)
    by_policy = {c["source"]["url"].rsplit("/", 1)[-1]: c for c in out["cards"]}
    assert set(by_policy) == {"evicore-sij", "medicare-sij-lcd", "sij-clinical-pathway"}
    assert (
        by_policy["sij-clinical-pathway"]["summary"]
        == "64772, 64999: not medically necessary under SIJ clinical pathway"
    )
    assert len(out["systemActions"]) == len(call.orders) == 2
    for action in out["systemActions"]:
        infos = action["resource"]["extension"]
        assert len(infos) == 3  # one coverage-information per policy
        # eviCore's exclusion of 64772 is an inference (U): pended for clinician review, so conditional
        assert {check_coverage_information(i)["covered"][0] for i in infos} == {
            "not-covered",
            "indeterminate",
            "conditional",
        }
    assert by_policy["evicore-sij"]["summary"].startswith("64772, 64999: pended for clinician review under ")
    one = respond(call, kb, policy="sij-clinical-pathway", base_url=BASE, today=TODAY)
    assert [c["uuid"] for c in one["cards"]] == [by_policy["sij-clinical-pathway"]["uuid"]]
    with pytest.raises(FhirError) as err:
        respond(call, kb, policy="no-such-policy", base_url=BASE, today=TODAY)
    assert err.value.status == 422 and "no-such-policy" not in str(err.value)


def test_seed_order_select_judges_the_selected_order(kb: KnowledgeBase) -> None:
    call = _hook(kb, (FHIR_EXAMPLES / "sij-seed-neurectomy.order-select.json").read_bytes(), "order-select")
    out = respond(call, kb, policy=None, base_url=BASE, today=TODAY)
    check_response(out)
    assert out["cards"] and all(c["summary"].startswith("64772:") for c in out["cards"])


def _our_codes(request: dict[str, Any], *, prefetch: bool) -> dict[str, Any]:
    """The CRD order-sign example with our codes: CPT 64635 and 64636, reason M47.816, and our prefetch."""
    out = copy.deepcopy(request)
    orders = [
        e["resource"]
        for e in out["context"]["draftOrders"]["entry"]
        if e["resource"]["resourceType"] == "ServiceRequest"
    ]
    for order, code in zip(orders, ["64635", "64636"], strict=True):
        order["code"] = {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code}]}
        order["reasonCode"] = [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M47.816"}]}]
    if prefetch:
        for key in ("conditions", "procedures", "observations"):
            out["prefetch"][key] = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    return out


CRD_REQUEST = hl7_examples.files("crd-2.2", "CRDServiceRequest.json")


@pytest.mark.parametrize("path", hl7_examples.params(CRD_REQUEST, "crd-2.2"))
def test_crd_order_sign_example_with_our_codes(kb: KnowledgeBase, path: Path | None) -> None:
    assert path is not None
    request = json.loads(path.read_text())
    call = _hook(kb, _our_codes(request, prefetch=True))
    assert call.case is not None, call.problem
    out = respond(call, kb, policy=None, base_url=BASE, today=TODAY)
    check_response(out)
    assert [c["source"]["url"] for c in out["cards"]] == [f"{BASE}policies/medicare-facet-lcd"]
    assert out["cards"][0]["summary"].startswith("64635, 64636: ")
    coverage = [e for a in out["systemActions"] for e in a["resource"]["extension"] if e["url"] == COVERAGE_INFORMATION]
    assert {"url": "coverage", "valueReference": {"reference": "Coverage/COV1"}} in coverage[0]["extension"]
    with pytest.raises(FhirError) as err:
        _hook(kb, _our_codes(request, prefetch=False))
    assert err.value.status == 412
    assert {where for _, where, _ in err.value.issues} == {
        "prefetch.conditions",
        "prefetch.procedures",
        "prefetch.observations",
    }


@pytest.mark.parametrize(
    "path", hl7_examples.params(hl7_examples.files("crd-2.2", "CRDServiceRequest*.json"), "crd-2.2")
)
def test_every_crd_request_example_is_read(kb: KnowledgeBase, path: Path | None) -> None:
    assert path is not None
    request = json.loads(path.read_text())
    if request["hook"] not in ("order-sign", "order-select"):
        with pytest.raises(FhirError) as err:
            _hook(kb, request, "order-sign")
        assert err.value.status == 400 and [w for _, w, _ in err.value.issues] == ["hook"]  # hook mismatch
        return
    out = respond(_hook(kb, request, request["hook"]), kb, policy=None, base_url=BASE, today=TODAY)
    check_response(out)
    assert out["cards"] == []  # none of its codes is addressed by a policy: nothing to say


def test_orders_without_a_reason_get_an_information_needed_card(kb: KnowledgeBase) -> None:
    request = json.loads((FHIR_EXAMPLES / "sij-seed-neurectomy.order-sign.json").read_text())
    for entry in request["context"]["draftOrders"]["entry"]:
        entry["resource"].pop("reasonCode", None)
        entry["resource"].pop("reasonReference", None)
    call = _hook(kb, request)
    assert call.case is None and call.problem
    out = respond(call, kb, policy=None, base_url=BASE, today=TODAY)
    check_response(out)
    (only,) = out["cards"]
    assert only["indicator"] == "warning"
    assert only["summary"] == summary("64772, 64999: information needed: ", call.problem)
    assert len(out["systemActions"]) == 2
    for action in out["systemActions"]:
        subs = check_coverage_information(action["resource"]["extension"][-1])
        assert (subs["covered"], subs["pa-needed"], subs["info-needed"]) == (["conditional"], ["auth-needed"], ["OTH"])
        assert subs["reason"] == [{"text": call.problem}]


# --- the Coverage rule (README, "FHIR, PAS and CDS Hooks"; reasoner/intake/coverage.py) ------------------------


def _seed_coverage(request: dict[str, Any]) -> dict[str, Any]:
    return request["prefetch"]["coverage"]["entry"][0]["resource"]


def _searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
COVERAGE_CASES: dict[str, tuple[Any, int | None, list[str]]] = {
    # label: (the coverage prefetch, or a function of the seed's Coverage; the status; the expressions)
    "absent": (KeyError, 412, ["prefetch.coverage"]),
    "an OperationOutcome (the client could not prefetch it)": (OUTCOME, 412, ["prefetch.coverage"]),
    "a Bundle of one OperationOutcome": (_searchset(OUTCOME), 412, ["prefetch.coverage"]),
    "null (the client has none)": (None, 400, ["prefetch.coverage"]),
    "an empty searchset": ({"resourceType": "Bundle", "type": "searchset", "total": 0}, 400, ["prefetch.coverage"]),
    "two Coverages": (lambda c: _searchset(c, {**c, "id": "other"}), 400, ["prefetch.coverage"]),
    "a Coverage without an id": (
        lambda c: _searchset({k: v for k, v in c.items() if k != "id"}),
        400,
        ["prefetch.coverage.entry[0].resource.id"],
    ),
    "a reference, not a resource": ({"reference": "Coverage/1"}, 400, ["prefetch.coverage"]),
    "the Coverage itself": (lambda c: c, None, []),
    "the same Coverage twice": (lambda c: _searchset(c, c), None, []),
}


@pytest.mark.parametrize("label", list(COVERAGE_CASES))
def test_the_coverage_rule(kb: KnowledgeBase, label: str) -> None:
    """No single prefetched Coverage, no coverage information: 412 when not prefetched, else 400 (CRD 2.2.1).

    CRD 2.2.1 makes ext-coverage-information's ``coverage`` 1..1 (the extension "cannot be returned"
    without a Coverage) and requires a coverage-information system action from order-sign unless
    reporting an error (hook-16); a card without it is therefore no answer. The service cannot fetch:
    a Coverage prefetch not provided is 412 (CDS Hooks 2.0; CRD Foundation, "Error Handling"), one
    provided without exactly one Coverage is 400 (CRD Hooks, hook-13).
    """
    request = json.loads((FHIR_EXAMPLES / "sij-seed-neurectomy.order-sign.json").read_bytes())
    value, status, where = COVERAGE_CASES[label]
    if value is KeyError:
        del request["prefetch"]["coverage"]
    else:
        request["prefetch"]["coverage"] = value(_seed_coverage(request)) if callable(value) else value
    if status is None:
        out = respond(_hook(kb, request), kb, policy=None, base_url=BASE, today=TODAY)
        check_response(out)
        infos = [e for a in out["systemActions"] for e in a["resource"]["extension"]]
        assert {check_coverage_information(i)["coverage"][0]["reference"] for i in infos} == {"Coverage/coverage-0001"}
        return
    with pytest.raises(FhirError) as err:
        _hook(kb, request)
    assert err.value.status == status
    assert [w for _, w, _ in err.value.issues] == where
    if label == "two Coverages":
        assert [code for code, _, _ in err.value.issues] == ["multiple-matches"]


def test_a_missing_coverage_is_listed_with_the_missing_history(kb: KnowledgeBase) -> None:
    request = json.loads((FHIR_EXAMPLES / "sij-seed-neurectomy.order-sign.json").read_bytes())
    del request["prefetch"]["coverage"], request["prefetch"]["procedures"]
    with pytest.raises(FhirError) as err:
        _hook(kb, request)
    assert err.value.status == 412
    assert [w for _, w, _ in err.value.issues] == ["prefetch.procedures", "prefetch.coverage"]


def test_no_coverage_is_needed_when_no_policy_addresses_the_codes(kb: KnowledgeBase) -> None:
    request = json.loads((FHIR_EXAMPLES / "sij-seed-neurectomy.order-sign.json").read_bytes())
    request["prefetch"] = {}
    for entry in request["context"]["draftOrders"]["entry"]:
        entry["resource"]["code"]["coding"][0]["code"] = "99213"  # an office visit: no policy's business
    assert respond(_hook(kb, request), kb, policy=None, base_url=BASE, today=TODAY) == {"cards": []}


def test_respond_never_builds_coverage_information_without_a_coverage(kb: KnowledgeBase) -> None:
    """A call built in code, with no Coverage, gets the error read_hook would have raised, not an extension."""
    call = _hook(kb, (FHIR_EXAMPLES / "sij-seed-neurectomy.order-sign.json").read_bytes())
    bare = dataclasses.replace(call, coverage=None, coverage_error=None)
    with pytest.raises(FhirError) as err:
        respond(bare, kb, policy=None, base_url=BASE, today=TODAY)
    assert err.value.status == 412 and [w for _, w, _ in err.value.issues] == ["prefetch.coverage"]
    assert coverage_reference(call) == "Coverage/coverage-0001"
