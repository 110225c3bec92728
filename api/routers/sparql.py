"""GET and POST /sparql: the SPARQL 1.1 Protocol, read-only, over the knowledge base.

Queries come as the ``query`` parameter of a GET, a form POST, or an ``application/sparql-query``
body; other parameters are ignored (clients such as SPARQLWrapper add some). This process never
parses a query: it checks its size, works out from the Accept header which format it would give
each query form, and hands both to ``reasoner.sparql``, whose killable query process parses,
vets, runs and serialises the query by the deadline. Patient cases are never in this dataset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response

from reasoner.sparql import FORMS, QueryForm, ResultNotAcceptable, check_size

from ..body import read_limited
from ..deps import SettingsDep, SparqlDep
from ..negotiation import choose, media_type
from ..problems import PROBLEM, Problem

router = APIRouter(tags=["sparql"])

TABLE = ["application/sparql-results+json", "application/sparql-results+xml", "text/csv"]
GRAPH = ["text/turtle", "application/ld+json", "application/n-triples"]
OFFERED: dict[QueryForm, list[str]] = {"SELECT": TABLE, "ASK": TABLE[:2], "CONSTRUCT": GRAPH, "DESCRIBE": GRAPH}
ALIASES = {"application/json": TABLE[0], "application/xml": TABLE[1], "text/xml": TABLE[1]}
_DOC = "A SPARQL 1.1 query: SELECT, ASK, CONSTRUCT or DESCRIBE; no SERVICE, no FROM."
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The results (tables) or the graph", "content": {t: {} for t in TABLE + GRAPH}},
    400: {"description": "No query, a refused or invalid query", "content": {PROBLEM: {}}},
    406: {"description": "No acceptable result format for this query form", "content": {PROBLEM: {}}},
    503: {"description": "The query was stopped at its deadline, or every slot stayed busy", "content": {PROBLEM: {}}},
}
_POST_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_RESPONSES,
    413: {"description": "Body over the limit", "content": {PROBLEM: {}}},
    415: {"description": "Not application/sparql-query or a form", "content": {PROBLEM: {}}},
}


def _media_types(accept: str | None) -> dict[QueryForm, str | None]:
    """The media type this Accept header gets for each query form; None where it accepts none."""
    chosen: dict[QueryForm, str | None] = {}
    for form in FORMS:
        offered = OFFERED[form]
        best = choose(accept, offered + ([] if offered is GRAPH else list(ALIASES)))
        chosen[form] = ALIASES.get(best, best) if best else None
    return chosen


async def _answer(text: str | None, request: Request, sparql: SparqlDep, dataset: list[str]) -> Response:
    if not text or not text.strip():
        raise Problem(400, "sparql-missing", "No query", "give the query as the query parameter or the body")
    check_size(text)  # before anything else
    if any(v.strip() for v in dataset):
        # The protocol lets these parameters replace the query's dataset; ignoring them would answer
        # over the knowledge base while the client believes it queried the graph it named.
        raise Problem(
            400,
            "sparql-rejected",
            "Query refused",
            "default-graph-uri and named-graph-uri are not supported: the endpoint queries the knowledge base",
        )
    try:
        # The deadline counts from the request's arrival (deps.get_sparql), the body's reading included.
        arrived = getattr(request.state, "sparql_arrived", None)
        out = await sparql.run(text, _media_types(request.headers.get("accept")), arrived=arrived)
    except ResultNotAcceptable as exc:
        offered = OFFERED[exc.form]
        raise Problem(
            406,
            "not-acceptable",
            "No acceptable format",
            f"a {exc.form} result can be given as " + ", ".join(offered),
            available=offered,
        ) from None
    headers = {"X-Result-Truncated": "true"} if out.truncated else {}
    return Response(out.body, media_type=out.media_type, headers=headers)


@router.get(
    "/sparql",
    summary="SPARQL query (GET)",
    description=_DOC,
    responses=_RESPONSES,
    openapi_extra={
        "parameters": [
            {
                "name": "query",
                "in": "query",
                "required": True,
                "description": "The query (SPARQL 1.1 Protocol); other parameters are ignored",
                "schema": {"type": "string", "minLength": 1, "maxLength": 20000},
            }
        ]
    },
)
async def sparql_get(request: Request, sparql: SparqlDep) -> Response:
    """The query is the ``query`` parameter."""
    params = request.query_params
    return await _answer(params.get("query"), request, sparql, _dataset(params.getlist))


@router.post(
    "/sparql",
    summary="SPARQL query (POST)",
    description=_DOC + " Send it as application/sparql-query, or as the query field of a form.",
    responses=_POST_RESPONSES,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/sparql-query": {"schema": {"type": "string"}},
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
                },
            }
        }
    },
)
async def sparql_post(request: Request, sparql: SparqlDep, settings: SettingsDep) -> Response:
    """A query in the body (``application/sparql-query``) or a form field."""
    kind = media_type(request.headers.get("content-type"))
    body = await read_limited(request, settings.max_body_bytes)
    dataset = _dataset(request.query_params.getlist)
    if kind == "application/sparql-query":
        text = body.decode("utf-8", "replace")
    elif kind == "application/x-www-form-urlencoded":
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        text = form["query"][0] if form.get("query") else None
        dataset += _dataset(lambda name: form.get(name, []))
    else:
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported content type",
            "send application/sparql-query or application/x-www-form-urlencoded",
        )
    return await _answer(text, request, sparql, dataset)


def _dataset(get: Callable[[str], list[str]]) -> list[str]:
    return [*get("default-graph-uri"), *get("named-graph-uri")]
