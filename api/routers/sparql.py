"""GET and POST /sparql: the SPARQL 1.1 Protocol, read-only, over the knowledge base.

Queries come as the ``query`` parameter of a GET, a form POST, or an ``application/sparql-query``
body; other parameters are ignored (clients such as SPARQLWrapper add some). Every query is vetted
and run in a killable process by ``reasoner.sparql``; patient cases are never in this dataset.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from reasoner.sparql import vet

from ..body import read_limited
from ..deps import SettingsDep, SparqlDep
from ..negotiation import choose, media_type
from ..problems import Problem

router = APIRouter(tags=["sparql"])

TABLE = ["application/sparql-results+json", "application/sparql-results+xml", "text/csv"]
GRAPH = ["text/turtle", "application/ld+json", "application/n-triples"]
ALIASES = {"application/json": TABLE[0], "application/xml": TABLE[1], "text/xml": TABLE[1]}
_DOC = "A SPARQL 1.1 query: SELECT, ASK, CONSTRUCT or DESCRIBE; no SERVICE, no FROM."


async def _answer(text: str | None, request: Request, sparql: SparqlDep) -> Response:
    if not text or not text.strip():
        raise Problem(400, "sparql-missing", "No query", "give the query as the query parameter or the body")
    form = vet(text)
    offered = GRAPH if form in ("CONSTRUCT", "DESCRIBE") else TABLE
    chosen = choose(request.headers.get("accept"), offered + ([] if offered is GRAPH else list(ALIASES)))
    if chosen is None:
        raise Problem(
            406,
            "not-acceptable",
            "No acceptable format",
            f"a {form} result can be given as " + ", ".join(offered),
            available=offered,
        )
    chosen = ALIASES.get(chosen, chosen)
    out = await run_in_threadpool(sparql.run, text, chosen)
    headers = {"X-Result-Truncated": "true"} if out.truncated else {}
    return Response(out.body, media_type=out.media_type, headers=headers)


@router.get("/sparql", summary="SPARQL query (GET)", description=_DOC)
async def sparql_get(request: Request, sparql: SparqlDep) -> Response:
    """The query is the ``query`` parameter."""
    return await _answer(request.query_params.get("query"), request, sparql)


@router.post(
    "/sparql",
    summary="SPARQL query (POST)",
    description=_DOC + " Send it as application/sparql-query, or as the query field of a form.",
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
    if kind == "application/sparql-query":
        text = body.decode("utf-8", "replace")
    elif kind == "application/x-www-form-urlencoded":
        values = parse_qs(body.decode("utf-8", "replace")).get("query")
        text = values[0] if values else None
    else:
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported content type",
            "send application/sparql-query or application/x-www-form-urlencoded",
        )
    return await _answer(text, request, sparql)
