"""Content negotiation: the request's Content-Type and the best media type for its Accept header."""

from __future__ import annotations


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header (parameters such as charset dropped)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _ranges(accept: str) -> list[tuple[str, float, int]]:
    out = []
    for i, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        q = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        out.append((fields[0].lower(), q, i))
    return out


def choose(accept: str | None, offered: list[str]) -> str | None:
    """The offered media type the client prefers; the first offered when Accept is absent; None if none fits.

    Ties in quality go to the order of ``offered`` (the server's preference).
    """
    if not accept or not accept.strip():
        return offered[0]
    best: tuple[float, int, int] | None = None
    chosen = None
    for rank, candidate in enumerate(offered):
        main = candidate.split("/")[0]
        for pattern, q, _i in _ranges(accept):
            specificity = 2 if pattern == candidate else 1 if pattern == f"{main}/*" else 0 if pattern == "*/*" else -1
            if specificity < 0 or q <= 0:
                continue
            key = (q, specificity, -rank)
            if best is None or key > best:
                best, chosen = key, candidate
    return chosen
