"""Options and the error exit commands share (here so that a command outside reasoner/cli.py can use them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        envvar="GR_DATA_DIR",
        metavar="DIR",
        help="Folder of the embedded determination store (created on first use). "
        "Default: $XDG_DATA_HOME/guideline-reasoner (~/.local/share/guideline-reasoner).",
    ),
]
StoreUrlOption = Annotated[
    str | None,
    typer.Option(
        "--store-url",
        envvar="GR_STORE_URL",
        metavar="URL",
        help="A SPARQL 1.1 store to keep determinations in instead (e.g. oxigraph serve's http://127.0.0.1:7878).",
    ),
]


def fail(message: str, code: int) -> typer.Exit:
    """Print ``error: message`` on stderr; raise what this returns to exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
