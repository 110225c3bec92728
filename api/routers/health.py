"""GET /health and GET /version."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Request

import reasoner

from ..deps import LiveDep
from ..models import Health, VersionInfo

router = APIRouter(tags=["service"])


@router.get("/health", summary="Liveness", response_model=Health)
async def health() -> dict[str, str]:
    """Answers at once; it never waits for a determination or a query."""
    return {"status": "ok"}


@router.get("/version", summary="Versions", response_model=VersionInfo, response_model_exclude_none=True)
def version(request: Request, live: LiveDep) -> dict[str, Any]:
    """The application version, the knowledge base's hash, generation and policies, and the last refused reload.

    ``worker`` is the process that answered: each worker of a server answers from the same generation.
    """
    kb, generation = live.current()
    request.state.knowledge_base = (kb.content_hash, generation.number)
    out: dict[str, Any] = {
        "version": reasoner.__version__,
        "knowledgeBase": kb.content_hash,
        "generation": generation.number,
        "published": generation.published,
        "worker": os.getpid(),
        "policies": [{"id": p.id, "version": p.version} for p in sorted(kb.policies.values(), key=lambda p: p.id)],
    }
    refused = live.refused()
    if refused is not None:
        out["refusedReload"] = refused
    return out
