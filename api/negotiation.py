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


def ranked(accept: str | None, offered: list[str]) -> list[str]:
    """The offered media types the Accept header allows, the client's preferred first; all of them when it is absent.

    Each offered type takes the quality of the most specific range that matches it (RFC 9110
    12.5.1), so ``text/csv;q=0, */*`` allows everything but CSV. Ties in quality go to a type the
    client named over one it matched with a wildcard, then to the order of ``offered`` (the
    server's preference).
    """
    if not accept or not accept.strip():
        return list(offered)
    ranges = _ranges(accept)
    scored: list[tuple[tuple[float, int, int], str]] = []
    for rank, candidate in enumerate(offered):
        main = candidate.split("/")[0]
        best: tuple[int, float] | None = None  # (specificity, quality) of the most specific matching range
        for pattern, q, _i in ranges:
            specificity = 2 if pattern == candidate else 1 if pattern == f"{main}/*" else 0 if pattern == "*/*" else -1
            if specificity >= 0 and (best is None or (specificity, q) > best):
                best = (specificity, q)
        if best is not None and best[1] > 0:
            scored.append(((best[1], best[0], -rank), candidate))
    return [candidate for _key, candidate in sorted(scored, reverse=True)]


def choose(accept: str | None, offered: list[str]) -> str | None:
    """The offered media type the client prefers (``ranked``'s first); None if none fits."""
    best = ranked(accept, offered)
    return best[0] if best else None
