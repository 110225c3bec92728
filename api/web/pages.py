"""HTML pages from the web templates: whether a request wants one, and rendering it."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from reasoner.knowledge.base import KnowledgeBase
from reasoner.render.links import identifier_url

from ..negotiation import choose

HTML = "text/html"

_ENV = Environment(
    loader=PackageLoader("api.web", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["url"] = identifier_url


def wants_html(request: Request) -> bool:
    """Whether the client prefers HTML to JSON (a browser does; curl's ``*/*`` gets JSON, the server's first)."""
    return choose(request.headers.get("accept"), ["application/json", HTML]) == HTML


def page(template: str, kb: KnowledgeBase, *, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered with ``context`` and the knowledge base every page names in its footer."""
    text = _ENV.get_template(template).render(kb_hash=kb.content_hash, **context)
    return HTMLResponse(text, status_code=status)


def not_found(kb: KnowledgeBase, title: str, detail: str) -> HTMLResponse:
    """A 404 page saying what the problem JSON says (``title``, ``detail``)."""
    return page("not_found.html.j2", kb, status=404, title=title, detail=detail, section="knowledge")
