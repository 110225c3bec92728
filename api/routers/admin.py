"""POST /admin/reload: rebuild the knowledge base from its files (off unless some token has the admin role)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ..auth import AdminPrincipal, Role, get_credentials
from ..deps import LiveDep
from ..problems import Problem
from ..tokens import Credentials

router = APIRouter(tags=["admin"])


def reload_enabled(credentials: Annotated[Credentials, Depends(get_credentials)]) -> None:
    """404 unless a token with the admin role is configured: reload is never open, on loopback neither."""
    if not credentials.grants({Role.ADMIN}):
        raise Problem(404, "not-found", "Not Found", "Not Found")


# The route's own dependencies run before its parameters': 404 before any 401 or 403.
@router.post(
    "/admin/reload",
    summary="Reload the knowledge base",
    include_in_schema=False,
    dependencies=[Depends(reload_enabled)],
)
async def reload(live: LiveDep, _admin: AdminPrincipal) -> Any:
    """Lint and load the knowledge base beside the live one and publish it to every worker; a failing one is refused.

    200 ``reloaded`` (every answer any worker gives after this one comes from the new generation) or
    ``unchanged`` (the files are the live generation's); 409 ``refused`` with the findings.
    """
    result = await run_in_threadpool(live.reload)
    return JSONResponse(result, status_code=409 if result["status"] == "refused" else 200)
