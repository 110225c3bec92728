"""The store's commands: ``show``, ``review``, ``export`` and ``import`` (api/cli.py registers them).

Each opens the store named by ``--store-url`` or ``--data`` (else ``$GR_DATA_DIR``, else the user's
data folder). An embedded store in use by a running server cannot be opened: the message says to
use the server's HTTP API.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from reasoner.cli import Command, DataOption, StoreUrlOption, app, fail
from reasoner.model import Outcome
from reasoner.render.text import render
from reasoner.store.base import DeterminationStore
from reasoner.store.location import open_store
from reasoner.store.records import ReviewAction, ReviewIn, Stored, StoreError


@contextmanager
def opened(where: str | Path | None) -> Iterator[DeterminationStore]:
    """The store at ``where``, closed after; a store that cannot be opened exits 2 naming why."""
    try:
        store = open_store(where)
    except StoreError as exc:
        raise fail(exc.message, 2) from None
    try:
        yield store
    except StoreError as exc:
        raise fail(exc.message, 2) from None
    finally:
        store.close()


class ShowFormat(StrEnum):
    """How a kept determination is printed."""

    json = "json"
    markdown = "markdown"
    html = "html"
    turtle = "turtle"


@app.command(cls=Command)
def show(
    ident: Annotated[str, typer.Argument(metavar="ID", help="The determination's id.")],
    output: Annotated[ShowFormat, typer.Option("--format", "-f", help="Output format.")] = ShowFormat.markdown,
    case: Annotated[bool, typer.Option("--case", help="Print the case kept with it instead (patient data).")] = False,
    data: DataOption = None,
    store_url: StoreUrlOption = None,
) -> None:
    """Print a kept determination with its status and reviews (JSON: with its record), or its case."""
    with opened(store_url or data) as store:
        stored = _get(store, ident)
        if case:
            kept = store.case(ident)
            if kept is None:
                raise fail(f"no case is kept with determination {ident}", 2)
            typer.echo(kept.text, nl=not kept.text.endswith("\n"))
            return
        reviews = store.reviews(ident, reasons=True)
    typer.echo(f"{ident}: {stored.status.value}; digest {stored.digest}", err=True)  # what a review names
    if output is ShowFormat.json:
        typer.echo(stored.with_record(reviews))
    else:
        typer.echo(render(stored.determination(), output.value, stored.record(reviews)), nl=False)  # type: ignore[arg-type]


@app.command(cls=Command)
def review(
    ident: Annotated[str, typer.Argument(metavar="ID", help="The determination's id.")],
    action: Annotated[ReviewAction, typer.Option("--action", help="uphold, overturn or modify.")],
    reviewer: Annotated[str, typer.Option("--reviewer", metavar="NAME", help="Who reviews.")],
    digest: Annotated[
        str,
        typer.Option("--digest", metavar="DIGEST", help="The digest of the determination reviewed (`show` prints it)."),
    ],
    outcome: Annotated[
        Outcome | None, typer.Option("--outcome", help="The reviewer's outcome (to overturn or modify).")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", metavar="TEXT", help="Why (to overturn or modify).")] = None,
    data: DataOption = None,
    store_url: StoreUrlOption = None,
) -> None:
    """Record a clinician's review of a kept determination; prints where it now stands.

    Exit 2 when the review cannot stand: no reason to overturn or modify, no outcome, a digest that
    is not the kept determination's (it was replaced since it was read).
    """
    with opened(store_url or data) as store:
        _get(store, ident)
        after = store.review(ident, ReviewIn(action, reviewer, digest, outcome.value if outcome else None, reason))
    typer.echo(f"{ident}: {after.status.value}; final outcome {after.final_outcome}")


@app.command("export", cls=Command)
def export_store(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to FILE (default: standard output).")
    ] = None,
    data: DataOption = None,
    store_url: StoreUrlOption = None,
) -> None:
    """Write everything kept as N-Quads, for a backup (cases included: the file is patient data)."""
    with opened(store_url or data) as store:
        dump = store.export()
    if output is None:
        sys.stdout.buffer.write(dump)
    else:
        output.write_bytes(dump)


@app.command("import", cls=Command)
def import_store(
    source: Annotated[Path, typer.Argument(metavar="FILE", help="N-Quads written by export.")],
    data: DataOption = None,
    store_url: StoreUrlOption = None,
) -> None:
    """Restore N-Quads written by export into the store (what is there already stays)."""
    if not source.is_file():
        raise fail(f"{source}: no such file", 2)
    with opened(store_url or data) as store:
        count = store.import_(source.read_bytes())
    typer.echo(f"{count} determinations kept", err=True)


def _get(store: DeterminationStore, ident: str) -> Stored:
    try:
        stored = store.get(ident)
    except ValueError:
        stored = None
    if stored is None:
        raise fail(f"no determination {ident} is kept", 2)
    return stored
