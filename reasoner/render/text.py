"""The render stage: a determination as JSON, a letter (Markdown, HTML) or RDF; a comparison side by side."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from reasoner.compare import Comparison
from reasoner.knowledge.cpt_descriptors import descriptor
from reasoner.model import Determination, RequestedLine
from reasoner.render import rdf as rdf_output
from reasoner.render.letter_facts import letter_facts
from reasoner.render.links import identifier_url
from reasoner.render.pathway import letter_pathway_svg

if TYPE_CHECKING:
    from jinja2 import Environment

    from reasoner.knowledge.base import KnowledgeBase

RenderFormat = Literal["json", "markdown", "html", "turtle", "json-ld"]
ComparisonFormat = Literal["json", "markdown", "html"]


def shown_label(line: RequestedLine) -> str:
    """A requested code's label in a letter: a licensed CPT descriptor where one is plugged in, else ours."""
    licensed = descriptor(line.code) if line.system == "CPT" else None
    return licensed or line.label


@functools.cache
def environments() -> tuple[Environment, Environment]:
    """The Markdown and the HTML template environments of every letter and page (jinja2 is imported on first use)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    markdown = Environment(
        loader=PackageLoader("reasoner.render", "templates"),
        undefined=StrictUndefined,
        autoescape=False,  # Markdown, not HTML; cells are escaped by the md filter
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    html = Environment(
        loader=PackageLoader("reasoner.render", "templates"),
        undefined=StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    markdown.filters["md"] = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    for env in (markdown, html):
        env.filters["url"] = identifier_url
        env.globals["letter_facts"] = letter_facts
        env.globals["shown_label"] = shown_label
    return markdown, html


def to_json(determination: Determination) -> str:
    """Stable, indented JSON (same determination, same bytes).

    pydantic's own serialiser: the bytes ``json.dumps(model_dump(mode="json"), indent=2,
    ensure_ascii=False)`` wrote, in a seventh of the time (tests/test_render_json.py holds them equal).
    """
    return determination.model_dump_json(indent=2) + "\n"


def to_markdown(determination: Determination, record: Mapping[str, Any] | None = None) -> str:
    """The determination as a reviewer's letter in Markdown (``record``: where a stored one stands)."""
    return environments()[0].get_template("letter.md.j2").render(d=determination, record=record)


def to_html(
    determination: Determination, record: Mapping[str, Any] | None = None, pathway_svg: str | None = None
) -> str:
    """The letter as a standalone HTML page (every value escaped); ``pathway_svg``: the marked pathway, trusted."""
    template = environments()[1].get_template("letter.html.j2")
    return template.render(d=determination, record=record, pathway_svg=pathway_svg)


def to_html_body(
    determination: Determination, record: Mapping[str, Any] | None = None, pathway_svg: str | None = None
) -> str:
    """The letter's body alone, from its ``h1`` (every value escaped), for a page with a layout of its own."""
    template = environments()[1].get_template("letter_body.html.j2")
    return template.render(d=determination, record=record, pathway_svg=pathway_svg)


def render(
    determination: Determination,
    fmt: RenderFormat,
    record: Mapping[str, Any] | None = None,
    kb: KnowledgeBase | None = None,
) -> str:
    """Render in the named format; a letter says where a stored determination stands (``record``).

    With the knowledge base the determination was made under (``kb``), the HTML letter draws the
    policy's pathway with the steps done, requested and next marked; without it, it has no diagram.
    """
    if fmt == "json":
        return to_json(determination)
    if fmt == "markdown":
        return to_markdown(determination, record)
    if fmt == "html":
        return to_html(determination, record, letter_pathway_svg(kb, determination) if kb else None)
    return rdf_output.determination_graph(determination).serialize(format=fmt)


def render_comparison(comparison: Comparison, fmt: ComparisonFormat) -> str:
    """A comparison (``--policy all``) as JSON, or as a side-by-side review in Markdown or HTML."""
    if fmt == "json":
        return comparison.model_dump_json(indent=2) + "\n"
    markdown, html = environments()
    env, name = (markdown, "comparison.md.j2") if fmt == "markdown" else (html, "comparison.html.j2")
    return env.get_template(name).render(c=comparison)
