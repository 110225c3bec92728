"""Where an rdflib Turtle syntax error is, as 1-based line and column."""

from __future__ import annotations

import re

_GRAMMAR = {"'.'", "'}'", "']'", "';'", "','", "'is'", "'[='", "'[ ='", "'@keywords'", "'this'"}


def safe_reason(why: str) -> str:
    """The reason rdflib gives for a syntax error, with anything it quoted from the input redacted.

    Some reasons interpolate the input (a prefix name, an IRI, a character); cases are PHI.
    """
    why = re.sub(r'"[^"]*"', '"…"', why)
    why = re.sub(r"<[^>]*>", "<…>", why)
    return re.sub(r"(?<![A-Za-z])'[^']*'", lambda m: m.group(0) if m.group(0) in _GRAMMAR else "'…'", why)[:200]


def syntax_error_position(exc: SyntaxError) -> tuple[int, int] | None:
    """Line and column of rdflib's BadSyntax, or None when it does not say.

    rdflib's offset (``_i``) counts characters of the text it parsed (``_str``: the input decoded,
    with CRLF line ends folded), and is -1 at the end of the input.
    """
    offset, parsed = getattr(exc, "_i", None), getattr(exc, "_str", None)
    if not isinstance(offset, int) or parsed is None:
        return None
    text = parsed.decode("utf-8", "replace") if isinstance(parsed, bytes) else str(parsed)
    offset = len(text) if offset < 0 else min(offset, len(text))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column
