"""The prior-authorization report (reasoner/analytics/report.py) as a Markdown table or an HTML page."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from reasoner.model import UNJUDGED
from reasoner.render.text import environments

if TYPE_CHECKING:
    from jinja2 import Environment


def span(seconds: float | None) -> str:
    """A time to decision in words: ``-`` for none, else seconds, minutes, hours or days."""
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"


@functools.cache  # the shared environments, with this module's filter: added once
def _environments() -> tuple[Environment, Environment]:
    markdown, html = environments()
    for env in (markdown, html):
        env.filters["span"] = span
    return markdown, html


def to_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables: totals, per policy, per requested code."""
    return _environments()[0].get_template("report.md.j2").render(r=report, rows=_rows(report, "**Total**"))


def to_html(report: dict[str, Any]) -> str:
    """The report as a standalone HTML page (every value escaped)."""
    return _environments()[1].get_template("report.html.j2").render(r=report, rows=_rows(report, "Total"))


def _rows(report: dict[str, Any], total: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (total, report["totals"]),
        *((_policy(p["policy"]), p) for p in report["policies"]),
        *((f"code {c['code']}", c) for c in report["codes"]),
    ]


def _policy(ident: str) -> str:
    # What is kept of a PAS request no policy could judge names the policy UNJUDGED.
    return "no policy (PAS requests no policy could judge)" if ident == UNJUDGED else f"policy {ident}"
