"""GET and POST /sparql: the SPARQL 1.1 Protocol, read-only, over the knowledge base.

Queries come as the ``query`` parameter of a GET, a form POST, or an ``application/sparql-query``
body; other parameters are ignored (clients such as SPARQLWrapper add some). A GET with no
``query`` parameter answers the SPARQL 1.1 Service Description (``api.sparql_description``). An
update, however it is sent (the ``update`` parameter or form field, an
``application/sparql-update`` body, or an update in the ``query`` parameter), is refused with 403
``sparql-update-refused``: the endpoint is read-only.

This process never parses a query: it checks its size, works out from the Accept header which
formats, best first, it would give each query form, and hands both to ``reasoner.sparql.service``, whose
killable query process parses, vets, runs and writes the query by the deadline. Patient cases
are never in this dataset.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response

from reasoner.errors import UpdateRefused
from reasoner.sparql.formats import GRAPH_TYPES, JSON, TABLE_TYPES, XML
from reasoner.sparql.service import QueryOutput, ResultNotAcceptable
from reasoner.sparql.vetting import FORMS, MediaTypes, QueryForm, check_size, formats

from .. import sparql_description
from ..body import read_limited
from ..deps import KnowledgeBaseDep, SettingsDep, SparqlDep
from ..negotiation import media_type, ranked
from ..problems import PROBLEM, Problem
from ..web.pages import HTML
from ..web.sparql_page import PAGE_FORMATS, sparql_page, wants_page

router = APIRouter(tags=["sparql"])

# Other names clients send for the SPARQL result formats (SPARQLWrapper's JSON sends application/json).
ALIASES = {"application/json": JSON, "application/xml": XML, "text/xml": XML}
_DOC = (
    "A SPARQL 1.1 query: SELECT, ASK, CONSTRUCT or DESCRIBE; no SERVICE, no FROM. Results as SPARQL JSON"
    " (the default), XML, CSV or TSV; graphs as Turtle (the default), JSON-LD, N-Triples or RDF/XML, by"
    " the Accept header (q-values and wildcards honoured). A syntax error gives its line and column. The"
    " endpoint is read-only: an update, however it is sent, is answered 403 sparql-update-refused."
)
_QUERY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The results (tables and booleans) or the graph",
        "content": {t: {} for t in (*TABLE_TYPES, *GRAPH_TYPES)},  # schemas by media type: api/openapi.py
    },
    400: {
        "description": "An empty query (sparql-missing); a refused or invalid query (sparql-rejected: a syntax"
        " error has `line` and `column`)",
        "content": {PROBLEM: {}},
    },
    403: {
        "description": "A SPARQL Update (sparql-update-refused): the endpoint is read-only",
        "content": {PROBLEM: {}},
    },
    406: {
        "description": "No acceptable format for this query form, or none of the acceptable ones can carry"
        " this result; `available` lists the formats",
        "content": {PROBLEM: {}},
    },
    500: {
        "description": "The endpoint failed to run a valid query (sparql-failed): a fault of the endpoint",
        "content": {PROBLEM: {}},
    },
    503: {"description": "The query was stopped at its deadline, or every slot stayed busy", "content": {PROBLEM: {}}},
}
_GET_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_QUERY_RESPONSES,
    200: {
        "description": "The results or the graph; without a query, the SPARQL 1.1 Service Description",
        "content": {t: {} for t in (*TABLE_TYPES, *GRAPH_TYPES)},  # schemas by media type: api/openapi.py
    },
}
_PAGE_DOC = (
    " A browser (a client preferring text/html to every format the endpoint writes) gets the SPARQL page"
    " instead: without a query, an editor with the bundled queries; with one, the same page with its results,"
    " or with the problem at the problem's status."
)


def with_page(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """``responses``, each also as the SPARQL page (text/html), which shows the results or the problem."""
    page = {HTML: {"schema": {"type": "string"}}}
    return {status: {**r, "content": {**r.get("content", {}), **page}} for status, r in responses.items()}


#: A POSTed query's body, as the OpenAPI document describes it (the query as such, or a form's field).
QUERY_BODY: dict[str, Any] = {
    "application/sparql-query": {"schema": {"type": "string"}},
    "application/x-www-form-urlencoded": {
        "schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
    },
}
_POST_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_QUERY_RESPONSES,
    413: {"description": "Body over the limit", "content": {PROBLEM: {}}},
    415: {
        "description": "Not application/sparql-query, application/sparql-update or a form",
        "content": {PROBLEM: {}},
    },
}


def _media_types(accept: str | None) -> dict[QueryForm, list[str]]:
    """The media types this Accept header allows for each query form, best first (empty where none)."""
    chosen: dict[QueryForm, list[str]] = {}
    for form in FORMS:
        offered = list(formats(form))
        names = offered + ([] if form in ("CONSTRUCT", "DESCRIBE") else list(ALIASES))
        chosen[form] = list(dict.fromkeys(ALIASES.get(name, name) for name in ranked(accept, names)))
    return chosen


def _not_acceptable(exc: ResultNotAcceptable) -> Problem:
    offered = list(formats(exc.form))
    if exc.reason is None:
        return Problem(
            406,
            "not-acceptable",
            "No acceptable format",
            f"a {exc.form} result can be given as " + ", ".join(offered),
            available=offered,
        )
    available = [t for t in offered if t not in exc.tried]
    return Problem(
        406,
        "not-acceptable",
        "No acceptable format for this result",
        f"this {exc.form} result cannot be given as {', '.join(exc.tried)}: {exc.reason}; ask for "
        + ", ".join(available),
        available=available,
    )


def checked_query(text: str | None, dataset: list[str], queried: str) -> str:
    """The query, given and not too long, and no dataset parameter sent (400 otherwise)."""
    if not text or not text.strip():
        raise Problem(400, "sparql-missing", "No query", "give the query as the query parameter or the body")
    check_size(text)  # before anything else
    if any(v.strip() for v in dataset):
        # The protocol lets these parameters replace the query's dataset; ignoring them would answer
        # over another dataset while the client believes it queried the graph it named.
        raise Problem(
            400,
            "sparql-rejected",
            "Query refused",
            f"default-graph-uri and named-graph-uri are not supported: the endpoint queries {queried}",
        )
    return text


async def _output(
    text: str | None, request: Request, sparql: SparqlDep, dataset: list[str], media_types: MediaTypes
) -> QueryOutput:
    text = checked_query(text, dataset, "the knowledge base")
    try:
        # The deadline counts from the request's arrival (deps.get_sparql), the body's reading included.
        arrived = getattr(request.state, "sparql_arrived", None)
        return await sparql.run(text, media_types, arrived=arrived)
    except ResultNotAcceptable as exc:
        raise _not_acceptable(exc) from None


async def _answer(text: str | None, request: Request, sparql: SparqlDep, dataset: list[str]) -> Response:
    out = await _output(text, request, sparql, dataset, _media_types(request.headers.get("accept")))
    return as_response(out)


def as_response(out: QueryOutput) -> Response:
    """The result as the endpoint sends it, with ``X-Result-Truncated: true`` when the row cap cut it."""
    headers = {"X-Result-Truncated": "true"} if out.truncated else {}
    return Response(out.body, media_type=out.media_type, headers=headers)


def _describe(request: Request, kb: KnowledgeBaseDep, settings: SettingsDep) -> Response:
    offered = sparql_description.OFFERED
    best = ranked(request.headers.get("accept"), offered)
    if not best:
        raise Problem(
            406,
            "not-acceptable",
            "No acceptable format",
            "the service description can be given as " + ", ".join(offered),
            available=offered,
        )
    body = sparql_description.describe(
        sparql_description.endpoint_url(request),
        kb.content_hash,
        sparql_description.triples(kb),
        settings.sparql_max_rows,
        settings.sparql_timeout_s,
        best[0],
    )
    return Response(body, media_type=best[0])


@router.get(
    "/sparql",
    summary="SPARQL query (GET), or the service description",
    description=_DOC + " Without a query parameter: the SPARQL 1.1 Service Description, in Turtle (the default),"
    " RDF/XML, JSON-LD or N-Triples." + _PAGE_DOC,
    responses=with_page(_GET_RESPONSES),
    openapi_extra={
        "parameters": [
            {
                "name": "query",
                "in": "query",
                "required": False,
                "description": "The query (SPARQL 1.1 Protocol); without it, the service description. Other"
                " parameters are ignored, but for `update` (refused, 403) and default-graph-uri and"
                " named-graph-uri (refused, 400)",
                "schema": {"type": "string", "minLength": 1, "maxLength": 20000},
            }
        ]
    },
)
async def sparql_get(request: Request, kb: KnowledgeBaseDep, settings: SettingsDep, sparql: SparqlDep) -> Response:
    """The query is the ``query`` parameter; without one, the service description."""
    params = request.query_params
    if "update" in params:
        raise UpdateRefused()
    if wants_page(request):  # a browser: the page, with the results of a query it sent

        def run(text: str) -> Awaitable[QueryOutput]:
            return _output(text, request, sparql, _dataset(params.getlist), PAGE_FORMATS)

        return await sparql_page(kb, "knowledge", "/sparql", params.get("query"), run)
    if "query" not in params:
        return _describe(request, kb, settings)
    return await _answer(params.get("query"), request, sparql, _dataset(params.getlist))


@router.post(
    "/sparql",
    summary="SPARQL query (POST)",
    description=_DOC + " Send it as application/sparql-query, or as the query field of a form.",
    responses=_POST_RESPONSES,
    openapi_extra={
        "requestBody": {
            "content": {
                **QUERY_BODY,
                "application/sparql-update": {
                    "schema": {"type": "string", "description": "Refused: 403 sparql-update-refused"}
                },
            }
        }
    },
)
async def sparql_post(request: Request, sparql: SparqlDep, settings: SettingsDep) -> Response:
    """A query in the body (``application/sparql-query``) or a form field; an update is refused."""
    text, dataset = await read_posted_query(request, settings.max_body_bytes)
    return await _answer(text, request, sparql, dataset)


async def read_posted_query(request: Request, limit: int) -> tuple[str | None, list[str]]:
    """The query of a POST (a body or a form field) and the dataset parameters sent; an update is refused (403)."""
    kind = media_type(request.headers.get("content-type"))
    body = await read_limited(request, limit)
    dataset = _dataset(request.query_params.getlist)
    if kind == "application/sparql-update" or "update" in request.query_params:
        raise UpdateRefused()
    text: str | None
    if kind == "application/sparql-query":
        text = body.decode("utf-8", "replace")
    elif kind == "application/x-www-form-urlencoded":
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        if "update" in form:
            raise UpdateRefused()
        text = form["query"][0] if form.get("query") else None
        dataset += _dataset(lambda name: form.get(name, []))
    else:
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported content type",
            "send application/sparql-query or application/x-www-form-urlencoded",
        )
    return text, dataset


def _dataset(get: Callable[[str], list[str]]) -> list[str]:
    return [*get("default-graph-uri"), *get("named-graph-uri")]
