"""POST /Claim/$submit: a Da Vinci PAS request Bundle in, a PAS response Bundle out (application/fhir+json)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from reasoner import FhirError
from reasoner.intake.fhir.pas import PasCase, read_pas
from reasoner.interop.fhir_output import skipped_header
from reasoner.interop.pas import claim_response_bundle, review
from reasoner.interop.pas_inquiry import claim_key, inquiry_review, unjudged
from reasoner.interop.pas_review import Review
from reasoner.knowledge.base import KnowledgeBase
from reasoner.store import DeterminationStore, KeptCase, Stored

from ..auth import AppPrincipal, Principal, Role, require
from ..body import read_limited
from ..deps import KnowledgeBaseDep, OptionalStoreDep, SettingsDep, StoreDep
from ..kept import kept_headers, reads_all
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
    store: OptionalStoreDep,
    principal: AppPrincipal,
    policy: str | None = Query(
        None, description="policy id (default: the one policy addressing the codes; none or several: pended)"
    ),
) -> Response:
    """Translate the request to ``read_pas`` + ``review`` and answer the response Bundle."""
    check_fhir_content_type(request)
    body = await read_fhir_body(request, settings.max_body_bytes)

    def run() -> tuple[str, dict[str, int], dict[str, str]]:
        pas = read_pas(body, kb)
        result = review(pas, kb, policy=policy)
        kept = {} if store is None else kept_headers(_keep(store, pas, kb, result, body, principal.name))
        bundle = claim_response_bundle(pas, result, now=datetime.now(UTC))
        return json.dumps(bundle, ensure_ascii=False), pas.skipped, kept

    text, skipped, kept = await run_in_threadpool(run)
    headers = {**kept, **({"X-FHIR-Skipped": skipped_header(skipped)} if skipped else {})}
    return Response(text, media_type=FHIR_JSON, headers=headers or None)


def _keep(store: DeterminationStore, pas: PasCase, kb: KnowledgeBase, result: Review, body: bytes, by: str) -> Stored:
    """Keep the request's determination, or, judged by no policy, what a reviewer needs to decide it."""
    d = result.determination or unjudged(pas, kb, result)
    if pas.case is not None:
        case = KeptCase.of(pas.case)
    else:
        case = KeptCase("application/fhir+json", body.decode("utf-8"))  # read_pas has checked it is UTF-8 JSON
    return store.put(d, case, by=by, claim=claim_key(pas))


@router.post(
    "/Claim/$inquire",
    summary="Inquire about a prior-authorization request (Da Vinci PAS)",
    description=(
        "A Da Vinci PAS inquiry Bundle (a Claim naming the request by its identifier, and the patient) is "
        "answered from the request kept at `$submit`: a PAS inquiry response Bundle whose ClaimResponse gives "
        "each item's review action as it now stands. Until a clinician reviews the request it is the answer "
        "given at submission (an adverse one marked as a recommendation awaiting review); once reviewed, every "
        "item has the action of the reviewer's decision (A1 certified, A3 not certified, A4 pended, A6 "
        "modified) and the review, with the reviewer's reason, is the first note. A request is matched by the "
        "Claim's first identifier and the patient's; an app finds only the requests it submitted."
    ),
    response_class=FhirJSONResponse,
    responses={
        200: {"description": "The PAS inquiry response Bundle", "model": FhirBundle},
        **_ERRORS,
        404: {"description": "No kept request has this identifier (OperationOutcome)", "content": {FHIR_JSON: {}}},
    },
    openapi_extra={"requestBody": {"required": True, "content": {FHIR_JSON: {"schema": {"type": "object"}}}}},
)
async def inquire_claim(
    request: Request,
    kb: KnowledgeBaseDep,
    settings: SettingsDep,
    store: StoreDep,
    principal: Annotated[Principal, Depends(require(Role.APP, Role.REVIEWER))],
) -> Response:
    """Find the request the inquiry names, and answer where it stands."""
    check_fhir_content_type(request)
    body = await read_fhir_body(request, settings.max_body_bytes)

    def run() -> str:
        pas = read_pas(body, kb)
        key = claim_key(pas)
        if key is None:
            where = "Bundle.entry[0].resource.identifier"
            raise FhirError([("required", where, "an inquiry names the request by the Claim's identifier")], status=422)
        found = store.find(claim=key, by=None if reads_all(principal) else principal.name, limit=1)
        if not found:
            where = "Bundle.entry[0].resource.identifier"
            raise FhirError(
                [("not-found", where, "no prior-authorization request with this identifier is kept")], status=404
            )
        answer = inquiry_review(pas, found[0], store.reviews(found[0].id, reasons=True))
        bundle = claim_response_bundle(pas, answer, now=datetime.now(UTC), inquiry=True)
        return json.dumps(bundle, ensure_ascii=False)

    return Response(await run_in_threadpool(run), media_type=FHIR_JSON)
