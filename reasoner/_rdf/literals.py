"""The reasoner's one change to rdflib: numbers in a case are checked before rdflib converts them.

rdflib converts a typed literal's lexical form when the ``Literal`` is made (in every parser, and
in Oxigraph-to-rdflib conversion) and writes its normal form back from the value: a 20-character
``"1e400000000"^^xsd:decimal`` becomes 400 million characters before intake sees the graph.
Through rdflib's public ``rdflib.term.bind``, the converters of the numeric datatypes check the
text first (``numbers.number_problem``) while a case is parsed; a number over the caps then makes
an ill-typed literal that keeps its text and is never converted, and intake refuses it by node
(``intake.sanitise``). Outside a parse, and for numbers within the caps, the converters are
rdflib's own. ``tests/security/test_literals.py`` holds this to rdflib's behaviour.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rdflib.term import URIRef, XSDToPython, bind

from reasoner.numbers import NUMERIC_DATATYPES, number_problem

_INSTALLED: list[Callable[[], bool]] = []


def install(active: Callable[[], bool]) -> None:
    """Bind the checking converters once per process; ``active`` says whether a case is being parsed."""
    if _INSTALLED:
        return
    _INSTALLED.append(active)
    _bind(active)


def restore() -> None:
    """Bind the checking converters again, after third-party code reset rdflib's.

    owlrl (run by pyshacl's RDFS inference) puts rdflib's own converters back when it finishes
    (``DatatypeHandling.use_RDFLib_lexical_conversions``), which would lift the caps for the rest of
    the process.
    """
    if _INSTALLED:
        _bind(_INSTALLED[0])


def _bind(active: Callable[[], bool]) -> None:
    log = logging.getLogger("rdflib.term")  # bind() warns that each datatype is bound already
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        for name in sorted(NUMERIC_DATATYPES):
            datatype = URIRef(name)
            convert = XSDToPython[datatype]
            assert convert is not None, name
            bind(datatype, _python_type(name), constructor=_checked(convert, active))
    finally:
        log.setLevel(level)


def _python_type(datatype: str) -> type:
    if datatype.endswith("#decimal"):
        return Decimal
    return float if datatype.endswith(("#double", "#float")) else int


def _checked(convert: Callable[[str], Any], active: Callable[[], bool]) -> Callable[[str], Any]:
    def construct(lexical: str) -> Any:
        if isinstance(lexical, str) and active() and number_problem(lexical) is not None:
            # rdflib catches this and makes the literal ill-typed, keeping its text unconverted.
            raise ValueError("a number over the case limits")
        return convert(lexical)

    return construct
