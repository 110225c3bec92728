"""The HTTP API: routers translate HTTP to reasoner calls; no reasoning happens here."""

from .main import create_app

__all__ = ["create_app"]
