"""The ``guideline-reasoner`` command: reasoner's commands (reasoner/cli.py), ``serve`` and ``token``.

``serve`` needs the web layer, and ``reasoner`` imports nothing from ``api``; so the console
script is this module's ``app``, the reasoner's own with these commands added. The web layer
(FastAPI, uvicorn) is imported by ``serve`` only: every other command starts without it.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from api.token_command import token_app
from reasoner.cli import Command, DataOption, KbOption, StoreUrlOption, app, fail
from reasoner.errors import KnowledgeBaseError
from reasoner.knowledge.base import KnowledgeBase, default_root
from reasoner.knowledge.files import KnowledgeFiles
from reasoner.store import StoreError
from reasoner.store import cli as store_commands
from reasoner.store.location import default_data_dir, open_store

__all__ = ["app", "store_commands"]  # store_commands: show, review, export and import, on app

app.add_typer(token_app, name="token")

NO_TOKENS_ON_A_NETWORK = (
    "no tokens are configured, so the API is open to loopback clients only, and {host} is not a loopback "
    "address: make a token with 'guideline-reasoner token new --name NAME --role ROLE' and put its entry in "
    "the file named by GR_TOKENS_FILE (or the JSON list in GR_TOKENS), or serve on 127.0.0.1"
)


def _check_tokens(host: str) -> None:
    """Refuse a token configuration that is wrong, or none on an address other machines reach."""
    from api import tokens
    from api.auth import is_loopback
    from api.settings import Settings

    try:
        credentials = tokens.load(Settings())
    except tokens.TokenConfigError as exc:
        raise fail(exc.message, 2) from None
    if credentials.open and not (host == "localhost" or is_loopback(host)):
        raise fail(NO_TOKENS_ON_A_NETWORK.format(host=host), 2)


@app.command(cls=Command)
def serve(
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, metavar="N", help="Worker processes (supervised: a worker that dies is replaced).")
    ] = 1,
    kb_dir: KbOption = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            envvar="GR_STATE_DIR",
            metavar="DIR",
            help="Folder for the knowledge-base generations the workers share; default: a temporary one.",
        ),
    ] = None,
    data: DataOption = None,
    store_url: StoreUrlOption = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Keep no determinations (nothing is stored; GET /determinations is 404).")
    ] = False,
) -> None:
    """Serve the HTTP API (uvicorn) on the knowledge base, once it lints and loads clean.

    The tokens and the files are checked here, then the files are published as a generation that
    every worker loads; a reload (POST /admin/reload) publishes the next one to all workers. Without
    tokens the API is open to loopback clients only, so another address is refused.
    """
    import uvicorn.config

    from api import server
    from api.generations import Generations

    _check_tokens(host)
    source = (kb_dir or default_root()).resolve()
    files = KnowledgeFiles.read(source)
    try:
        KnowledgeBase.from_files(files)  # lint and the load's own checks: fail closed before any worker starts
    except KnowledgeBaseError as exc:
        raise fail(exc.message, 3) from None
    if not no_store:
        _check_store(data, store_url, workers)
    state = state_dir or Path(tempfile.mkdtemp(prefix="guideline-reasoner-state-"))
    generations = Generations(state)
    current = generations.current()
    if current is None or current.content_hash != files.content_hash:
        generations.publish(files)
    os.environ["GR_KB_DIR"] = str(source)
    os.environ["GR_STATE_DIR"] = str(state)
    os.environ["GR_STORE"] = "false" if no_store else "true"
    if data is not None:
        os.environ["GR_DATA_DIR"] = str(data.resolve())
    if store_url is not None:
        os.environ["GR_STORE_URL"] = store_url
    if os.environ.get("GR_TOKENS_FILE"):  # the workers read it as this process did, wherever they run
        os.environ["GR_TOKENS_FILE"] = str(Path(os.environ["GR_TOKENS_FILE"]).resolve())
    # No access log from uvicorn: it records query strings. The app logs method, path and status.
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["guideline_reasoner"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    # From here the server's logging names each knowledge base a worker loads (as it does every other line).
    log_config["loggers"]["guideline_reasoner.kb"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    try:
        server.serve(host=host, port=port, workers=workers, log_config=log_config)
    finally:
        if state_dir is None:
            shutil.rmtree(state, ignore_errors=True)


def _check_store(data: Path | None, store_url: str | None, workers: int) -> None:
    """Fail before any worker starts when the store named cannot serve them."""
    if store_url is None and workers > 1:
        raise fail(
            f"the embedded store ({data or default_data_dir()}) is opened by one process, and --workers {workers} "
            "starts several: keep determinations in a SPARQL store (--store-url http://127.0.0.1:7878 with "
            "`oxigraph serve --location DIR`), or run with --no-store",
            2,
        )
    try:
        open_store(store_url or data).close()
    except StoreError as exc:
        raise fail(exc.message, 2) from None


if __name__ == "__main__":  # pragma: no cover
    app()
