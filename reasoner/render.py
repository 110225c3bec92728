"""The render stage: a determination as JSON or as a Markdown letter."""

from __future__ import annotations

import json
from typing import Literal

from jinja2 import Environment, PackageLoader, StrictUndefined

from .determination import Determination

RenderFormat = Literal["json", "markdown"]

_ENV = Environment(
    loader=PackageLoader("reasoner", "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # Markdown, not HTML; cells are escaped by the md filter
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters["md"] = lambda text: str(text).replace("|", "\\|").replace("\n", " ")


def to_json(determination: Determination) -> str:
    """Stable, indented JSON (same determination, same bytes)."""
    return json.dumps(determination.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def to_markdown(determination: Determination) -> str:
    """The determination as a reviewer's letter in Markdown."""
    return _ENV.get_template("letter.md.j2").render(d=determination)


def render(determination: Determination, fmt: RenderFormat) -> str:
    """Render in the named format."""
    return to_json(determination) if fmt == "json" else to_markdown(determination)
