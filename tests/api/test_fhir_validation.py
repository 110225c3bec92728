"""Every FHIR resource the service emits, for every example, checked by an independent validator.

What is checked, each batch in one node call (tests/fhir_validation.py):

- ``cds-hooks-http``: the resources of the CDS Hooks answers (the orders of the ``update`` system
  actions, carrying CRD coverage information) for the project's hook examples (examples/fhir/) and
  HL7's CRD 2.2 request examples, as sent and with our codes;
- ``cds-hooks-cases``: the system action of every example case (examples/cases/) under every policy
  its expectations name, so every outcome's coverage information is checked;
- ``operation-outcomes``: the OperationOutcome of every FHIR error answer the examples and the
  bad-input fixtures get (404, 400, 412, 413, 415, 422), HL7's examples included;
- ``pas-responses``: the PAS response Bundles ``POST /Claim/$submit`` gives the project's PAS example
  under each policy, and whatever 200 answer it gives HL7's PAS 2.2.1 request examples (those it
  refuses today are skipped here, saying so; their OperationOutcomes are checked above).

FHIR.js must report 0 errors; each coverage-information extension must also keep CRD 2.2.1's
rules (tests/crd_rules.py). A control batch of broken resources shows the validator is not blind.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reasoner import KnowledgeBase, determine
from reasoner.interop.cds_hooks import system_action
from reasoner.interop.coverage_information import COVERAGE_INFORMATION

from .. import hl7_examples
from ..conftest import EXAMPLES, FIXTURES, ROOT
from ..crd_rules import coverage_information_problems
from ..fhir_validation import FhirValidator, Message, errors
from .conftest import JSON

FHIR = {"content-type": "application/fhir+json"}
FHIR_EXAMPLES = ROOT / "examples" / "fhir"
SIGN = "/cds-services/guideline-reasoner-order-sign"
SELECT = "/cds-services/guideline-reasoner-order-select"
SERVICES = {"order-sign": SIGN, "order-select": SELECT}
SUBMIT = "/Claim/$submit"
GROUPS = ("cds-hooks-http", "cds-hooks-cases", "operation-outcomes", "pas-responses")
SEED_POLICIES = ("sij-clinical-pathway", "medicare-sij-lcd", "evicore-sij")


@dataclass(frozen=True)
class Emitted:
    """One resource the service emitted: which answer it came from, and for what."""

    label: str
    group: str
    resource: dict[str, Any]
    supporting_hook: bool = False  # an order-select answer (CRD's hook-19 applies)


@dataclass
class Emissions:
    """Everything the examples made the service emit, and the status of each HL7 PAS request."""

    items: list[Emitted] = field(default_factory=list)
    pas_hl7: dict[str, tuple[int, str]] = field(default_factory=dict)  # file stem -> (status, label)

    def add(self, label: str, group: str, resource: dict[str, Any], *, supporting: bool = False) -> None:
        self.items.append(Emitted(label, group, resource, supporting))

    def answer(self, label: str, r: Any, *, supporting: bool = False) -> None:
        """A FHIR answer: its resources when 200, else its OperationOutcome."""
        body = r.json()
        if r.status_code != 200:
            assert r.headers["content-type"].split(";")[0] == "application/fhir+json", (label, r.status_code)
            self.add(f"{label} ({r.status_code})", "operation-outcomes", body)
        elif "cards" in body:
            for i, action in enumerate(_actions(body)):
                if "resource" in action:
                    self.add(f"{label} action {i}", "cds-hooks-http", action["resource"], supporting=supporting)
        else:
            self.add(label, "pas-responses", body)


def _actions(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from body.get("systemActions", [])
    for card in body["cards"]:
        for suggestion in card.get("suggestions", []):
            yield from suggestion.get("actions", [])


# --- what the examples make the service emit -------------------------------------------------------


def _hook_examples(client: TestClient, out: Emissions) -> None:
    for path in sorted(FHIR_EXAMPLES.glob("*.order-*.json")):
        hook = json.loads(path.read_bytes())["hook"]
        r = client.post(SERVICES[hook], content=path.read_bytes(), headers=JSON)
        assert r.status_code == 200, (path.name, r.status_code)
        out.answer(path.stem, r, supporting=hook != "order-sign")
    seed = json.loads((FHIR_EXAMPLES / "sij-seed-neurectomy.order-sign.json").read_bytes())
    for policy in SEED_POLICIES:
        out.answer(f"seed order-sign ?policy={policy}", client.post(SIGN, json=seed, params={"policy": policy}))
    reasonless = copy.deepcopy(seed)
    for entry in reasonless["context"]["draftOrders"]["entry"]:
        entry["resource"].pop("reasonCode", None)
    out.answer("seed order-sign without reasons", client.post(SIGN, json=reasonless))
    for label, request, path in _refused_hook_calls(seed):
        out.answer(label, client.post(path, content=json.dumps(request), headers=JSON))
    out.answer("not JSON", client.post(SIGN, content=b"{", headers=JSON))
    out.answer("text/plain", client.post(SIGN, content=json.dumps(seed), headers={"content-type": "text/plain"}))
    big = b'{"hook": "order-sign", "x": "' + b"a" * 1_100_000 + b'"}'
    out.answer("over the limit", client.post(SIGN, content=big, headers=JSON))
    out.answer("unknown policy", client.post(SIGN, json=seed, params={"policy": "no-such-policy"}))


def _refused_hook_calls(seed: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    yield "unknown service", seed, "/cds-services/no-such-service"
    yield "hook mismatch", seed, SELECT
    for label, change in {
        "no history prefetch": lambda p: p.pop("procedures"),
        "no Coverage prefetch": lambda p: p.pop("coverage"),
        "Coverage prefetch null": lambda p: p.update(coverage=None),
        "two Coverages": lambda p: p.update(coverage=_two_coverages(p["coverage"])),
    }.items():
        request = copy.deepcopy(seed)
        change(request["prefetch"])
        yield label, request, SIGN


def _two_coverages(coverage: dict[str, Any]) -> dict[str, Any]:
    second = {**coverage, "id": "coverage-0002"}
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": coverage}, {"resource": second}]}


def _hl7_crd_examples(client: TestClient, out: Emissions) -> None:
    for path in hl7_examples.files("crd-2.2", "CRDServiceRequest*.json"):
        request = json.loads(path.read_bytes())
        hook = request["hook"]
        r = client.post(SERVICES.get(hook, SIGN), content=path.read_bytes(), headers=JSON)
        out.answer(f"HL7 {path.stem}", r, supporting=hook == "order-select")
    for path in hl7_examples.files("crd-2.2", "CRDServiceRequest.json"):
        r = client.post(SIGN, json=_with_our_codes(json.loads(path.read_bytes())))
        assert r.status_code == 200 and r.json()["systemActions"], r.text[:300]
        out.answer(f"HL7 {path.stem} with our codes", r)


def _with_our_codes(request: dict[str, Any]) -> dict[str, Any]:
    """HL7's order-sign example asking for CPT 64635 and 64636 for M47.816, with the history we prefetch."""
    orders = [e["resource"] for e in request["context"]["draftOrders"]["entry"]]
    for order, code in zip(
        (o for o in orders if o["resourceType"] == "ServiceRequest"), ("64635", "64636"), strict=True
    ):
        order["code"] = {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code}]}
        order["reasonCode"] = [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M47.816"}]}]
    for key in ("conditions", "procedures", "observations"):
        request["prefetch"][key] = None  # the client has none of these
    return request


def _pas(client: TestClient, out: Emissions) -> None:
    seed = (FHIR_EXAMPLES / "sij-seed-neurectomy.pas.json").read_bytes()
    for policy in SEED_POLICIES:
        r = client.post(SUBMIT, content=seed, headers=FHIR, params={"policy": policy})
        assert r.status_code == 200, (policy, r.text[:300])
        out.answer(f"seed $submit ?policy={policy}", r)
    out.answer("seed $submit without a policy", client.post(SUBMIT, content=seed, headers=FHIR))
    out.answer("$submit as text/turtle", client.post(SUBMIT, content=seed, headers={"content-type": "text/turtle"}))
    for path in sorted((FIXTURES / "fhir").glob("*.json")):
        for endpoint in (SUBMIT, "/determinations"):
            r = client.post(endpoint, content=path.read_bytes(), headers=FHIR, params={"policy": SEED_POLICIES[0]})
            out.answer(f"{endpoint} {path.stem}", r)
    for path in hl7_examples.pas_requests():
        r = client.post(SUBMIT, content=path.read_bytes(), headers=FHIR)
        label = f"HL7 {path.stem}"
        out.pas_hl7[path.stem] = (r.status_code, label if r.status_code == 200 else f"{label} ({r.status_code})")
        out.answer(label, r)


def _cases(kb: KnowledgeBase, out: Emissions) -> None:
    for expected in sorted(EXAMPLES.glob("*.expected.json")):
        name = expected.name.removesuffix(".expected.json")
        payload = (EXAMPLES / f"{name}.json").read_bytes()
        for policy in dict.fromkeys(e["policy"] for e in json.loads(expected.read_bytes())["expectations"]):
            d = determine(payload, "json", kb, policy=policy)
            order = _order(name, [r.code for r in d.requested])
            action = system_action(
                d,
                order=order,
                coverage_ref="Coverage/example",
                policy_url=f"http://testserver/policies/{policy}",
                today=date(2026, 1, 15),
            )
            out.add(f"{name} under {policy}", "cds-hooks-cases", action["resource"])


def _order(name: str, codes: list[str]) -> dict[str, Any]:
    system = (
        "http://www.ama-assn.org/go/cpt"
        if codes and codes[0].isdigit()
        else ("http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets")
    )
    return {
        "resourceType": "ServiceRequest",
        "id": re.sub(r"[^A-Za-z0-9.-]", "-", name)[:64],
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": system, "code": c} for c in codes[:1]]},
        "subject": {"reference": "Patient/example"},
    }


CONTROLS: list[dict[str, Any]] = [
    {"resourceType": "OperationOutcome", "issue": [{"severity": "fatal-ish", "code": "invalid"}]},
    {"resourceType": "ServiceRequest", "status": "draft", "intent": "order", "subject": {"reference": "Patient/p"},
     "colour": "blue"},
    {"resourceType": "ServiceRequest", "status": "draft", "intent": "order", "subject": {"reference": "Patient/p"},
     "extension": [{"url": "http://example.org/x"}]},
    {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "ClaimResponse"}}]},
]  # fmt: skip


@pytest.fixture(scope="module")
def emitted(client: TestClient, kb: KnowledgeBase) -> Emissions:
    out = Emissions()
    _hook_examples(client, out)
    _hl7_crd_examples(client, out)
    _pas(client, out)
    _cases(kb, out)
    return out


@pytest.fixture(scope="module")
def validated(emitted: Emissions, fhir_validator: FhirValidator) -> dict[str, list[Message]]:
    """The messages for each emitted resource by label, and for each control; one node call for all."""
    resources = [e.resource for e in emitted.items] + CONTROLS
    answers = fhir_validator.validate(resources)
    labels = [e.label for e in emitted.items] + [f"control {i}" for i in range(len(CONTROLS))]
    assert len(set(labels)) == len(labels), "labels are unique"
    return dict(zip(labels, answers, strict=True))


# --- the checks ------------------------------------------------------------------------------------


def test_the_examples_make_every_kind_of_answer(emitted: Emissions) -> None:
    counts = {g: sum(e.group == g for e in emitted.items) for g in GROUPS}
    assert all(counts.values()), counts
    statuses = {e.label.rsplit("(", 1)[-1].rstrip(")") for e in emitted.items if e.group == "operation-outcomes"}
    assert {"400", "404", "412", "413", "415", "422"} <= statuses
    assert counts["cds-hooks-cases"] >= 76  # every example case under at least one policy


@pytest.mark.parametrize("group", GROUPS)
def test_fhir_js_finds_no_error(emitted: Emissions, validated: dict[str, list[Message]], group: str) -> None:
    found = {e.label: errors(validated[e.label]) for e in emitted.items if e.group == group}
    assert found, f"nothing emitted in {group}"
    bad = {label: [str(m) for m in ms] for label, ms in found.items() if ms}
    assert bad == {}, json.dumps(bad, indent=1)[:4000]


def test_the_validator_is_not_blind(validated: dict[str, list[Message]]) -> None:
    messages = [[str(m) for m in errors(validated[f"control {i}"])] for i in range(len(CONTROLS))]
    assert all(messages), messages
    assert any("OperationOutcome.issue[0].severity" in m for m in messages[0])
    assert any("ServiceRequest.colour" in m and "Unexpected property" in m for m in messages[1])
    assert any("ext-1" in m for m in messages[2])  # our JSON-form rule: an extension with no value
    assert any("ClaimResponse" in m and "Missing property" in m for m in messages[3])


def test_every_coverage_information_keeps_crd_rules(emitted: Emissions) -> None:
    checked = 0
    for e in emitted.items:
        if e.group not in ("cds-hooks-http", "cds-hooks-cases"):
            continue
        infos = [x for x in e.resource.get("extension", []) if x.get("url") == COVERAGE_INFORMATION]
        assert infos, f"{e.label}: a system action carries coverage information"
        for info in infos:
            assert coverage_information_problems(info, supporting_hook=e.supporting_hook) == [], e.label
            checked += 1
    assert checked >= 80


@pytest.mark.parametrize("path", hl7_examples.params(hl7_examples.pas_requests(), "pas-2.2.1"))
def test_hl7_pas_request_answer_is_valid_fhir(
    emitted: Emissions, validated: dict[str, list[Message]], path: Path | None
) -> None:
    assert path is not None
    status, label = emitted.pas_hl7[path.stem]
    assert status == 200, f"POST /Claim/$submit answered HL7's {path.name} with {status}, not a PAS response Bundle"
    body = next(e.resource for e in emitted.items if e.label == label)
    assert body["resourceType"] == "Bundle" and body["entry"][0]["resource"]["resourceType"] == "ClaimResponse"
    assert errors(validated[label]) == []
