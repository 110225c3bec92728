"""Caps on the numbers a case may write, checked on the text before anything converts it.

Converting a number is cheap; writing it back out is not: ``"1e400000000"^^xsd:decimal`` is read
as a Decimal at once, but rdflib then writes the literal's lexical form from that value, 400
million characters (seconds of CPU and over a GiB), and Decimal arithmetic on it overflows.
``int()`` of such a Decimal does not finish. No clinical value needs more than a few significant
digits or an exponent beyond a few tens, so a number is refused when its text is longer than
:data:`MAX_NUMBER_CHARS` or its exponent is beyond :data:`MAX_NUMBER_EXPONENT`.
"""

from __future__ import annotations

import re

MAX_NUMBER_CHARS = 32
"""The longest text of a number, whitespace and sign included."""

MAX_NUMBER_EXPONENT = 100
"""The largest exponent a number may write (``1e100``, ``1e-100``)."""

TOO_LONG = f"a number may be at most {MAX_NUMBER_CHARS} characters long"

_XSD = "http://www.w3.org/2001/XMLSchema#"
NUMERIC_DATATYPES: frozenset[str] = frozenset(
    _XSD + name
    for name in (
        "decimal",
        "integer",
        "nonPositiveInteger",
        "negativeInteger",
        "long",
        "int",
        "short",
        "byte",
        "nonNegativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
        "positiveInteger",
        "double",
        "float",
    )
)
"""The datatypes whose literals rdflib converts to numbers (the caps apply to all of them)."""

# A number as Python's Decimal, int and float read it: they accept underscores between digits
# and any Unicode decimal digit (\d matches those too), so "1e4_0000_0000" is 1e400000000 to them.
_NUMBER = re.compile(r"\s*[+-]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?(\d[\d_]*))?\s*")


def number_problem(text: str) -> str | None:
    """Why the text of a number is refused, or None when it is within the caps.

    Reads only the text (its length, then the digits of an exponent), so it costs nothing whatever
    the number. Text that is not a number at all is left to the conversion, which refuses it, unless
    it is over the length cap.
    """
    if len(text) > MAX_NUMBER_CHARS:
        return TOO_LONG
    match = _NUMBER.fullmatch(text)
    if match is not None and match.group(1) is not None:
        if abs(int(match.group(1).replace("_", ""))) > MAX_NUMBER_EXPONENT:
            return f"a number's exponent must be between -{MAX_NUMBER_EXPONENT} and {MAX_NUMBER_EXPONENT}"
    return None
