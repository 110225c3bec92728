"""POST /determinations: a case in, a determination (or, with ``?policy=all``, a comparison) out, formats negotiated."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from reasoner import ALL_POLICIES, CaseError, FhirError, compare, determine, render, render_comparison
from reasoner.compare import Comparison, compare_graph
from reasoner.intake.fhir.pas import read_pas
from reasoner.intake.json_case.to_rdf import to_graph
from reasoner.intake.turtle import CaseFormat
from reasoner.interop.fhir_output import skipped_header
from reasoner.interop.pas import judge
from reasoner.model import Determination
from reasoner.render.text import ComparisonFormat, RenderFormat
from reasoner.store import DeterminationStore, KeptCase, StoreError
from reasoner.store.keeping import determine_keeping

from ..auth import AppPrincipal, Principal
from ..body import read_limited
from ..deps import KnowledgeBaseDep, OptionalStoreDep, SettingsDep
from ..kept import kept_headers
from ..negotiation import choose, media_type
from ..problems import FHIR_JSON, PROBLEM, Problem
from .pas import read_fhir_body

log = logging.getLogger(__name__)
router = APIRouter(tags=["determinations"])

INPUT: dict[str, CaseFormat] = {
    "application/json": "json",
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    FHIR_JSON: "fhir",
}
OUTPUT: dict[str, RenderFormat] = {
    "application/json": "json",
    "text/markdown": "markdown",
    "text/html": "html",
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
}
COMPARISON_OUTPUT: dict[str, ComparisonFormat] = {
    "application/json": "json",
    "text/markdown": "markdown",
    "text/html": "html",
}
_API_DIR = Path(__file__).resolve().parents[1]
_SEEDS = [
    _API_DIR / "_examples" / "sij-seed-neurectomy.json",
    _API_DIR.parent / "examples/cases/sij-seed-neurectomy.json",
]
SEED_EXAMPLE = next((json.loads(p.read_text()) for p in _SEEDS if p.is_file()), None)  # for /docs

EXPANDED_JSONLD = {
    "type": "array",
    "items": {"type": "object"},
    "description": "the determination with PROV-O, as expanded JSON-LD (an array of node objects)",
}
_ERRORS: dict[int | str, dict[str, Any]] = {  # FastAPI's type for responses
    status: {"description": text, "content": {PROBLEM: {}, **({FHIR_JSON: {}} if fhir else {})}}
    for status, (text, fhir) in {
        400: ("Malformed case (line and column for Turtle and JSON); for FHIR input an OperationOutcome", True),
        406: ("No acceptable response format", False),
        413: ("Body over the limit (for FHIR input an OperationOutcome)", True),
        415: ("Unsupported content type", False),
        422: ("Invalid case, unknown policy, or a case that cannot be judged (FHIR: an OperationOutcome)", True),
    }.items()
}


@router.post(
    "/determinations",
    summary="Determine a case",
    description=(
        "Judge a case under a policy (`?policy=`, else the policy the case names). The body is the "
        "JSON case form (`application/json`, schema `CaseIn`), Turtle in the case vocabulary "
        "(`text/turtle`), or JSON-LD with the published context (`application/ld+json`). The response "
        "follows `Accept`: JSON (default), the letter as Markdown or HTML, or the determination as RDF "
        "with PROV-O provenance (Turtle, JSON-LD).\n\n"
        "A Da Vinci PAS request Bundle (`application/fhir+json`) is mapped to the same case "
        "(docs/fhir-mapping.md) and answered the same way; without `?policy=` it is judged under the one "
        "policy that addresses its codes. FHIR input errors are OperationOutcomes, and the resource types "
        "that gave no facts are counted in the `X-FHIR-Skipped` header.\n\n"
        "With `?policy=all` the case is judged under every policy that has a coverage position on, or a "
        "fallback for, a requested code, and the answer is a comparison: JSON (the summary per policy, "
        "what differs, and every full determination), or a side-by-side review in Markdown or HTML. RDF "
        "is not offered for a comparison (406). A case whose codes no policy addresses gets an empty "
        "comparison with a `note`, not an error."
    ),
    responses={
        200: {
            "description": "The determination (`Determination`), or with `policy=all` the comparison (`Comparison`)",
            "model": Determination | Comparison,
            "content": {
                "text/markdown": {"schema": {"type": "string", "description": "the letter"}},
                "text/html": {"schema": {"type": "string", "description": "the letter"}},
                "text/turtle": {"schema": {"type": "string", "description": "the determination with PROV-O"}},
                "application/ld+json": {"schema": EXPANDED_JSONLD},
            },
        },
        **_ERRORS,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/CaseIn"},
                    **({"example": SEED_EXAMPLE} if SEED_EXAMPLE else {}),
                },
                "text/turtle": {"schema": {"type": "string"}},
                "application/ld+json": {"schema": {"type": "object"}},
                FHIR_JSON: {"schema": {"type": "object"}},
            },
        }
    },
)
async def create_determination(
    request: Request,
    kb: KnowledgeBaseDep,
    settings: SettingsDep,
    store: OptionalStoreDep,
    principal: AppPrincipal,
    keep: bool = Query(
        True,
        alias="store",
        description="keep the determination and its case (default); `false` to determine only. A comparison "
        "(`policy=all`) is never kept",
    ),
    policy: str | None = Query(
        None,
        description=(
            "policy id, for example sij-clinical-pathway (default: the policy the case names); `all` compares "
            "the case under every policy that covers a requested code (JSON, Markdown or HTML only)"
        ),
    ),
) -> Response:
    """Translate the request to ``reasoner.determine`` (or ``compare``) and render the result as negotiated."""
    fmt = INPUT.get(media_type(request.headers.get("content-type")))
    if fmt is None:
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported content type",
            "send application/json, text/turtle, application/ld+json or application/fhir+json",
            accepted=list(INPUT),
        )
    comparing = policy == ALL_POLICIES
    offered = COMPARISON_OUTPUT if comparing else OUTPUT
    out = choose(request.headers.get("accept"), list(offered))
    if out is None:
        what = "a comparison (policy=all)" if comparing else "this endpoint"
        raise Problem(
            406,
            "not-acceptable",
            "No acceptable format",
            f"{what} can answer in: " + ", ".join(offered),
            available=list(offered),
        )
    into = store if keep and not comparing else None
    if fmt == "fhir":
        return await _fhir_determination(request, kb, settings.max_body_bytes, policy, out, comparing, into, principal)
    body = await read_limited(request, settings.max_body_bytes)
    kept: list[Determination] = []

    def run() -> tuple[str, dict[str, str] | None]:
        if comparing:
            return render_comparison(compare(body, fmt, kb), COMPARISON_OUTPUT[out]), None
        if into is None:
            return render(determine(body, fmt, kb, policy=policy), OUTPUT[out], kb=kb), None
        d, case = determine_keeping(body, fmt, kb, policy=policy)
        kept.append(d)
        return render(d, OUTPUT[out], kb=kb), kept_headers(into.put(d, case, by=principal.name, defer=True))

    text, headers = await run_in_threadpool(run)
    return Response(text, media_type=out, headers=headers, background=_rdf_after(into, kept))


def _rdf_after(store: DeterminationStore | None, kept: list[Determination]) -> BackgroundTask | None:
    """Write the RDF of what was kept once the answer is sent (the put before it made the answer durable)."""
    return BackgroundTask(_project, store, kept[0]) if store is not None and kept else None


def _project(store: DeterminationStore, d: Determination) -> None:
    try:
        store.project(d)
    except (StoreError, OSError) as exc:  # it stays pending: the next start writes it
        log.warning("the RDF of determination %s is left pending: %s", d.determinationId, type(exc).__name__)


async def _fhir_determination(
    request: Request,
    kb: KnowledgeBaseDep,
    limit: int,
    policy: str | None,
    out: str,
    comparing: bool,
    into: DeterminationStore | None,
    principal: Principal,
) -> Response:
    body = await read_fhir_body(request, limit)
    kept: dict[str, str] = {}
    judged: list[Determination] = []

    def run() -> tuple[str, dict[str, int]]:
        pas = read_pas(body, kb)
        if not comparing:
            d = judge(pas, kb, policy=policy)
            if into is not None and pas.case is not None:
                case = KeptCase.of(pas.case)
                kept.update(kept_headers(into.put(d, case, by=principal.name, defer=True)))
                judged.append(d)
            return render(d, OUTPUT[out], kb=kb), pas.skipped
        if pas.case is None:
            raise FhirError(pas.missing, status=422)
        try:
            comparison = compare_graph(to_graph(pas.case, kb), kb)
        except FhirError:
            raise
        except CaseError as exc:  # a mapped case that cannot be judged: still an error about the FHIR input
            raise FhirError([("invalid", None, exc.message)], status=422) from None
        return render_comparison(comparison, COMPARISON_OUTPUT[out]), pas.skipped

    text, skipped = await run_in_threadpool(run)
    headers = {**kept, **({"X-FHIR-Skipped": skipped_header(skipped)} if skipped else {})}
    return Response(text, media_type=out, headers=headers or None, background=_rdf_after(into, judged))
