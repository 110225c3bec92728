"""The HTTP API: routers translate HTTP to reasoner calls; no reasoning happens here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .main import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # FastAPI is imported with the app, not with the package: the command line's other commands never need it.
    if name == "create_app":
        from .main import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
