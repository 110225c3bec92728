"""Who is asking, and which roles they hold: a STAND-IN with the interface of the real module.

The real one (another branch) authenticates the request; this one lets everyone in as a local
principal with every role but ``admin``, so that routes declaring a role compile and run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends


class Role(StrEnum):
    """What a principal may do."""

    APP = "app"
    REVIEWER = "reviewer"
    ANALYST = "analyst"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking; ``open``: no authentication is configured (a local server)."""

    name: str
    roles: frozenset[Role]
    open: bool


def require(*roles: Role) -> Callable[[], Principal]:
    """A dependency giving the principal (the stand-in never refuses)."""

    def dependency() -> Principal:
        return Principal("local", frozenset(r for r in Role if r is not Role.ADMIN), True)

    return dependency


AnalystPrincipal = Annotated[Principal, Depends(require(Role.ANALYST))]
