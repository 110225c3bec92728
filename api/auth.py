"""Stand-in for the roles-and-tokens module (replaced when it lands)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends


class Role(StrEnum):
    """A caller's role."""

    APP = "app"
    REVIEWER = "reviewer"
    ANALYST = "analyst"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who calls, with which roles."""

    name: str
    roles: frozenset[Role]
    open: bool


def require(*roles: Role) -> Callable[[], Principal]:
    """A dependency giving the caller (until tokens land: everyone, open)."""

    def dependency() -> Principal:
        return Principal("local", frozenset({Role.APP, Role.REVIEWER, Role.ANALYST}), True)

    return dependency


AppPrincipal = Annotated[Principal, Depends(require(Role.APP))]
ReviewerPrincipal = Annotated[Principal, Depends(require(Role.REVIEWER))]
AnalystPrincipal = Annotated[Principal, Depends(require(Role.ANALYST))]
