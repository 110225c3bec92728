"""What a response says of a kept determination, and who reads which."""

from __future__ import annotations

from reasoner.store import Stored

from .auth import Principal, Role


def reads_all(principal: Principal) -> bool:
    """Whether the caller reads every kept determination (a reviewer, an analyst, or open on loopback).

    Any other caller reads only the determinations it asked for.
    """
    return principal.open or bool(principal.roles & {Role.REVIEWER, Role.ANALYST})


def kept_headers(stored: Stored) -> dict[str, str]:
    """Where a kept determination is and where it stands, as response headers."""
    return {
        "Location": f"/determinations/{stored.id}",
        "ETag": f'"{stored.digest}"',
        "X-Review-Status": stored.status.value,
    }
