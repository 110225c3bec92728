"""GET /health and GET /version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

import reasoner

from ..deps import LiveDep

router = APIRouter(tags=["service"])


@router.get("/health", summary="Liveness")
async def health() -> dict[str, str]:
    """Answers at once; it never waits for a determination or a query."""
    return {"status": "ok"}


@router.get("/version", summary="Versions")
def version(live: LiveDep) -> dict[str, Any]:
    """The application version, the live knowledge base's hash and policies, and the last refused reload."""
    kb = live.kb
    out: dict[str, Any] = {
        "version": reasoner.__version__,
        "knowledgeBase": kb.content_hash,
        "policies": [{"id": p.id, "version": p.version} for p in sorted(kb.policies.values(), key=lambda p: p.id)],
    }
    if live.refused is not None:
        out["refusedReload"] = live.refused
    return out
