"""A replay's summary (reasoner/replay/summary.py) as Markdown or a standalone HTML page, for a policy committee."""

from __future__ import annotations

from typing import Any

from reasoner.render.text import environments


def to_markdown(summary: dict[str, Any]) -> str:
    """The summary as Markdown: the counts, then a table per section."""
    return environments()[0].get_template("replay.md.j2").render(s=summary)


def to_html(summary: dict[str, Any]) -> str:
    """The summary as a standalone HTML page (every value escaped)."""
    return environments()[1].get_template("replay.html.j2").render(s=summary)
