"""The FastAPI application: create_app() wires settings, the knowledge base, routers and errors."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from starlette.concurrency import run_in_threadpool

import reasoner
from reasoner import KnowledgeBase
from reasoner.case_json import CaseIn
from reasoner.kb import default_root
from reasoner.sparql import SparqlService

from . import problems
from .reload import LiveKnowledge
from .routers import admin, cds_hooks, determinations, health, knowledge, pas, sparql
from .settings import Settings

access_log = logging.getLogger("guideline_reasoner.access")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application; the knowledge base is loaded once, when it starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        kb = await run_in_threadpool(KnowledgeBase.load, settings.kb_dir)
        gc.collect()
        gc.freeze()  # the knowledge base lives as long as the process: keep the collector off it
        service = SparqlService(
            str(settings.kb_dir or default_root()),
            timeout=settings.sparql_timeout_s,
            max_rows=settings.sparql_max_rows,
            memory_mb=settings.sparql_memory_mb,
            concurrency=settings.sparql_concurrency,
            queue_wait=settings.sparql_queue_wait_s,
        )
        await run_in_threadpool(service.start)
        live = LiveKnowledge(kb, kb.root, service)
        yield {"live": live, "sparql": service, "settings": settings}

    app = FastAPI(
        title="guideline-reasoner",
        version=reasoner.__version__,
        description="Decide whether a requested procedure meets a policy's criteria, and explain why.",
        lifespan=lifespan,
    )
    problems.install(app)
    for module in (determinations, pas, cds_hooks, knowledge, sparql, health, admin):
        app.include_router(module.router)

    @app.middleware("http")
    async def log_access(request: Request, call_next: Any) -> Any:
        # Method, path and status only: no query string, no body (cases are PHI; threats.md H).
        start = time.perf_counter()
        response = await call_next(request)
        access_log.info(
            "%s %s %s %.1fms",
            request.method,
            request.scope.get("path", ""),
            response.status_code,
            (time.perf_counter() - start) * 1000,
        )
        return response

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            case_schema = CaseIn.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(case_schema.pop("$defs", {}))
            components["CaseIn"] = case_schema
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def app_factory() -> FastAPI:
    """For ``uvicorn --factory api.main:app_factory`` (settings from the environment)."""
    return create_app()
