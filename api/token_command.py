"""``guideline-reasoner token new``: a new bearer token, and the entry that configures it (by its SHA-256)."""

from __future__ import annotations

import hashlib
import json
import secrets
from enum import StrEnum
from typing import Annotated

import typer

from reasoner.cli import Command, Group

from .roles import Role, words

token_app = typer.Typer(
    cls=Group,
    help="Make bearer tokens for the HTTP API (see the README's 'Roles and tokens').",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class EntryFormat(StrEnum):
    """How the configuration entry is printed."""

    toml = "toml"
    json = "json"


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a TOML basic string (both escape with \\ and \"; \\u for the rest)


def entry(name: str, roles: list[Role], digest: str, form: EntryFormat) -> str:
    """The configuration entry for one token: a ``[[tokens]]`` table, or a JSON object for ``GR_TOKENS``'s list."""
    role_words = [role.value for role in Role if role in roles]
    if form is EntryFormat.json:
        return json.dumps({"name": name, "roles": role_words, "sha256": digest})
    listed = ", ".join(_toml_string(r) for r in role_words)
    return f"[[tokens]]\nname = {_toml_string(name)}\nroles = [{listed}]\nsha256 = {_toml_string(digest)}"


@token_app.command(cls=Command)
def new(
    name: Annotated[str, typer.Option(metavar="NAME", help="Who holds the token (an app, a reviewer...).")],
    role: Annotated[
        list[Role],
        typer.Option(metavar="ROLE", help=f"A role the token grants ({words(Role)}); repeat for several."),
    ],
    form: Annotated[
        EntryFormat,
        typer.Option("--format", metavar="toml|json", help="The entry for GR_TOKENS_FILE (toml) or GR_TOKENS (json)."),
    ] = EntryFormat.toml,
) -> None:
    """Print a new token, once, on standard error, and on standard output the entry that configures it.

    The entry holds the token's SHA-256 only, so '>> tokens.toml' appends it as it is; the token
    itself is stored nowhere: give it to its holder now.
    """
    if not name.strip():
        raise typer.BadParameter("must not be empty", param_hint="--name")
    token = secrets.token_urlsafe(32)
    digest = hashlib.sha256(token.encode()).hexdigest()
    typer.echo(f"token for {name} (shown once, stored nowhere): {token}", err=True)
    typer.echo(entry(name, role, digest, form))
