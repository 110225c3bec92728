"""``guideline-reasoner report``: prior-authorization metrics of kept determinations (registered in reasoner/cli.py)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from reasoner.cli_options import DataOption, StoreUrlOption


class ReportFormat(StrEnum):
    """How the report is printed."""

    json = "json"
    markdown = "markdown"
    html = "html"


def report(
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="DATE", help="Only determinations stored at or after DATE (ISO 8601; UTC if no offset)."
        ),
    ] = None,
    output: Annotated[ReportFormat, typer.Option("--format", "-f", help="json, markdown or html.")] = (
        ReportFormat.markdown
    ),
    data: DataOption = None,
    store_url: StoreUrlOption = None,
) -> None:
    """Print the prior-authorization metrics of kept determinations: counts and times to decision."""
    # Imported here: the analytics read the store with SPARQL, whose parser every other command can do without.
    from reasoner.analytics.report import parse_since
    from reasoner.analytics.report import report as build_report
    from reasoner.render.report import to_html, to_markdown
    from reasoner.store import StoreError
    from reasoner.store.location import open_store

    try:
        start = parse_since(since) if since is not None else None
        store = open_store(store_url or data)
    except (ValueError, StoreError) as exc:
        typer.echo(f"error: {'--since: ' + str(exc) if isinstance(exc, ValueError) else exc.message}", err=True)
        raise typer.Exit(2) from None
    try:
        figures = build_report(store, start)
    finally:
        store.close()
    if output is ReportFormat.json:
        typer.echo(json.dumps(figures, indent=2))
    else:
        typer.echo(to_markdown(figures) if output is ReportFormat.markdown else to_html(figures), nl=False)
