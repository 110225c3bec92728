"""Determinations kept: read one in any format, list them, read a case, and record a clinician's review.

Who reads what (api/auth.py): an app reads the determinations it asked for; a reviewer and an
analyst read every determination; only a reviewer reads case facts and review reasons, and signs.
A determination an app may not read answers 404, as one that does not exist.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from reasoner import render
from reasoner.model import Outcome
from reasoner.render.text import RenderFormat
from reasoner.store import DeterminationStore, ReviewAction, ReviewIn, ReviewStatus, Stored, StoreError
from reasoner.store.records import case_graph

from ..auth import Principal, ReviewerPrincipal, Role, require
from ..deps import KnowledgeBaseDep, StoreDep
from ..kept import kept_headers, reads_all
from ..models import KeptPage, RecordOut
from ..negotiation import choose
from ..problems import PROBLEM, Problem
from .determinations import EXPANDED_JSONLD, OUTPUT

router = APIRouter(tags=["determinations kept"])

Reader = Annotated[Principal, Depends(require(Role.APP, Role.REVIEWER, Role.ANALYST))]
MAX_PAGE = 500
REVIEW_MAX_BYTES = 64 * 1024


class ReviewBody(BaseModel):
    """A clinician's decision on a stored determination."""

    model_config = ConfigDict(extra="forbid")

    action: ReviewAction = Field(description="uphold, overturn or modify the determination")
    outcome: Outcome | None = Field(
        None, description="the reviewer's outcome: required to overturn (another than the engine's) or modify"
    )
    reason: str | None = Field(None, max_length=4000, description="required to overturn or modify")
    digest: str | None = Field(
        None, max_length=80, description="the digest of the determination reviewed (or send it as If-Match)"
    )
    reviewer: str | None = Field(
        None, max_length=200, description="who reviews; only when the server runs without tokens (else the token's)"
    )


def _small_body(content_length: Annotated[int | None, Header()] = None) -> None:
    """A review is a few lines: a declared body over 64 KiB is refused before it is read."""
    if content_length is not None and content_length > REVIEW_MAX_BYTES:
        raise Problem(413, "body-too-large", "Body too large", f"a review is at most {REVIEW_MAX_BYTES} bytes")


def readable(store: DeterminationStore, ident: str, principal: Principal) -> Stored:
    """The stored determination, if this principal may read it; else a 404 (existence is not disclosed)."""
    try:
        stored = store.get(ident)
    except ValueError:
        stored = None
    if stored is None or not _may_read(principal, stored):
        raise Problem(404, "not-found", "Not found", f"no determination {ident} is kept that you may read")
    return stored


def _may_read(principal: Principal, stored: Stored) -> bool:
    return reads_all(principal) or principal.name in stored.submitted_by


def summary(s: Stored) -> dict[str, Any]:
    """One kept determination in a list (``KeptSummary``)."""
    return {
        "id": s.id,
        "href": f"/determinations/{s.id}",
        "policy": s.policy,
        "outcome": s.outcome,
        "status": s.status.value,
        "finalOutcome": s.final_outcome,
        "storedAt": s.stored_at.isoformat(),
        "decidedAt": s.decided_at.isoformat() if s.decided_at else None,
    }


def review_in(
    principal: Principal,
    action: ReviewAction,
    outcome: Outcome | None,
    reason: str | None,
    digest: str | None,
    reviewer: str | None,
) -> ReviewIn:
    """The review a principal asks for; a ``Problem`` (422) without a digest, or naming the wrong reviewer.

    Without tokens the review names its reviewer; with them the reviewer is the token's.
    """
    if not digest:
        raise Problem(422, "digest-required", "Review refused", "name the digest reviewed: `digest` or If-Match")
    if principal.open:
        if not reviewer or not reviewer.strip():
            raise Problem(422, "reviewer-required", "Review refused", "without tokens, a review names its `reviewer`")
        name = reviewer.strip()
    else:
        if reviewer not in (None, principal.name):
            raise Problem(422, "reviewer-mismatch", "Review refused", "the reviewer is the token's, not another")
        name = principal.name
    return ReviewIn(action, name, digest, outcome.value if outcome else None, reason)


def sign(store: DeterminationStore, ident: str, review: ReviewIn) -> Stored:
    """``store.review`` (blocking): the determination as it now stands; ``StoreError`` for a review refused."""
    try:
        return store.review(ident, review)
    except ValueError:
        raise StoreError("not-found", f"no determination {ident} is kept") from None


@router.get(
    "/determinations",
    summary="List kept determinations",
    description=(
        "The determinations kept, the latest first, filtered by `policy`, `outcome`, `status` (awaiting-review, "
        "automated, upheld, overturned, modified) and `since` (stored at or after, ISO 8601), paged by `limit` and "
        "`offset`. An app sees the determinations it asked for."
    ),
    response_model=KeptPage,
    responses={404: {"description": "The server keeps no determinations", "content": {PROBLEM: {}}}},
)
async def list_determinations(
    store: StoreDep,
    principal: Reader,
    policy: str | None = Query(None, max_length=200),
    outcome: Annotated[Outcome | None, Query()] = None,
    status: Annotated[ReviewStatus | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="stored at or after this time (ISO 8601, with a zone)")] = None,
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    """Translate the filters to ``store.find``."""
    if since is not None and since.tzinfo is None:
        raise Problem(422, "request-invalid", "The request is not valid", "since needs a time zone (e.g. Z)")
    mine = None if reads_all(principal) else principal.name
    found = await run_in_threadpool(
        store.find,
        policy=policy,
        outcome=outcome.value if outcome else None,
        status=status.value if status else None,
        since=since,
        by=mine,
        limit=limit + 1,
        offset=offset,
    )
    items = [summary(s) for s in found[:limit]]
    return {"items": items, "limit": limit, "offset": offset, "more": len(found) > limit}


@router.get(
    "/determinations/{ident}",
    summary="Read a kept determination",
    description=(
        "The determination as it was given, in the format `Accept` asks for (JSON, the letter as Markdown or "
        "HTML, RDF as Turtle or JSON-LD). The JSON form adds `record`: its status, final outcome (the "
        "reviewer's, once reviewed), times, digest and reviews; the letter says the same. `ETag` is the "
        "digest a review must name."
    ),
    responses={
        200: {
            "description": "The determination with its record (JSON), its letter, or its RDF",
            "content": {
                "application/json": {
                    "schema": {
                        "allOf": [
                            {"$ref": "#/components/schemas/Determination"},
                            {"type": "object", "properties": {"record": {"$ref": "#/components/schemas/Record"}}},
                        ]
                    }
                },
                "text/markdown": {"schema": {"type": "string", "description": "the letter, with its status"}},
                "text/html": {"schema": {"type": "string", "description": "the letter, with its status"}},
                "text/turtle": {"schema": {"type": "string", "description": "the determination with PROV-O"}},
                "application/ld+json": {"schema": EXPANDED_JSONLD},
            },
        },
        404: {"description": "No such determination (or not yours)", "content": {PROBLEM: {}}},
        406: {"description": "No acceptable format", "content": {PROBLEM: {}}},
    },
)
async def read_determination(
    request: Request, ident: str, store: StoreDep, principal: Reader, kb: KnowledgeBaseDep
) -> Response:
    """Render the kept determination with its record."""
    out = choose(request.headers.get("accept"), list(OUTPUT))
    if out is None:
        raise Problem(406, "not-acceptable", "No acceptable format", "answers in: " + ", ".join(OUTPUT))

    def run() -> tuple[str, Stored]:
        stored = readable(store, ident, principal)
        reviews = store.reviews(ident, reasons=Role.REVIEWER in principal.roles)
        fmt: RenderFormat = OUTPUT[out]
        if fmt == "json":
            return stored.with_record(reviews), stored
        return render(stored.determination(), fmt, stored.record(reviews), kb), stored

    text, stored = await run_in_threadpool(run)
    return Response(text, media_type=out, headers=kept_headers(stored))


@router.get(
    "/determinations/{ident}/case",
    summary="Read the case of a kept determination (reviewer)",
    description=(
        "The case as it was judged: a JSON or FHIR case as its JSON case form (`application/json`), any case "
        "as Turtle (`text/turtle`). Patient data: for the reviewer role only."
    ),
    responses={
        200: {
            "description": "The case",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/CaseIn"}},
                "text/turtle": {"schema": {"type": "string", "description": "the case's facts"}},
            },
        },
        404: {"description": "No such determination", "content": {PROBLEM: {}}},
    },
)
async def read_case(
    request: Request, ident: str, store: StoreDep, principal: ReviewerPrincipal, kb: KnowledgeBaseDep
) -> Response:
    """The kept case, as JSON when it was JSON and asked for, else Turtle."""
    offered = ["application/json", "text/turtle"]
    out = choose(request.headers.get("accept"), offered)
    if out is None:
        raise Problem(406, "not-acceptable", "No acceptable format", "answers in: " + ", ".join(offered))

    def run() -> tuple[str, str]:
        readable(store, ident, principal)
        kept = store.case(ident)
        if kept is None:
            raise Problem(404, "not-found", "Not found", f"no case is kept with determination {ident}")
        if out == "application/json" and kept.media_type == "application/json":
            return kept.text, out
        graph = case_graph(kept, kb)
        if graph is None:  # a PAS request that gave no case: the Bundle as received
            return kept.text, kept.media_type
        return graph.serialize(format="turtle"), "text/turtle"

    text, media = await run_in_threadpool(run)
    return Response(text, media_type=media)


@router.get(
    "/determinations/{ident}/reviews",
    summary="The reviews of a kept determination",
    description="Oldest first; each reviewer's reason only for the reviewer role.",
    response_model=RecordOut,
    responses={404: {"description": "No such determination (or not yours)", "content": {PROBLEM: {}}}},
)
async def list_reviews(ident: str, store: StoreDep, principal: Reader) -> dict[str, Any]:
    """The reviews bound to the determination as it is kept now."""

    def run() -> dict[str, Any]:
        stored = readable(store, ident, principal)
        reviews = store.reviews(ident, reasons=Role.REVIEWER in principal.roles)
        return {"determination": f"/determinations/{ident}", **stored.record(reviews)}

    return await run_in_threadpool(run)


@router.post(
    "/determinations/{ident}/reviews",
    status_code=201,
    summary="Record a clinician's review (reviewer)",
    description=(
        "Uphold, overturn or modify a kept determination. The review names the digest of the determination "
        "read (`digest`, or `If-Match` with the ETag): if the determination kept has another, 409. Overturning "
        "needs a reason and another outcome; modifying needs a reason and an outcome. The determination's final "
        "status and outcome become the reviewer's. The reviewer is the token's name."
    ),
    responses={
        201: {"description": "The record as it now stands", "model": RecordOut},
        404: {"description": "No such determination", "content": {PROBLEM: {}}},
        409: {"description": "The determination changed since it was read", "content": {PROBLEM: {}}},
        422: {"description": "A review that cannot stand (no reason to overturn, ...)", "content": {PROBLEM: {}}},
    },
    dependencies=[Depends(_small_body)],
)
async def review_determination(
    ident: str,
    body: ReviewBody,
    store: StoreDep,
    principal: ReviewerPrincipal,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Check the body, then ``store.review``; answers the record as it now stands."""
    digest = body.digest or (if_match.strip().removeprefix("W/").strip('"') if if_match else None)
    review = review_in(principal, body.action, body.outcome, body.reason, digest, body.reviewer)

    def run() -> tuple[Stored, dict[str, Any]]:
        after = sign(store, ident, review)
        return after, after.record(store.reviews(ident, reasons=True))

    after, record = await run_in_threadpool(run)
    return Response(
        json.dumps({"determination": f"/determinations/{ident}", **record}, ensure_ascii=False),
        status_code=201,
        media_type="application/json",
        headers=kept_headers(after),
    )
