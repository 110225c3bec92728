"""The server's own app with one route added, ``POST /bench/noop``: the floor a route cannot go below.

The no-op reads the body and answers ``{}``; it runs in the same app (middleware, problem
handlers), the same uvicorn protocol and the same worker settings as ``POST /determinations``,
so the ratio of the two is what the route itself costs. Run as the command line's ``serve``:

    python -m bench.http_app serve --port 8000 --workers 2 --no-store
"""

from __future__ import annotations

import functools
import sys

from fastapi import FastAPI, Request, Response

NOOP = "/bench/noop"


async def noop(request: Request) -> Response:
    """Read the body, answer ``{}``."""
    await request.body()
    return Response(b"{}\n", media_type="application/json")


def app_factory() -> FastAPI:
    """``api.main.app_factory`` with :data:`NOOP`."""
    from api.main import app_factory as real

    app = real()
    app.add_api_route(NOOP, noop, methods=["POST"], include_in_schema=False)
    return app


def main(argv: list[str]) -> None:
    """``guideline-reasoner`` with every worker serving :func:`app_factory`."""
    from api import server
    from api.cli import app

    server.serve = functools.partial(server.serve, app="bench.http_app:app_factory")  # type: ignore[assignment]
    app(argv, prog_name="guideline-reasoner")


if __name__ == "__main__":
    main(sys.argv[1:])
