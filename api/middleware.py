"""The outermost layer of every request: an id, one access-log line, the knowledge-base headers, no leaked tracebacks.

Starlette's ``ServerErrorMiddleware`` answers an unhandled exception with our 500 handler and then
re-raises it, and the server logs the re-raised exception with its traceback, whose frames can
hold request data (a case is PHI). Wrapping the whole middleware stack (``GuardedFastAPI``, the
one place that reaches into how Starlette builds it) stops the exception there: the handler has
logged its type and the request id, and nothing more is written.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("guideline_reasoner.access")
log = logging.getLogger("guideline_reasoner.api")


class RequestContext:
    """Per HTTP request: an id, one access-log line, and the headers naming the knowledge base that answered.

    The id is ``X-Request-ID`` on the response and in the log line; the knowledge base is
    ``X-Knowledge-Base`` (its hash) and ``X-Knowledge-Base-Generation``, set by the dependencies.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                knowledge_base = state.get("knowledge_base")
                if knowledge_base is not None:
                    headers["X-Knowledge-Base"] = knowledge_base[0]
                    headers["X-Knowledge-Base-Generation"] = str(knowledge_base[1])
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:  # noqa: BLE001 - answered (500) and logged by type and request id already
            if status == 0:  # an error before any response: answer it here
                await _internal_error(send_with_headers, request_id)
        finally:
            # Method, route and status only: no query string, no body, not even the path, which can
            # carry an identifier or forge a log line (cases are PHI; docs/threats.md H).
            access_log.info(
                "%s %s %s %.1fms %s",
                scope.get("method", ""),
                _route(scope),
                status or 500,
                (time.perf_counter() - started) * 1000,
                request_id,
            )


def _route(scope: Scope) -> str:
    """The template of the route that answered (``/policies/{policy_id}``), or ``-`` when none did."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "-"


async def _internal_error(send: Send, request_id: str) -> None:
    from .problems import problem_response

    response = problem_response(
        500, "internal", "Internal error", "an internal error occurred; it has been logged", requestId=request_id
    )
    await send({"type": "http.response.start", "status": 500, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


class GuardedFastAPI(FastAPI):
    """FastAPI with :class:`RequestContext` around its whole middleware stack, error middleware included."""

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack, wrapped."""
        stack: Any = super().build_middleware_stack()
        return RequestContext(stack)
