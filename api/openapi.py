"""The OpenAPI document: what FastAPI generates, completed with the errors every operation can answer.

FastAPI documents a 422 as its own validation error in ``application/json``; this application
answers every error as problem details (``application/problem+json``), FHIR endpoints as
OperationOutcomes, and any request that is not read in time as 408. Clients and schema-driven
tools (schemathesis's status and content-type checks among them) read this document, so it says
what the server really sends.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from reasoner.case_json import CaseIn

from .problems import FHIR_JSON, PROBLEM

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `code` is stable (docs/errors.md). Never repeats submitted content.",
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail", "code"],
    "additionalProperties": True,
}
TIMEOUT = {
    "description": "The request's headers or body did not arrive in time (request-timeout); the connection is closed",
    "content": {PROBLEM: {"schema": _PROBLEM_REF}},
}
INVALID = {
    "description": "A parameter of the wrong type (request-invalid)",
    "content": {PROBLEM: {"schema": _PROBLEM_REF}},
}


def build(app: FastAPI) -> dict[str, Any]:
    """The document for ``app``."""
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    case_schema = CaseIn.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(case_schema.pop("$defs", {}))
    components["CaseIn"] = case_schema
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for operations in schema["paths"].values():
        for operation in operations.values():
            _complete(operation["responses"])
    return schema


def _complete(responses: dict[str, Any]) -> None:
    fastapi_422 = responses.get("422", {}).get("content", {}).get("application/json")
    if fastapi_422 is not None:  # FastAPI's own validation error, which this application never sends
        responses["422"] = INVALID
    responses.setdefault("408", TIMEOUT)
    for status, response in responses.items():
        if status.startswith(("4", "5")):
            for media_type, body in response.get("content", {}).items():
                if media_type == PROBLEM and not body.get("schema"):
                    body["schema"] = _PROBLEM_REF
                elif media_type == FHIR_JSON and not body.get("schema"):
                    body["schema"] = {"type": "object", "description": "A FHIR OperationOutcome"}
