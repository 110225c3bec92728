"""An rdflib Turtle syntax error: where it is (1-based line and column) and why.

rdflib's ``BadSyntax`` (``rdflib.plugins.parsers.notation3``) keeps these in private attributes:
``_i`` (the offset), ``_str`` (the text parsed) and ``_why`` (the reason). Its message has them
too, with the input quoted around the position, which a case must never echo. Public way: none.
``tests/test_rdflib_adapters.py`` holds them to their shape on a known bad document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

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


def syntax_error_reason(exc: SyntaxError) -> str | None:
    """The reason rdflib's BadSyntax gives (its ``_why``), unredacted; None when it gives none."""
    why = getattr(exc, "_why", None)
    return None if why is None else str(why)


class TurtleSyntaxError(Exception):
    """rdflib's Turtle syntax error as the engine reads it: why (unredacted) and where, when rdflib says.

    Raised only by :func:`turtle_syntax_errors`; each caller maps it to its own answer (a case's
    parse error, a knowledge-base load error, a lint finding).
    """

    def __init__(self, reason: str | None, line: int | None, column: int | None) -> None:
        super().__init__(reason or "syntax error")
        self.reason, self.line, self.column = reason, line, column


@contextmanager
def turtle_syntax_errors() -> Iterator[None]:
    """Around a call of rdflib's Turtle parser: its ``BadSyntax`` leaves as :class:`TurtleSyntaxError`.

    ``BadSyntax`` is a ``SyntaxError``; this is the one place that catches it, so that no caller
    reads its private attributes.
    """
    try:
        yield
    except SyntaxError as exc:
        line, column = syntax_error_position(exc) or (None, None)
        raise TurtleSyntaxError(syntax_error_reason(exc) or exc.msg or None, line, column) from None
