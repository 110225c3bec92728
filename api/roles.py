"""The roles of the HTTP API, in their fixed order (api/auth.py gives them to principals, api/tokens.py to tokens)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    """What a principal may do; a route names the roles any one of which suffices."""

    APP = "app"
    REVIEWER = "reviewer"
    ANALYST = "analyst"
    ADMIN = "admin"


# A loopback client's roles when no tokens are configured: never admin.
LOCAL_ROLES = frozenset({Role.APP, Role.REVIEWER, Role.ANALYST})


def words(roles: Iterable[Role]) -> str:
    """Roles in their fixed order, as words: ``app, reviewer``."""
    chosen = set(roles)
    return ", ".join(role.value for role in Role if role in chosen)
