"""The review queue: determinations awaiting a clinician, each with its letter, its case and a sign-off form.

For the reviewer role (api/web/signin.py). A sign-off goes through the same checks and store call
as ``POST /determinations/{id}/reviews``; a refused one shows the form again with what was typed.
Any client that is not a browser gets JSON: the queue as ``GET /determinations`` lists it, a
determination's record. Case facts and reasons are shown, never logged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from reasoner.knowledge.base import KnowledgeBase
from reasoner.knowledge.catalogue import policy_summaries
from reasoner.model import Outcome
from reasoner.render.pathway import letter_pathway_svg
from reasoner.render.text import to_html_body
from reasoner.store import DeterminationStore, ReviewAction, ReviewStatus, StoreError
from reasoner.store.records import case_graph

from ..deps import KnowledgeBaseDep, OptionalStoreDep
from ..models import KeptPage, RecordOut
from ..problems import PROBLEM, Problem
from ..routers.stored import readable, review_in, sign, summary
from .pages import HTML, page, wants_html
from .signin import COOKIE, HTML_PAGE, SEE_OTHER, form_body, read_form, reviewer

router = APIRouter(tags=["pages"])

PAGE_SIZE = 25
FIELDS = ("action", "outcome", "reason", "reviewer")
OUTCOMES = [(o.value, o.label) for o in Outcome]
# Which form field a refusal is about (reasoner/store/records.py check_review, api/routers/stored.py review_in).
FIELD = {
    "reason-required": "reason",
    "outcome-required": "outcome",
    "outcome-unchanged": "outcome",
    "outcome-mismatch": "outcome",
    "unknown-outcome": "outcome",
    "reviewer-required": "reviewer",
    "reviewer-mismatch": "reviewer",
}
NOT_KEPT: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "The server keeps no determinations (JSON; a browser gets a page saying so)",
        "content": {PROBLEM: {}},
    },
}


def _not_kept(request: Request, kb: KnowledgeBase) -> Response:
    if not wants_html(request):
        raise Problem(404, "not-kept", "Determinations are not kept", "this server keeps no determinations (GR_STORE)")
    message = "This server keeps no determinations (it was started with GR_STORE=false), so there is nothing to review."
    return page(
        "review_message.html.j2",
        kb,
        heading="Determinations are not kept on this server",
        message=message,
        signed_in=False,
        section="review",
    )


@router.get(
    "/review",
    summary="The review queue (a page; JSON for other clients)",
    description=(
        "Determinations awaiting a clinician's review, the latest first, filtered by `outcome` and `policy`, paged "
        "by `offset`. For the reviewer role: a browser without a sign-in is sent to `/review/sign-in`."
    ),
    response_model=KeptPage,
    responses={200: HTML_PAGE, **SEE_OTHER, **NOT_KEPT},
)
async def queue(
    request: Request,
    kb: KnowledgeBaseDep,
    store: OptionalStoreDep,
    outcome: Outcome | None = None,
    policy: str | None = Query(None, max_length=200),
    offset: int = Query(0, ge=0),
) -> Response:
    """The queue page, or its items as JSON."""
    if store is None:
        return _not_kept(request, kb)
    who = reviewer(request, kb)
    if isinstance(who, Response):
        return who
    policy = policy or None
    found = await run_in_threadpool(
        store.find,
        policy=policy,
        outcome=outcome.value if outcome else None,
        status=ReviewStatus.AWAITING.value,
        limit=PAGE_SIZE + 1,
        offset=offset,
    )
    more = len(found) > PAGE_SIZE
    if not wants_html(request):
        items = [summary(s) for s in found[:PAGE_SIZE]]
        return JSONResponse({"items": items, "limit": PAGE_SIZE, "offset": offset, "more": more})
    rows = [
        {
            "id": s.id,
            "case": json.loads(s.json).get("case", ""),
            "policy": s.policy,
            "outcome": s.outcome,
            "outcomeLabel": Outcome(s.outcome).label,
            "storedAt": s.stored_at,
        }
        for s in found[:PAGE_SIZE]
    ]
    filters = {"outcome": outcome.value if outcome else "", "policy": policy or ""}
    return page(
        "review_queue.html.j2",
        kb,
        rows=rows,
        filters=filters,
        offset=offset,
        size=PAGE_SIZE,
        more=more,
        outcomes=[o for o in OUTCOMES if o[0] != Outcome.MEDICALLY_NECESSARY.value],
        policies=policy_summaries(kb),
        who=who,
        signed_in=bool(request.cookies.get(COOKIE)),
        section="review",
    )


@dataclass
class Form:
    """What the sign-off form holds: the values typed, and why a post was refused."""

    values: dict[str, str] = field(default_factory=lambda: dict.fromkeys(FIELDS, ""))
    errors: dict[str, str] = field(default_factory=dict)
    general: str | None = None


def _compact(node: Any) -> Any:
    """JSON without the members that say nothing (null, empty): the case as a reviewer reads it."""
    if isinstance(node, dict):
        kept = {k: _compact(v) for k, v in node.items()}
        return {k: v for k, v in kept.items() if v not in (None, [], {})}
    if isinstance(node, list):
        return [_compact(v) for v in node]
    return node


def _case_text(store: DeterminationStore, ident: str, kb: KnowledgeBase) -> str | None:
    kept = store.case(ident)
    if kept is None:
        return None
    if kept.media_type.endswith("json"):
        return json.dumps(_compact(json.loads(kept.text)), indent=2, ensure_ascii=False)
    graph = case_graph(kept, kb)
    return kept.text if graph is None else graph.serialize(format="turtle")


async def _review_page(
    request: Request, kb: KnowledgeBase, store: DeterminationStore, ident: str, who: Any, form: Form, status: int = 200
) -> Response:
    def run() -> dict[str, Any]:
        stored = readable(store, ident, who)
        reviews = store.reviews(ident, reasons=True)
        record = stored.record(reviews)
        d = stored.determination()
        letter = Markup(to_html_body(d, record, letter_pathway_svg(kb, d)))  # noqa: S704 - the letter's template escapes
        return {
            "stored": stored,
            "record": record,
            "reviews": reviews,
            "letter": letter,
            "case": _case_text(store, ident, kb),
        }

    try:
        found = await run_in_threadpool(run)
    except Problem as exc:
        if exc.status != 404 or not wants_html(request):
            raise
        heading = "No such determination"
        return page(
            "review_message.html.j2",
            kb,
            status=404,
            heading=heading,
            message=exc.detail,
            signed_in=False,
            section="review",
        )
    if not wants_html(request):
        return JSONResponse({"determination": f"/determinations/{ident}", **found["record"]})
    return page(
        "review.html.j2",
        kb,
        status=status,
        form=form,
        outcomes=OUTCOMES,
        actions=[a.value for a in ReviewAction],
        who=who,
        signed_in=bool(request.cookies.get(COOKIE)),
        section="review",
        **found,
    )


@router.get(
    "/review/{ident}",
    summary="A determination to review: its letter, its case and the sign-off form (a page)",
    description="For the reviewer role. Any client that is not a browser gets the determination's record (JSON).",
    response_model=RecordOut,
    responses={200: HTML_PAGE, **SEE_OTHER, **NOT_KEPT},
)
async def review_page(request: Request, ident: str, kb: KnowledgeBaseDep, store: OptionalStoreDep) -> Response:
    """The review page."""
    if store is None:
        return _not_kept(request, kb)
    who = reviewer(request, kb)
    if isinstance(who, Response):
        return who
    return await _review_page(request, kb, store, ident, who, Form())


def _parse(fields: dict[str, str]) -> tuple[ReviewAction | None, Outcome | None, Form]:
    values = {k: fields.get(k, "") for k in FIELDS}
    form = Form(values)
    action = next((a for a in ReviewAction if a.value == values["action"]), None)
    if action is None:
        form.errors["action"] = "Choose uphold, overturn or modify."
    outcome = next((o for o in Outcome if o.value == values["outcome"]), None)
    if values["outcome"] and outcome is None:
        form.errors["outcome"] = "Choose one of the outcomes listed."
    if len(values["reason"]) > 4000:
        form.errors["reason"] = "A reason is at most 4000 characters."
    if len(values["reviewer"]) > 200:
        form.errors["reviewer"] = "A reviewer's name is at most 200 characters."
    return action, outcome, form


@router.post(
    "/review/{ident}",
    summary="Sign off a determination (a form post from the review page)",
    description=(
        "Records the review as `POST /determinations/{ident}/reviews` does (the digest read, a reason to overturn "
        "or modify, an outcome that can stand), then 303 to the review page. A refused review: the page again with "
        "the error by its field (422; 409 when the determination changed since it was read). A post from another "
        "site: 403."
    ),
    status_code=303,
    response_class=Response,
    responses={
        **SEE_OTHER,
        403: {"description": "Not a reviewer, or a cross-site post", "content": {HTML: {}, PROBLEM: {}}},
        404: {"description": "No such determination", "content": {PROBLEM: {}}},
        409: {"description": "The determination changed since it was read (the page again)", **HTML_PAGE},
        422: {"description": "A review that cannot stand (the page again, the error by its field)", **HTML_PAGE},
    },
    openapi_extra=form_body(
        {name: {"type": "string"} for name in ("action", "outcome", "reason", "reviewer", "digest")}
    ),
)
async def sign_off(request: Request, ident: str, kb: KnowledgeBaseDep, store: OptionalStoreDep) -> Response:
    """Check the form, record the review, and go back to the page."""
    if store is None:
        return _not_kept(request, kb)
    fields = await read_form(request)
    who = reviewer(request, kb)
    if isinstance(who, Response):
        return who
    action, outcome, form = _parse(fields)
    if action is not None and not form.errors:
        try:
            reason = form.values["reason"] or None
            review = review_in(who, action, outcome, reason, fields.get("digest"), form.values["reviewer"] or None)
            await run_in_threadpool(sign, store, ident, review)
            return RedirectResponse(f"/review/{ident}", status_code=303)
        except (Problem, StoreError) as exc:
            code, message = exc.code, exc.detail if isinstance(exc, Problem) else exc.message
            if code == "not-found":
                raise
            if code in FIELD:
                form.errors[FIELD[code]] = message
            else:
                form.general = message
            if code == "digest-mismatch":
                form.general = "The determination changed since you read it: read it again below, then sign."
                return await _review_page(request, kb, store, ident, who, form, status=409)
    return await _review_page(request, kb, store, ident, who, form, status=422)
