"""The seed case in each format, and helpers to post hostile variants of it."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx2
from fastapi.testclient import TestClient
from rdflib import Graph

from reasoner.intake.jsonld import CONTEXT_URL, vendored_context

from ..conftest import EXAMPLES, ROOT

FHIR_EXAMPLES = ROOT / "examples" / "fhir"
SEED_TTL = (EXAMPLES / "sij-seed-neurectomy.ttl").read_text()
SEED_JSON = (EXAMPLES / "sij-seed-neurectomy.json").read_text()
SEED_PAS = (FHIR_EXAMPLES / "sij-seed-neurectomy.pas.json").read_text()
SEED_ORDER_SIGN = (FHIR_EXAMPLES / "sij-seed-neurectomy.order-sign.json").read_text()
SEED_OUTCOME = "not-medically-necessary"
CASE_IRI = "https://w3id.org/guideline-reasoner/case-data/sij-seed-neurectomy/case"
ORDER_SIGN = "/cds-services/guideline-reasoner-order-sign"

TURTLE = {"content-type": "text/turtle"}
JSON = {"content-type": "application/json"}
JSONLD = {"content-type": "application/ld+json"}
FHIR = {"content-type": "application/fhir+json"}
PROBLEM = "application/problem+json"
FHIR_JSON = "application/fhir+json"


def _compact_seed() -> dict[str, Any]:
    graph = Graph().parse(data=SEED_TTL, format="turtle")
    doc = json.loads(graph.serialize(format="json-ld", context=vendored_context(), auto_compact=True))
    doc["@context"] = CONTEXT_URL
    return doc


_SEED_JSONLD = _compact_seed()


def seed_jsonld() -> dict[str, Any]:
    """The seed case as JSON-LD compacted with the published context, named by its URL (a fresh copy)."""
    return copy.deepcopy(_SEED_JSONLD)


def post(
    client: TestClient, body: bytes | str, headers: dict[str, str], path: str = "/determinations"
) -> httpx2.Response:
    return client.post(path, content=body, headers=headers)


def problem(r: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    """The problem+json body of a response, which must have this status and code."""
    assert r.status_code == status, (r.status_code, r.text[:400])
    assert r.headers["content-type"].split(";")[0] == PROBLEM
    body = r.json()
    assert (body["status"], body["code"]) == (status, code), body
    return body


def outcome(r: httpx2.Response, status: int) -> dict[str, Any]:
    """The single issue of a FHIR OperationOutcome response with this status."""
    assert r.status_code == status, (r.status_code, r.text[:400])
    assert r.headers["content-type"].split(";")[0] == FHIR_JSON
    body = r.json()
    assert body["resourceType"] == "OperationOutcome" and len(body["issue"]) == 1, body
    return body["issue"][0]
