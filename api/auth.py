"""Who may call a route: roles, the principal a bearer token names, and ``require`` for routes.

Apps submit and read their own answers, reviewers read cases and sign, analysts query
determinations (never case facts), the admin reloads. Tokens are configured by their SHA-256
(api/tokens.py). With none configured the API is open to loopback clients only, as ``local`` with
every role but admin; a presented token is always checked, even then.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from .problems import Problem
from .roles import LOCAL_ROLES, Role, words
from .tokens import Credentials

__all__ = [
    "AdminPrincipal",
    "AnalystPrincipal",
    "AppPrincipal",
    "Principal",
    "ReviewerPrincipal",
    "Role",
    "get_credentials",
    "is_loopback",
    "require",
]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a configured token's holder, or ``local`` (``open``: no tokens configured, a loopback client)."""

    name: str
    roles: frozenset[Role]
    open: bool


LOCAL = Principal("local", LOCAL_ROLES, open=True)
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def get_credentials(request: Request) -> Credentials:
    """The tokens the app was created with."""
    credentials: Credentials = request.state.credentials
    return credentials


def is_loopback(host: str | None) -> bool:
    """Whether an address (not a name) is loopback: 127.0.0.0/8, ::1, or 127.x written as IPv6."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback  # Python 3.11 calls ::ffff:127.0.0.1 not loopback
    return address.is_loopback


def _bearer(request: Request) -> bytes | None:
    """The presented token's bytes, b"" for an Authorization that is no bearer token, None for none."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return b""
    return token.encode("latin-1")  # the header's own bytes (Starlette decodes headers as latin-1)


def _needs(needed: frozenset[Role]) -> str:
    return f"the role {words(needed)}" if len(needed) == 1 else f"one of the roles {words(needed)}"


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Unauthorized", detail, headers=CHALLENGE)


def _forbidden(needed: frozenset[Role], detail: str) -> Problem:
    return Problem(403, "forbidden", "Forbidden", detail, requiredRoles=[r.value for r in Role if r in needed])


def authenticate(request: Request, needed: frozenset[Role], cookie: str | None = None) -> Principal:
    """The principal for a request to a route that needs one of ``needed``; a ``Problem`` (401, 403) otherwise.

    ``cookie``: the name of a cookie whose value is taken as the token when no Authorization is sent
    (the review pages' sign-in, api/web/signin.py); other routes pass none and never read cookies.
    """
    credentials = get_credentials(request)
    token = _bearer(request)
    if token is None and cookie is not None and request.cookies.get(cookie):
        token = request.cookies[cookie].encode()  # sign-in takes printable ASCII only
    if token is None:
        loopback = is_loopback(request.client.host if request.client else None)
        if credentials.open and loopback and needed & LOCAL_ROLES:
            return LOCAL
        if not credentials.open or credentials.grants(needed):
            raise _unauthorized(f"a bearer token with {_needs(needed)} is required")
        if not loopback:
            raise _forbidden(
                needed, "no tokens are configured: the API is open to loopback clients only (see 'Roles and tokens')"
            )
        raise _forbidden(needed, f"this needs {_needs(needed)}, which no configured token has")
    holder = credentials.find(token) if token else None
    if holder is None:
        raise _unauthorized("the bearer token is not one this server knows")
    if not holder.roles & needed:
        raise _forbidden(needed, f"this needs {_needs(needed)}; the token of {holder.name} has {words(holder.roles)}")
    return Principal(holder.name, holder.roles, open=False)


def require(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency giving the caller's ``Principal`` if it has any one of ``roles``; 401 or 403 otherwise."""
    if not roles:
        raise ValueError("require() needs at least one role")
    needed = frozenset(roles)

    async def principal(request: Request) -> Principal:
        return authenticate(request, needed)

    return principal


AppPrincipal = Annotated[Principal, Depends(require(Role.APP))]
ReviewerPrincipal = Annotated[Principal, Depends(require(Role.REVIEWER))]
AnalystPrincipal = Annotated[Principal, Depends(require(Role.ANALYST))]
AdminPrincipal = Annotated[Principal, Depends(require(Role.ADMIN))]
