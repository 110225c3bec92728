"""The FHIR twins of the PAP and bariatric examples over HTTP: the PAS answer and the card match the expected outcome.

For each ``examples/cases/pap-*.json`` and ``bar-*.json`` with twins in ``examples/fhir/`` (a case
without them fails in tests/test_fhir_examples_new_policies.py), ``POST /Claim/$submit`` answers the
PAS Bundle with the review action of the outcome in the case's expected file, and the order-sign
service answers the order-sign request with the card and coverage information of that outcome, as
the tables of README.md ("FHIR, PAS and CDS Hooks") give them; and `POST /determinations` answers the
plain JSON case itself as expected.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ..conftest import EXAMPLES, ROOT
from ..test_fhir_examples_new_policies import CASES
from ..test_pas import review_action

FHIR = ROOT / "examples" / "fhir"
SUBMIT = "/Claim/$submit"
SIGN = "/cds-services/guideline-reasoner-order-sign"
REVIEW = {"medically-necessary": "A1", "not-medically-necessary": "A3"}  # every other outcome: A4
DISPOSITION = {
    "medically-necessary": "Medically necessary",
    "not-medically-necessary": "Not medically necessary",
    "pended-information-needed": "Pended: information needed",
    "pended-clinician-review": "Pended: clinician review",
    "no-applicable-guideline": "No applicable guideline",
}
PHRASE = {
    "medically-necessary": "medically necessary",
    "not-medically-necessary": "not medically necessary",
    "pended-information-needed": "pended, information needed",
    "pended-clinician-review": "pended for clinician review",
    "no-applicable-guideline": "no applicable guideline",
}
WITH_TWINS = [n for n in CASES if (FHIR / f"{n}.pas.json").is_file() and (FHIR / f"{n}.order-sign.json").is_file()]

pytestmark = pytest.mark.usefixtures("never_5xx")


def _expectations(name: str) -> list[dict[str, Any]]:
    return list(json.loads((EXAMPLES / f"{name}.expected.json").read_text())["expectations"])


def _coverage(expected: dict[str, Any]) -> dict[str, list[str]]:
    """The coverage-information parts README.md's table gives the expected outcome."""
    outcome = expected["outcome"]
    excluded = any(k.endswith("/code-covered") and v == "not-met" for k, v in expected["criteria"].items())
    if outcome == "medically-necessary":
        return {"covered": ["covered"], "pa-needed": ["no-auth"]}
    if outcome == "no-applicable-guideline":
        return {"covered": ["indeterminate"], "pa-needed": ["indeterminate"]}
    if outcome == "not-medically-necessary" and excluded:
        return {"covered": ["not-covered"]}
    parts = {"covered": ["conditional"], "pa-needed": ["auth-needed"], "info-needed": ["OTH"]}
    return parts | ({"doc-needed": ["clinical"]} if outcome == "pended-information-needed" else {})


def _parts(info: dict[str, Any]) -> dict[str, list[str]]:
    keep = ("covered", "pa-needed", "doc-needed", "info-needed")
    out: dict[str, list[str]] = {}
    for e in info["extension"]:
        if e["url"] in keep:
            out.setdefault(e["url"], []).append(e["valueCode"])
    return out


def test_every_case_with_twins_is_answered_here() -> None:
    assert WITH_TWINS and set(WITH_TWINS) <= set(CASES)


@pytest.mark.parametrize("name", WITH_TWINS)
def test_submit_answers_the_review_action_of_the_expected_outcome(client: TestClient, name: str) -> None:
    body = (FHIR / f"{name}.pas.json").read_bytes()
    claim = json.loads(body)["entry"][0]["resource"]
    for expected in _expectations(name):
        r = client.post(SUBMIT, content=body, headers={"content-type": "application/fhir+json"},
                        params={"policy": expected["policy"]})  # fmt: skip
        assert r.status_code == 200, r.text
        response = r.json()["entry"][0]["resource"]
        assert response["resourceType"] == "ClaimResponse"
        assert response["disposition"] == DISPOSITION[expected["outcome"]]
        actions = [review_action(item)[0] for item in response["item"]]
        assert actions == [REVIEW.get(expected["outcome"], "A4")] * len(claim["item"])


@pytest.mark.parametrize("name", WITH_TWINS)
def test_order_sign_answers_the_card_of_the_expected_outcome(client: TestClient, name: str) -> None:
    body = (FHIR / f"{name}.order-sign.json").read_bytes()
    orders = [e["resource"] for e in json.loads(body)["context"]["draftOrders"]["entry"]]
    codes = ", ".join(c["code"] for c in json.loads((EXAMPLES / f"{name}.json").read_text())["request"]["codes"])
    for expected in _expectations(name):
        r = client.post(SIGN, content=body, headers={"content-type": "application/json"},
                        params={"policy": expected["policy"]})  # fmt: skip
        assert r.status_code == 200, r.text
        (card,) = r.json()["cards"]
        assert card["summary"].startswith(f"{codes}: {PHRASE[expected['outcome']]} under ")
        calm = expected["outcome"] in ("medically-necessary", "no-applicable-guideline")  # nothing to warn of
        assert card["indicator"] == ("info" if calm else "warning")
        assert card["source"]["url"].endswith(f"/policies/{expected['policy']}")
        actions = r.json()["systemActions"]
        assert [(a["type"], a["resource"]["resourceType"], a["resource"]["id"]) for a in actions] == [
            ("update", o["resourceType"], o["id"]) for o in orders
        ]
        for action in actions:
            (info,) = action["resource"]["extension"]
            assert _parts(info) == _coverage(expected)


@pytest.mark.parametrize("name", CASES)
def test_the_json_case_over_http_gives_the_expected_answer(client: TestClient, name: str) -> None:
    """``POST /determinations`` with the plain JSON case: the outcome and every criterion's status as expected."""
    body = (EXAMPLES / f"{name}.json").read_bytes()
    for expected in _expectations(name):
        r = client.post("/determinations", content=body, params={"policy": expected["policy"]},
                        headers={"content-type": "application/json", "accept": "application/json"})  # fmt: skip
        assert r.status_code == 200, r.text
        d = r.json()
        assert d["outcome"] == expected["outcome"]
        assert {c["id"]: c["status"] for c in d["criteria"]} == expected["criteria"]
        for missing in expected.get("missingInformation", []):
            assert missing in d["missingInformation"]
