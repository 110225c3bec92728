"""Dependencies: the knowledge base, the SPARQL service and the settings, from the app's state.

Those that never block are ``async``: FastAPI runs a plain ``def`` dependency in its thread pool,
one hand-off there and back for each, on every request (bench/README.md, issue 21).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from reasoner import KnowledgeBase
from reasoner.sparql.service import SparqlService
from reasoner.store import DeterminationStore

from .problems import Problem
from .reload import LiveKnowledge
from .settings import Settings


async def get_kb(request: Request) -> KnowledgeBase:
    """The current generation's knowledge base, read once per request (a reload never mixes into an answer).

    The response then names it (``X-Knowledge-Base``, ``X-Knowledge-Base-Generation``). Only when
    another worker has published a generation is it loaded, in the thread pool.
    """
    live: LiveKnowledge = request.state.live
    state = live.loaded()
    kb, generation = state if state is not None else await run_in_threadpool(live.current)
    request.state.knowledge_base = (kb.content_hash, generation.number)
    return kb


async def get_live(request: Request) -> LiveKnowledge:
    """The holder of the live knowledge base (for reload and /version)."""
    live: LiveKnowledge = request.state.live
    return live


def get_sparql(request: Request) -> SparqlService:
    """The SPARQL service, serving the current generation (loaded first if another worker published it).

    The request's SPARQL deadline counts from here (``request.state.sparql_arrived``), so a wait for
    the service to load a generation comes out of it too.
    """
    arrived = request.state.sparql_arrived = time.monotonic()
    live: LiveKnowledge = request.state.live
    kb, generation = live.current()
    request.state.knowledge_base = (kb.content_hash, generation.number)
    return live.sparql_for(generation, deadline=arrived + live.sparql.timeout)


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.state.settings
    return settings


async def get_store(request: Request) -> DeterminationStore:
    """The determination store; a 404 when the server keeps no determinations (``GR_STORE=false``)."""
    store: DeterminationStore | None = request.state.store
    if store is None:
        raise Problem(404, "not-kept", "Determinations are not kept", "this server keeps no determinations (GR_STORE)")
    return store


async def get_optional_store(request: Request) -> DeterminationStore | None:
    """The determination store, or None when the server keeps no determinations."""
    store: DeterminationStore | None = request.state.store
    return store


KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(get_kb)]
LiveDep = Annotated[LiveKnowledge, Depends(get_live)]
SparqlDep = Annotated[SparqlService, Depends(get_sparql)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[DeterminationStore, Depends(get_store)]
OptionalStoreDep = Annotated[DeterminationStore | None, Depends(get_optional_store)]
