"""Errors as RFC 9457 problem details (``application/problem+json``) with stable codes.

No handler ever puts submitted content in a response: FastAPI's default 422 echoes the input,
and parser messages quote it (docs/threats.md A6); these handlers give locations and reasons only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from reasoner import FhirError, ReasonerError
from reasoner.interop.fhir_output import operation_outcome
from reasoner.store.records import StoreError

PROBLEM = "application/problem+json"
FHIR_JSON = "application/fhir+json"
TYPE_BASE = "https://w3id.org/guideline-reasoner/problems/"
log = logging.getLogger("guideline_reasoner.api")


class Problem(Exception):
    """An HTTP error raised by a router, rendered as problem details (``extra`` in the body, ``headers`` not)."""

    def __init__(
        self, status: int, code: str, title: str, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail, self.extra = status, code, title, detail, extra
        self.headers = dict(headers or {})


def problem_response(
    status: int, code: str, title: str, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json response."""
    body = {"type": TYPE_BASE + code, "title": title, "status": status, "detail": detail, "code": code}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {**({"Retry-After": "1"} if status == 503 else {}), **(headers or {})}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def operation_outcome_response(exc: FhirError) -> JSONResponse:
    """A FHIR OperationOutcome (``application/fhir+json``) with the error's status."""
    return JSONResponse(operation_outcome(exc), status_code=exc.status, media_type=FHIR_JSON)


def _from_reasoner(exc: ReasonerError) -> JSONResponse:
    # Each error class carries its status, title and extra members (reasoner/errors.py): looked up
    # through the class hierarchy, so a new subclass answers as its nearest ancestor does.
    return problem_response(exc.status, exc.code, exc.title, exc.detail, **exc.members())


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route answers at the request's path (asked of the routes themselves)."""
    routes = request.app.router.routes
    return [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]


# What a store's refusal is over HTTP (reasoner/store/records.py StoreError codes); any other: 422.
_STORE_STATUS = {"not-found": 404, "digest-mismatch": 409, "store-unavailable": 503, "store-in-use": 503}
_STORE_TITLE = {404: "Not found", 409: "The determination changed", 503: "Store unavailable"}


def install(app: FastAPI) -> None:
    """Register the handlers (before the first request: Starlette builds its middleware lazily)."""

    async def on_problem(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc.status, exc.code, exc.title, exc.detail, headers=exc.headers, **exc.extra)

    async def on_reasoner(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ReasonerError)
        return _from_reasoner(exc)

    async def on_fhir(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FhirError)
        return operation_outcome_response(exc)

    async def on_store(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StoreError)
        status = _STORE_STATUS.get(exc.code, 422)
        return problem_response(status, exc.code, _STORE_TITLE.get(status, "Review refused"), exc.message)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"location": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        return problem_response(422, "request-invalid", "The request is not valid", "see errors", errors=errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not-found", 405: "method-not-allowed", 413: "body-too-large"}.get(exc.status_code, "http-error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route that matched the path; a path served
            # by several routes (GET and POST /sparql) has the methods of all of them.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem_response(exc.status_code, code, str(exc.detail), str(exc.detail), headers=headers)

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        # The type and the request id only: the message and the traceback may quote a case.
        request_id = getattr(request.state, "request_id", None)
        log.error("internal error: %s (request %s)", type(exc).__name__, request_id)
        return problem_response(
            500, "internal", "Internal error", "an internal error occurred; it has been logged", requestId=request_id
        )

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(ReasonerError, on_reasoner)
    app.add_exception_handler(FhirError, on_fhir)  # FHIR input: an OperationOutcome, not a problem
    app.add_exception_handler(StoreError, on_store)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
