"""Turtle and CDS Hooks requests fetch nothing they name (docs/threats.md A1, A3).

Turtle's ``@base``, ``@prefix`` and ``owl:imports`` only make IRIs; a CDS Hooks request's
``fhirServer`` and ``fhirAuthorization`` are never used (the service reads only the request and
its prefetch). Every request here is answered, or refused, with no connection to the canary, no
open of a probe file and no refusal by the audit hook.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from reasoner import KnowledgeBase, parse_case

from .cases import FHIR_JSON, ORDER_SIGN, SEED_ORDER_SIGN, SEED_OUTCOME, SEED_TTL, TURTLE, post, problem
from .conftest import Probes

_OWL = "<http://www.w3.org/2002/07/owl#imports>"


def _turtle_variants(probes: Probes) -> dict[str, str]:
    t = probes.targets()
    return {
        "base-at-the-canary": f"@base <{t['http']}> .\n" + SEED_TTL + "<relative> <#p> <other> .\n",
        "base-at-a-file": f"@base <{t['existing-file-url']}> .\n" + SEED_TTL + "<relative> <#p> <other> .\n",
        "prefix-at-dev-zero": f"@prefix z: <{t['dev-zero-file-url']}> .\n" + SEED_TTL + "z:a z:b z:c .\n",
        **{
            f"owl-imports-{name}": SEED_TTL
            + f"<{'https://w3id.org/guideline-reasoner/case-data/x'}> {_OWL} <{url}> .\n"
            for name, url in (
                ("canary", t["http"]),
                ("file", t["existing-file-url"]),
                ("dev-zero", t["dev-zero-file-url"]),
            )
        },
        "prefix-only-base": f"@base <{t['http']}> .\n" + SEED_TTL,
    }


@pytest.mark.parametrize(
    "name",
    [
        "base-at-the-canary",
        "base-at-a-file",
        "prefix-at-dev-zero",
        "owl-imports-canary",
        "owl-imports-file",
        "owl-imports-dev-zero",
        "prefix-only-base",
    ],
)
def test_turtle_references_are_never_fetched(client: TestClient, probes: Probes, name: str) -> None:
    r = post(client, _turtle_variants(probes)[name], TURTLE)
    if name == "prefix-only-base":  # a base alone changes no absolute IRI: the seed case, judged
        assert r.status_code == 200, r.text[:300]
        assert r.json()["outcome"] == SEED_OUTCOME
    else:  # a statement outside the case vocabulary
        problem(r, 422, "case-vocabulary")


@pytest.mark.parametrize("name", ["base-at-the-canary", "owl-imports-canary", "owl-imports-file"])
def test_turtle_references_are_never_fetched_in_process(kb: KnowledgeBase, probes: Probes, name: str) -> None:
    from reasoner import CaseVocabularyError

    with pytest.raises(CaseVocabularyError):
        parse_case(_turtle_variants(probes)[name].encode(), "turtle", kb)


def _hook_request(probes: Probes, **changes: object) -> str:
    request = json.loads(SEED_ORDER_SIGN)
    request["fhirServer"] = probes.canary.url("fhir")
    request["fhirAuthorization"] = {
        "access_token": "canary-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "user/Patient.read user/Observation.read",
        "subject": "guideline-reasoner",
    }
    request.update(changes)
    return json.dumps(request)


def test_cds_hooks_fhir_server_is_never_contacted(client: TestClient, probes: Probes) -> None:
    r = post(client, _hook_request(probes), {"content-type": "application/json"}, ORDER_SIGN)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["cards"], "the seed order-sign call gets cards"
    assert "canary-token" not in r.text and str(probes.canary.port) not in r.text


def test_cds_hooks_without_prefetch_is_412_and_fetches_nothing(client: TestClient, probes: Probes) -> None:
    """Where a client would fall back to querying fhirServer, the service answers 412 instead."""
    r = post(
        client, _hook_request(probes, prefetch={"patient": None}), {"content-type": "application/json"}, ORDER_SIGN
    )
    assert r.status_code == 412, r.text[:300]
    assert r.headers["content-type"].split(";")[0] == FHIR_JSON
    assert {i["expression"][0] for i in r.json()["issue"]} == {
        "prefetch.conditions",
        "prefetch.procedures",
        "prefetch.observations",
        "prefetch.coverage",
    }


def test_cds_hooks_prefetch_with_references_fetches_nothing(client: TestClient, probes: Probes) -> None:
    """Prefetch values that are references or URLs are not followed."""
    request = json.loads(_hook_request(probes))
    request["prefetch"]["patient"] = {"reference": probes.canary.url("Patient/1")}
    request["prefetch"]["encounter"] = probes.targets()["existing-file-url"]
    r = post(client, json.dumps(request), {"content-type": "application/json"}, ORDER_SIGN)
    assert r.status_code == 200, r.text[:300]  # judged from the prefetch that is there
    assert r.json()["cards"]
    request["prefetch"]["coverage"] = {"reference": probes.canary.url("Coverage/1")}
    r = post(client, json.dumps(request), {"content-type": "application/json"}, ORDER_SIGN)
    assert r.status_code == 400, r.text[:300]  # a reference is no Coverage, and is not followed to one
    assert r.json()["issue"][0]["expression"] == ["prefetch.coverage"]
