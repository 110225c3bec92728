"""Analysts' views of kept determinations: SPARQL at /sparql/determinations, and the metrics report.

``/sparql/determinations`` speaks the SPARQL 1.1 Protocol as /sparql does (read-only, the same
vetting, row cap, deadline and formats) over another dataset: every determination graph and
review graph as a named graph, never a ``/case`` graph (patient data), and the current knowledge
base, written into the store once per content hash, as the default graph
(reasoner/analytics/dataset.py). How a query is bounded: reasoner/analytics/service.py.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from reasoner.analytics.dataset import ensure_kb
from reasoner.analytics.report import parse_since, report
from reasoner.analytics.service import DeterminationQueries
from reasoner.errors import UpdateRefused
from reasoner.render.report import to_html, to_markdown
from reasoner.sparql.service import QueryOutput, ResultNotAcceptable
from reasoner.sparql.vetting import MediaTypes

from ..auth import AnalystPrincipal
from ..deps import KnowledgeBaseDep, SettingsDep, SparqlDep, StoreDep
from ..negotiation import ranked
from ..problems import PROBLEM, Problem
from ..settings import Settings
from ..web.sparql_page import PAGE_FORMATS, sparql_page, wants_page
from .sparql import (
    _PAGE_DOC,
    _POST_RESPONSES,
    _QUERY_RESPONSES,
    QUERY_BODY,
    _dataset,
    _media_types,
    _not_acceptable,
    as_response,
    checked_query,
    read_posted_query,
    with_page,
)

router = APIRouter(tags=["analytics"])

_DOC = (
    "A SPARQL 1.1 query over kept determinations, for analysts: every determination graph and review graph"
    " is a named graph (never a case graph), and the current knowledge base is the default graph. As /sparql:"
    " SELECT, ASK, CONSTRUCT or DESCRIBE; no SERVICE, no FROM; the same formats, row cap and deadline; an"
    " update is answered 403 sparql-update-refused."
)
REPORT_TYPES = ["application/json", "text/markdown", "text/html"]


def _queries(request: Request, settings: Settings) -> DeterminationQueries:
    """The app's one runner of determination queries (its slots are shared by every request)."""
    state = request.app.state
    if getattr(state, "determination_queries", None) is None:
        state.determination_queries = DeterminationQueries(
            timeout=settings.sparql_timeout_s,
            max_rows=settings.sparql_max_rows,
            memory_mb=settings.sparql_memory_mb,
            concurrency=settings.sparql_concurrency,
        )
    queries: DeterminationQueries = state.determination_queries
    return queries


async def _output(
    text: str | None,
    request: Request,
    dataset: list[str],
    store: StoreDep,
    kb: KnowledgeBaseDep,
    settings: Settings,
    media_types: MediaTypes,
) -> QueryOutput:
    text = checked_query(text, dataset, "the determinations and reviews kept")
    graph = await run_in_threadpool(ensure_kb, store, kb)
    try:
        return await _queries(request, settings).run(
            store, graph, text, media_types, arrived=getattr(request.state, "sparql_arrived", None)
        )
    except ResultNotAcceptable as exc:
        raise _not_acceptable(exc) from None


async def _answer(
    text: str | None,
    request: Request,
    dataset: list[str],
    store: StoreDep,
    kb: KnowledgeBaseDep,
    settings: Settings,
) -> Response:
    media_types = _media_types(request.headers.get("accept"))
    return as_response(await _output(text, request, dataset, store, kb, settings, media_types))


@router.get(
    "/sparql/determinations",
    summary="SPARQL query over kept determinations (GET)",
    description=_DOC + _PAGE_DOC,
    responses=with_page(
        {**_QUERY_RESPONSES, 404: {"description": "No determinations are kept", "content": {PROBLEM: {}}}}
    ),
    openapi_extra={
        "parameters": [
            {
                "name": "query",
                "in": "query",
                "required": False,
                "description": "The query (SPARQL 1.1 Protocol); without it, 400 sparql-missing, or the page for a"
                " browser",
                "schema": {"type": "string", "minLength": 1, "maxLength": 20000},
            }
        ]
    },
)
async def determinations_get(
    request: Request,
    _analyst: AnalystPrincipal,
    _sparql: SparqlDep,  # the query process forks from its forkserver, and the deadline starts here
    store: StoreDep,
    kb: KnowledgeBaseDep,
    settings: SettingsDep,
) -> Response:
    """The query is the ``query`` parameter; a browser gets the page, with the results of a query it sent."""
    params = request.query_params
    if "update" in params:
        raise UpdateRefused()
    if wants_page(request):

        def run(text: str) -> Awaitable[QueryOutput]:
            return _output(text, request, _dataset(params.getlist), store, kb, settings, PAGE_FORMATS)

        return await sparql_page(kb, "determinations", "/sparql/determinations", params.get("query"), run)
    return await _answer(params.get("query"), request, _dataset(params.getlist), store, kb, settings)


@router.post(
    "/sparql/determinations",
    summary="SPARQL query over kept determinations (POST)",
    description=_DOC + " Send it as application/sparql-query, or as the query field of a form.",
    responses={**_POST_RESPONSES, 404: {"description": "No determinations are kept", "content": {PROBLEM: {}}}},
    openapi_extra={"requestBody": {"content": QUERY_BODY}},
)
async def determinations_post(
    request: Request,
    _analyst: AnalystPrincipal,
    _sparql: SparqlDep,
    store: StoreDep,
    kb: KnowledgeBaseDep,
    settings: SettingsDep,
) -> Response:
    """A query in the body (``application/sparql-query``) or a form field; an update is refused."""
    text, dataset = await read_posted_query(request, settings.max_body_bytes)
    return await _answer(text, request, dataset, store, kb, settings)


@router.get(
    "/reports/prior-authorization",
    summary="Prior-authorization metrics",
    description="Approved, denied, pended and overturned counts and the median and p90 time to decision, in"
    " total, per policy and per requested code, of the determinations stored since `since`. JSON, or Markdown"
    " or HTML by the Accept header.",
    responses={
        200: {
            "description": "The report: `since`, `totals`, `policies` and `codes`, each with the counts and times",
            "content": {
                "application/json": {
                    "schema": {"type": "object", "required": ["since", "totals", "policies", "codes"]}
                },
                "text/markdown": {},
                "text/html": {},
            },
        },
        404: {"description": "No determinations are kept", "content": {PROBLEM: {}}},
        406: {"description": "Neither JSON, Markdown nor HTML is acceptable", "content": {PROBLEM: {}}},
        422: {"description": "`since` is not a date or date-time", "content": {PROBLEM: {}}},
    },
)
async def prior_authorization_report(
    request: Request,
    _analyst: AnalystPrincipal,
    store: StoreDep,
    since: Annotated[str | None, Query(description="A date or date-time (ISO 8601; UTC if no offset)")] = None,
) -> Response:
    """The report in the format the client prefers, JSON first."""
    best = ranked(request.headers.get("accept"), REPORT_TYPES)
    if not best:
        raise Problem(
            406, "not-acceptable", "No acceptable format", "the report is given as " + ", ".join(REPORT_TYPES)
        )
    try:
        start = parse_since(since) if since is not None else None
    except ValueError as exc:
        raise Problem(422, "invalid-since", "Invalid since", str(exc)) from None
    figures: dict[str, Any] = await run_in_threadpool(report, store, start)
    if best[0] == "text/markdown":
        return Response(to_markdown(figures), media_type="text/markdown")
    if best[0] == "text/html":
        return Response(to_html(figures), media_type="text/html")
    return Response(json.dumps(figures), media_type="application/json")
