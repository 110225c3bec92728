"""The FastAPI application: create_app() wires settings, the knowledge base, routers and errors."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

import reasoner
from reasoner.knowledge.base import default_root
from reasoner.store import DeterminationStore
from reasoner.store.location import default_data_dir, open_store

from . import docs, problems, tokens
from . import openapi as openapi_document
from .middleware import GuardedFastAPI
from .reload import LiveKnowledge
from .routers import admin, analytics, cds_hooks, determinations, health, knowledge, metadata, pas, sparql, stored
from .settings import Settings
from .web import review as web_review
from .web import routes as web_routes
from .web import signin as web_signin

log = logging.getLogger("guideline_reasoner.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application; the knowledge base is loaded once, when it starts.

    Raises:
        tokens.TokenConfigError: the token configuration is wrong (before anything is loaded).
    """
    settings = settings or Settings()
    credentials = tokens.load(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        log.info("%s", credentials.describe())
        live = await run_in_threadpool(LiveKnowledge.start, settings, (settings.kb_dir or default_root()).resolve())
        try:
            store = await run_in_threadpool(_open_store, settings)
        except BaseException:
            live.stop()
            raise
        gc.collect()
        gc.freeze()  # the knowledge base lives as long as the process: keep the collector off it
        try:
            yield {"live": live, "settings": settings, "store": store, "credentials": credentials}
        finally:
            live.stop()
            if store is not None:
                store.close()

    app = GuardedFastAPI(
        title="guideline-reasoner",
        version=reasoner.__version__,
        description="Decide whether a requested procedure meets a policy's criteria, and explain why.",
        lifespan=lifespan,
        docs_url=None,  # docs.install serves /docs and /redoc with local assets
        redoc_url=None,
    )
    problems.install(app)
    docs.install(app)
    for module in (determinations, stored, pas, metadata, cds_hooks, knowledge, sparql, analytics, health, admin):
        app.include_router(module.router)
    app.include_router(web_routes.router)
    app.include_router(web_signin.router)  # /review/sign-in before /review/{ident}
    app.include_router(web_review.router)
    app.mount("/static", StaticFiles(packages=[("api.web", "static")]), name="static")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_document.build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to replace the document
    return app


def _open_store(settings: Settings) -> DeterminationStore | None:
    """The store the settings name, or None when determinations are not kept."""
    if not settings.store:
        return None
    store = open_store(settings.store_url or settings.data_dir)
    where = settings.store_url or str(settings.data_dir or default_data_dir())
    log.info("determinations are kept in %s", where)
    finished = store.project_pending()  # the RDF a stopped server had not written yet
    if finished:
        log.info("wrote the RDF of %d determinations kept before a stop", finished)
    return store


def app_factory() -> FastAPI:
    """For ``uvicorn --factory api.main:app_factory`` (settings from the environment)."""
    return create_app()
