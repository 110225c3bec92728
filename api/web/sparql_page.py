"""The SPARQL page: an editor, the bundled queries in a menu, and a query's results rendered on the server.

The page's script (static/sparql.js) runs a query through the endpoint itself, as any SPARQL
client does; without the script, the form is a GET of the endpoint with the query, answered by
this module as the same page with the results. Either way the endpoint's vetting, row cap and
deadline apply. A browser is told apart from a SPARQL client by ``wants_page``: only a client that
prefers HTML to every format the endpoint writes gets the page.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.responses import HTMLResponse
from starlette.requests import Request

from reasoner.errors import ReasonerError
from reasoner.knowledge.base import KnowledgeBase
from reasoner.sparql.bundled import Dataset, bundled
from reasoner.sparql.formats import GRAPH_TYPES, JSON, TABLE_TYPES, TURTLE
from reasoner.sparql.service import QueryOutput
from reasoner.sparql.vetting import QueryForm

from ..negotiation import choose
from ..problems import Problem
from .pages import HTML, page

# What the server writes, best first, and the aliases SPARQL clients send (api/routers/sparql.py); HTML last,
# so a client naming both a SPARQL format and HTML at one quality gets the SPARQL format.
_SERVED = [*TABLE_TYPES, *GRAPH_TYPES, "application/json", "application/xml", "text/xml", HTML]
PAGE_FORMATS: dict[QueryForm, list[str]] = {
    "SELECT": [JSON],
    "ASK": [JSON],
    "CONSTRUCT": [TURTLE],
    "DESCRIBE": [TURTLE],
}
"""The formats the page reads a result in: SPARQL JSON for tables and booleans, Turtle for graphs."""
_TITLES = {"knowledge": "SPARQL: the knowledge base", "determinations": "SPARQL: kept determinations"}

Run = Callable[[str], Awaitable[QueryOutput]]


def wants_page(request: Request) -> bool:
    """Whether the client prefers HTML to every format the endpoint writes (a browser does; no Accept does not)."""
    return choose(request.headers.get("accept"), _SERVED) == HTML


def read_result(out: QueryOutput) -> dict[str, Any]:
    """What the page shows of a result in one of ``PAGE_FORMATS``: a table, a boolean, or a graph's Turtle."""
    if out.media_type != JSON:
        return {"graph": out.body.decode("utf-8", "replace"), "truncated": out.truncated}
    data = json.loads(out.body)
    if "boolean" in data:
        return {"boolean": bool(data["boolean"]), "truncated": False}
    columns: list[str] = list(data["head"].get("vars", []))
    rows = [[_cell(binding.get(c)) for c in columns] for binding in data["results"]["bindings"]]
    return {"columns": columns, "rows": rows, "truncated": out.truncated}


def _cell(term: dict[str, Any] | None) -> dict[str, str]:
    if term is None:
        return {"value": "", "kind": "unbound", "lang": ""}
    kind = str(term.get("type", "literal"))
    value = str(term.get("value", ""))
    return {"value": f"_:{value}" if kind == "bnode" else value, "kind": kind, "lang": str(term.get("xml:lang", ""))}


def _problem(exc: Problem | ReasonerError) -> dict[str, Any]:
    if isinstance(exc, Problem):
        return {"status": exc.status, "title": exc.title, "detail": exc.detail, "code": exc.code, **exc.extra}
    return {"status": exc.status, "title": exc.title, "detail": exc.detail, "code": exc.code, **exc.members()}


async def sparql_page(kb: KnowledgeBase, dataset: Dataset, endpoint: str, query: str | None, run: Run) -> HTMLResponse:
    """The page for ``dataset``'s endpoint; with ``query``, its results or the problem the endpoint answered.

    A problem keeps its status (a refused query is a 400 page), so a browser and a SPARQL client
    are told the same.
    """
    result: dict[str, Any] | None = None
    problem: dict[str, Any] | None = None
    if query is not None:
        try:
            result = read_result(await run(query))
        except (Problem, ReasonerError) as exc:
            problem = _problem(exc)
    queries = bundled(dataset)
    return page(
        "sparql.html.j2",
        kb,
        status=problem["status"] if problem else 200,
        section="sparql",
        title=_TITLES[dataset],
        dataset=dataset,
        endpoint=endpoint,
        queries=queries,
        query=query if query is not None else (queries[0].text if queries else ""),
        result=result,
        problem=problem,
    )
