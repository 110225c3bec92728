"""POST /admin/reload: rebuild the knowledge base from its files (off unless a token is configured)."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ..deps import LiveDep, SettingsDep
from ..problems import Problem

router = APIRouter(tags=["admin"])


@router.post("/admin/reload", summary="Reload the knowledge base", include_in_schema=False)
async def reload(request: Request, live: LiveDep, settings: SettingsDep) -> Any:
    """Lint and load the knowledge base beside the live one and publish it to every worker; a failing one is refused.

    200 ``reloaded`` (every answer any worker gives after this one comes from the new generation) or
    ``unchanged`` (the files are the live generation's); 409 ``refused`` with the findings.
    """
    if not settings.admin_token:
        raise Problem(404, "not-found", "Not Found", "Not Found")
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {settings.admin_token}".encode()):
        raise Problem(401, "unauthorized", "Unauthorized", "a valid bearer token is required")
    result = await run_in_threadpool(live.reload)
    return JSONResponse(result, status_code=409 if result["status"] == "refused" else 200)
