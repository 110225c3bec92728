"""What the answer to a request says of the determination it kept."""

from __future__ import annotations

from reasoner.store import Stored


def kept_headers(stored: Stored) -> dict[str, str]:
    """Where a kept determination is and where it stands, as response headers."""
    return {
        "Location": f"/determinations/{stored.id}",
        "ETag": f'"{stored.digest}"',
        "X-Review-Status": stored.status.value,
    }
