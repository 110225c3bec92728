"""The landing page, and the code search that leads from it."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from reasoner.knowledge.catalogue import policy_summaries

from ..deps import KnowledgeBaseDep
from .pages import HTML, page, wants_html

router = APIRouter(tags=["pages"])
PAGE: dict[int | str, dict[str, object]] = {200: {"content": {HTML: {"schema": {"type": "string"}}}}}


class Landing(BaseModel):
    """Where a client starts: the knowledge base's hash and the routes to its views."""

    knowledgeBase: str
    links: dict[str, str]


@router.get("/", summary="The landing page: policies and a code search", response_model=Landing, responses=PAGE)
def home(request: Request, kb: KnowledgeBaseDep) -> Response:
    """A browser gets the landing page; any other client the routes to start from, as JSON."""
    if wants_html(request):
        return page("home.html.j2", kb, policies=policy_summaries(kb), section="knowledge")
    links = {
        "policies": "/policies",
        "procedure": "/procedures/{code}",
        "criterion": "/criteria/{id}",
        "reference": "/references/{id}",
        "example": "/examples/{name}",
        "sparql": "/sparql",
        "determinations": "/determinations",
        "review": "/review",
    }
    return JSONResponse({"knowledgeBase": kb.content_hash, "links": links})


@router.get("/search", summary="Go to a code's page", status_code=303, response_class=RedirectResponse)
def search(code: str = Query(..., min_length=1, max_length=10, pattern=r"^[A-Za-z0-9.]+$")) -> RedirectResponse:
    """The landing page's form: a redirect to the code's page (which says when the code is unknown)."""
    return RedirectResponse(f"/procedures/{code.strip().upper()}", status_code=303)
