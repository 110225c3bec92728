"""POST /Claim/$submit: a Da Vinci PAS request Bundle in, a PAS response Bundle out (application/fhir+json)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from reasoner import FhirError
from reasoner.intake.fhir.pas import read_pas
from reasoner.interop.fhir_output import skipped_header
from reasoner.interop.pas import claim_response_bundle, review

from ..body import read_limited
from ..deps import KnowledgeBaseDep, SettingsDep
from ..models import FhirBundle
from ..negotiation import media_type
from ..problems import FHIR_JSON, Problem

router = APIRouter(tags=["fhir"])

FHIR_INPUT = (FHIR_JSON, "application/json")


class FhirJSONResponse(JSONResponse):
    """FHIR JSON (so that the OpenAPI document gives the answer's schema under ``application/fhir+json``)."""

    media_type = FHIR_JSON


_ERRORS: dict[int | str, dict[str, Any]] = {  # FastAPI's type for responses
    status: {"description": text, "content": {FHIR_JSON: {}}}
    for status, text in {
        400: "Not FHIR, not a Bundle, an invalid resource, no Claim first, or a broken reference (OperationOutcome)",
        413: "Body over the limit (OperationOutcome, too-costly)",
        415: "Not application/fhir+json or application/json (OperationOutcome)",
        422: "`?policy=` names no policy (OperationOutcome)",
    }.items()
}


async def read_fhir_body(request: Request, limit: int) -> bytes:
    """The body under the size limit; over it, a 413 OperationOutcome (``too-costly``)."""
    try:
        return await read_limited(request, limit)
    except Problem as exc:
        if exc.status != 413:
            raise
        raise FhirError([("too-costly", None, exc.detail)], status=413) from None


def check_fhir_content_type(request: Request) -> None:
    """A 415 OperationOutcome unless the body is declared FHIR JSON (or plain JSON)."""
    if media_type(request.headers.get("content-type")) not in FHIR_INPUT:
        raise FhirError([("not-supported", None, "send application/json (or application/fhir+json)")], status=415)


@router.post(
    "/Claim/$submit",
    summary="Submit a prior-authorization request (Da Vinci PAS)",
    description=(
        "A Da Vinci PAS request Bundle (the Claim first, then the resources it refers to and the history; an "
        "update's Claim names the earlier one in `related`) is mapped to a case (docs/fhir-mapping.md) and "
        "judged under `?policy=`, or, without it, under the one policy that addresses the requested codes. "
        "Every valid request is answered with a PAS response Bundle: a ClaimResponse with a review action per "
        "item (A1 certified, A3 not certified, A4 pended, C cancelled by the update) and the reasons as "
        "process notes, then the Patient, insurer and requestor, every reference a `urn:uuid:` of the "
        "Bundle. A request that cannot be judged (no policy or several policies address its codes, no "
        "diagnosis, no CPT/HCPCS code) is pended (A4) for a clinician reviewer, the reason and what is "
        "missing as notes. Resource types that give no facts are counted in the `X-FHIR-Skipped` header. "
        "A body that is not a PAS request Bundle is an OperationOutcome."
    ),
    response_class=FhirJSONResponse,
    responses={200: {"description": "The PAS response Bundle", "model": FhirBundle}, **_ERRORS},
    openapi_extra={"requestBody": {"required": True, "content": {FHIR_JSON: {"schema": {"type": "object"}}}}},
)
async def submit_claim(
    request: Request,
    kb: KnowledgeBaseDep,
    settings: SettingsDep,
    policy: str | None = Query(
        None, description="policy id (default: the one policy addressing the codes; none or several: pended)"
    ),
) -> Response:
    """Translate the request to ``read_pas`` + ``review`` and answer the response Bundle."""
    check_fhir_content_type(request)
    body = await read_fhir_body(request, settings.max_body_bytes)

    def run() -> tuple[str, dict[str, int]]:
        pas = read_pas(body, kb)
        bundle = claim_response_bundle(pas, review(pas, kb, policy=policy), now=datetime.now(UTC))
        return json.dumps(bundle, ensure_ascii=False), pas.skipped

    text, skipped = await run_in_threadpool(run)
    headers = {"X-FHIR-Skipped": skipped_header(skipped)} if skipped else None
    return Response(text, media_type=FHIR_JSON, headers=headers)
