"""The OpenAPI document: what FastAPI generates, completed with the errors every operation can answer.

FastAPI documents a 422 as its own validation error in ``application/json``; this application
answers every error as problem details (``application/problem+json``), FHIR endpoints as
OperationOutcomes, and any request that is not read in time as 408. Clients and schema-driven
tools (schemathesis's status and content-type checks among them) read this document, so it says
what the server really sends.

Every success answer has a schema for each media type it comes in: the routes name their models;
a media type a route lists without one (the SPARQL results and graphs) gets the schema of that
media type from :data:`MEDIA_SCHEMAS`; and FastAPI's own ``application/json`` entry with an empty
schema, which it adds to any route answering with a plain ``Response``, is dropped where the route
lists its media types (the SPARQL endpoint answers ``application/sparql-results+json``, never
``application/json``).
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from reasoner.intake.json_case.schema import CaseIn

from .models import Record
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
_TEXT = {"type": "string"}
SPARQL_RESULTS_SCHEMA: dict[str, Any] = {
    "title": "SparqlResults",
    "description": "SPARQL 1.1 Query Results JSON: a SELECT's head.vars and results.bindings, or an ASK's boolean",
    "type": "object",
    "properties": {
        "head": {
            "type": "object",
            "properties": {
                "vars": {"type": "array", "items": {"type": "string"}},
                "link": {"type": "array", "items": {"type": "string"}},
            },
        },
        "results": {
            "type": "object",
            "properties": {
                "bindings": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "properties": {
                                "type": {"enum": ["uri", "literal", "bnode", "triple"]},
                                "value": {},
                                "xml:lang": {"type": "string"},
                                "datatype": {"type": "string"},
                            },
                            "required": ["type", "value"],
                        },
                    },
                }
            },
            "required": ["bindings"],
        },
        "boolean": {"type": "boolean"},
    },
    "required": ["head"],
}
MEDIA_SCHEMAS: dict[str, dict[str, Any]] = {
    "application/sparql-results+json": {"$ref": "#/components/schemas/SparqlResults"},
    "application/sparql-results+xml": _TEXT,
    "application/rdf+xml": _TEXT,
    "application/n-triples": _TEXT,
    "application/ld+json": {
        "description": "JSON-LD: an array of node objects (expanded), or an object with @context and @graph",
        "type": ["array", "object"],
    },
}
"""The schema of a media type wherever a route lists it without one; any ``text/*`` type is a string."""
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
    record = Record.model_json_schema(ref_template="#/components/schemas/{model}")  # GET /determinations/{id}
    components.update(record.pop("$defs", {}))
    components["Record"] = record
    components["Problem"] = PROBLEM_SCHEMA
    components["SparqlResults"] = SPARQL_RESULTS_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for operations in schema["paths"].values():
        for operation in operations.values():
            _complete(operation["responses"])
    return schema


def _media_schema(media_type: str) -> dict[str, Any] | None:
    schema = MEDIA_SCHEMAS.get(media_type) or (_TEXT if media_type.startswith("text/") else None)
    return copy.deepcopy(schema) if schema is not None else None


def _complete_success(response: dict[str, Any]) -> None:
    content = response.get("content", {})
    if len(content) > 1 and content.get("application/json") == {"schema": {}}:
        del content["application/json"]  # FastAPI's, for a route that answers with a plain Response
    for media_type, body in content.items():
        if not body.get("schema"):
            schema = _media_schema(media_type)
            if schema is not None:
                body["schema"] = schema


def _complete(responses: dict[str, Any]) -> None:
    fastapi_422 = responses.get("422", {}).get("content", {}).get("application/json")
    if fastapi_422 is not None:  # FastAPI's own validation error, which this application never sends
        responses["422"] = INVALID
    responses.setdefault("408", TIMEOUT)
    for status, response in responses.items():
        if status.startswith("2"):
            _complete_success(response)
        if status.startswith(("4", "5")):
            for media_type, body in response.get("content", {}).items():
                if media_type == PROBLEM and not body.get("schema"):
                    body["schema"] = _PROBLEM_REF
                elif media_type == FHIR_JSON and not body.get("schema"):
                    body["schema"] = {"type": "object", "description": "A FHIR OperationOutcome"}
