"""The bundled example cases, each as its determination (the letter, for a browser)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from markupsafe import Markup

from reasoner.authoring.examples import NAME, determine_example, find_example
from reasoner.errors import NotFound
from reasoner.model import Determination
from reasoner.render.pathway import letter_pathway_svg
from reasoner.render.text import to_html

from ..deps import KnowledgeBaseDep, LiveDep
from ..problems import PROBLEM
from ..web.pages import HTML, not_found, page, wants_html

router = APIRouter(tags=["knowledge"])
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {HTML: {"schema": {"type": "string"}}}},  # and JSON: a browser gets the letter in the site
    404: {"description": "No such example, or none under that policy", "content": {PROBLEM: {}}},
}
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S)
_POLICY = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


def examples_folder(live: LiveDep) -> Path:
    """The examples beside the knowledge base the server was started from (its generations hold none)."""
    return live.source / "examples" / "cases"


ExamplesDep = Annotated[Path, Depends(examples_folder)]


def letter_body(html: str) -> Markup:
    """What is inside the letter's ``<body>`` (the letter escapes every value; its own page styles it alone)."""
    found = _BODY.search(html)
    return Markup(found.group(1) if found else html)  # noqa: S704 - rendered by the letter's template, autoescape on


@router.get(
    "/examples/{name}",
    summary="A bundled example case, determined",
    response_model=Determination,
    responses=_RESPONSES,
)
def get_example(
    kb: KnowledgeBaseDep,
    folder: ExamplesDep,
    request: Request,
    name: str = PathParam(..., pattern=NAME.pattern, description="the case file's name without its extension"),
    policy: str | None = Query(None, pattern=_POLICY, description="default: the first its expected file names"),
) -> Any:
    """The example determined under a policy its expected file names: the determination, or the letter."""
    if not wants_html(request):
        return determine_example(kb, folder, name, policy)
    try:
        determination = determine_example(kb, folder, name, policy)
        example = find_example(kb, folder, name)
    except NotFound as exc:
        return not_found(kb, "No such example", exc.message)
    chosen = determination.policy.id
    return page(
        "example.html.j2",
        kb,
        e=example,
        policy=chosen,
        policy_label=determination.policy.label,
        letter=letter_body(to_html(determination, pathway_svg=letter_pathway_svg(kb, determination))),
        section="knowledge",
    )
