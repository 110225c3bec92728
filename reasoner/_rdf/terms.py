"""Fast constructors for the rdflib terms a case is built from.

rdflib's ``Literal(value, datatype=...)`` takes 3 to 4 µs: it parses, re-casts and re-checks
each value. A thousand-item history needs thousands of them. :func:`literal` builds the same
object (equal, same hash, lexical form, value, datatype and ``ill_typed``) in a tenth of the
time, for the value types case code makes; any other type goes to rdflib. :func:`iri` skips
``URIRef``'s validity warning, so give it only IRIs built from parts that were already checked.

This writes the four slots of rdflib's ``Literal`` directly. ``tests/test_terms.py`` compares
the results slot by slot with rdflib's own constructor, so a change in rdflib fails there and
not in a determination.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rdflib import Literal, URIRef
from rdflib.term import Node

_new = str.__new__


def literal(value: object, datatype: URIRef) -> Literal:
    """``Literal(value, datatype=datatype)``, for a str, bool, int, Decimal or date (not datetime) value."""
    kind = type(value)
    if kind is str:
        lexical, ill_typed = value, False  # rdflib reads a str as a lexical form, found well typed
    elif kind is Decimal:
        lexical, ill_typed = f"{value:f}", None
    elif kind is date:
        lexical, ill_typed = value.isoformat(), None  # type: ignore[attr-defined]  # kind is date
    elif kind is int:
        lexical, ill_typed = str(value), None
    elif kind is bool:
        lexical, ill_typed = ("true" if value else "false"), None
    else:
        return Literal(value, datatype=datatype)
    made = _new(Literal, lexical)
    made._language = None
    made._datatype = datatype
    made._value = value
    made._ill_typed = ill_typed
    return made


def iri(text: str) -> URIRef:
    """``URIRef(text)`` without the validity check: only for IRIs made of already-checked parts."""
    return _new(URIRef, text)


#: The knowledge base's terms, one object each (filled at load by ``kb.py``): IRIs a case shares
#: with the knowledge base are best made as these very objects.
INTERNED: dict[Node, Node] = {}


def intern(term: Node) -> Node:
    """``term``'s one object in :data:`INTERNED`, made so by this call if it had none.

    rdflib finds ``"x"@DE`` equal to ``"x"@de``; the one seen later takes the place, so a file
    reloaded with its tag's case changed reads back as written.
    """
    found = INTERNED.setdefault(term, term)
    if found is not term and type(term) is Literal and term.language != found.language:  # type: ignore[attr-defined]  # found equals a Literal
        INTERNED[term] = found = term
    return found


def interned(term: URIRef) -> URIRef:
    """The knowledge base's own object for ``term`` when it has one (lookups then match by identity)."""
    return INTERNED.get(term, term)  # type: ignore[return-value]  # each term's own object is of its type
