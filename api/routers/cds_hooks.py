"""CDS Hooks 2.0: GET /cds-services (discovery) and POST /cds-services/{id} (order-sign, order-select)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from reasoner import FhirError
from reasoner.intake.fhir.hooks import read_hook
from reasoner.intake.json_case.schema import CaseIn
from reasoner.interop.cds_hooks import SERVICES, discovery, respond
from reasoner.model import Determination
from reasoner.store import KeptCase

from ..auth import AppPrincipal
from ..deps import KnowledgeBaseDep, OptionalStoreDep, SettingsDep
from ..models import CdsDiscovery, CdsResponse
from ..problems import FHIR_JSON
from .pas import check_fhir_content_type, read_fhir_body

router = APIRouter(tags=["cds-hooks"])

_ERRORS: dict[int | str, dict[str, Any]] = {  # FastAPI's type for responses
    status: {"description": text, "content": {FHIR_JSON: {}}}
    for status, text in {
        400: "Not a hook request, the wrong hook, or an invalid resource (OperationOutcome)",
        404: "No such service (OperationOutcome)",
        412: "The history prefetch the service declares is absent (OperationOutcome)",
        413: "Body over the limit (OperationOutcome, too-costly)",
        415: "Not application/json (or application/fhir+json) (OperationOutcome)",
        422: "An unknown policy (OperationOutcome)",
    }.items()
}


@router.get("/cds-services", summary="CDS Hooks discovery", response_model=CdsDiscovery)
def cds_services() -> dict[str, Any]:
    """The services (order-sign, order-select) with the prefetch each needs."""
    return discovery()


@router.post(
    "/cds-services/{service_id}",
    summary="Call a CDS service (order-sign or order-select)",
    description=(
        "A CDS Hooks request whose draft ServiceRequests (or DeviceRequests) are judged together as one request, "
        "with the prefetched conditions, procedures, observations, medications and devices as the history "
        "(docs/fhir-mapping.md). Without "
        "`?policy=` it is judged under every policy that addresses its codes: one card each (Da Vinci CRD "
        "card type `guideline`), and for each order one `update` system action carrying a CRD "
        "coverage-information extension per card. Nothing is fetched: a request without the declared "
        "history prefetch gets 412. Errors are OperationOutcomes."
    ),
    responses={200: {"description": "Cards and system actions", "model": CdsResponse}, **_ERRORS},
)
async def call_service(
    service_id: str,
    request: Request,
    kb: KnowledgeBaseDep,
    settings: SettingsDep,
    store: OptionalStoreDep,
    principal: AppPrincipal,
    policy: str | None = Query(None, description="policy id (default: every policy addressing the codes)"),
) -> Response:
    """Translate the request to ``read_hook`` + ``respond``; each determination is kept and its card links it."""
    hook = SERVICES.get(service_id)
    if hook is None:
        raise FhirError([("not-found", None, "no such CDS service; GET /cds-services lists them")], status=404)
    check_fhir_content_type(request)  # a cross-site form post (urlencoded, multipart, text/plain) stops here
    body = await read_fhir_body(request, settings.max_body_bytes)
    base = str(request.base_url)

    def keep(d: Determination, case: CaseIn) -> str:
        assert store is not None
        stored = store.put(d, KeptCase.of(case), by=principal.name)
        return f"{base}determinations/{stored.id}"

    def run() -> str:
        call = read_hook(body, kb, service_hook=hook)
        answer = respond(call, kb, policy=policy, base_url=base, today=date.today(), keep=keep if store else None)
        return json.dumps(answer, ensure_ascii=False)

    return Response(await run_in_threadpool(run), media_type="application/json")
