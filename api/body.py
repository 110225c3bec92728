"""Read a request body under a byte limit (the check happens while reading, not after)."""

from __future__ import annotations

from fastapi import Request
from starlette.requests import ClientDisconnect

from .problems import Problem


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, or a 413 problem as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        # The client left, or the server stopped waiting for the rest of the body (and answered 408 itself).
        raise Problem(408, "request-timeout", "Request timeout", "the request body did not arrive in time") from None
    return b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem(
        413, "body-too-large", "Request body too large", f"the request body is over the limit of {limit} bytes"
    )
