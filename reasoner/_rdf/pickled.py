"""Pickles of parsed and prepared graphs that load in a tenth of rdflib's own.

rdflib pickles a ``Literal`` as its lexical form and re-parses it on load, and a ``URIRef``
through its validating constructor: a prepared knowledge base of 50,000 triples then takes a
quarter of a second to load. Here each term is pickled once (pickle's memo keeps one object per
term) and rebuilt by writing ``Literal``'s four slots, as :mod:`reasoner._rdf.terms` does, and
as one object per term shared with the process-wide table of interned terms (``INTERNED``), so
terms loaded here are the very objects the vocabulary and earlier loads made. A graph's
``Memory`` store is pickled with its indexes, as rdflib leaves it.

Only for data this process or another of the same user wrote (reasoner/_disk_cache.py checks
who wrote it, and its digest, before :func:`loads`): unpickling runs code named in the data.
Keyed by the rdflib version, since the store's indexes are its internals.
"""

from __future__ import annotations

import datetime as dt
import gc
import io
import pickle
import threading
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from reasoner._rdf.terms import INTERNED, intern

_new = str.__new__
# Values pickled as they are; a literal holding anything else (an XML DOM, ...) goes through rdflib's own pickling.
_PLAIN_VALUES = (str, bool, int, float, Decimal, dt.date, dt.datetime, dt.time, type(None))


def _iri(text: str) -> Node:
    made = _new(URIRef, text)
    return INTERNED.setdefault(made, made)


def _bnode(text: str) -> Node:
    made = _new(BNode, text)
    return INTERNED.setdefault(made, made)


def _literal(
    lexical: str, language: str | None, datatype: URIRef | None, value: object, ill_typed: bool | None
) -> Node:
    made = _new(Literal, lexical)
    made._language = language
    made._datatype = datatype
    made._value = value
    made._ill_typed = ill_typed
    return intern(made) if language else INTERNED.setdefault(made, made)


def _proxy(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(mapping)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: object) -> Any:
        kind = type(obj)
        if kind is URIRef:
            return _iri, (str(obj),)
        if kind is Literal:
            value = obj._value  # type: ignore[attr-defined]  # kind is Literal
            if type(value) in _PLAIN_VALUES:
                return _literal, (str(obj), obj.language, obj.datatype, value, obj.ill_typed)  # type: ignore[attr-defined]
            return NotImplemented
        if kind is BNode:
            return _bnode, (str(obj),)
        if kind is MappingProxyType:
            return _proxy, (dict(obj),)  # type: ignore[call-overload]  # kind is MappingProxyType
        return NotImplemented


def dumps(obj: object) -> bytes:
    """``obj`` pickled, its rdflib terms and read-only mappings in the fast form :func:`loads` reads."""
    out = io.BytesIO()
    _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return out.getvalue()


def loads(data: bytes) -> object:
    """What :func:`dumps` made; its terms are interned (see the module's docstring before calling this).

    Raises:
        Exception: whatever unpickling raises on data that is not such a pickle.
    """
    # The collector would walk the young objects again and again as tens of thousands are made: a third of the time.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(data)  # noqa: S301 - only what this user's processes wrote (reasoner/_disk_cache.py)
    finally:
        if enabled:
            gc.enable()


_T = TypeVar("_T")


class Deferred(Generic[_T]):
    """A value pickled apart from what holds it, and unpickled the first time it is asked for.

    A prepared knowledge base keeps its graphs so: most commands and requests never read them, and
    a graph takes ten times longer to unpickle than the indexes built from it.
    """

    __slots__ = ("_value", "_data", "_lock")

    def __init__(self, value: _T | None = None, data: bytes | None = None) -> None:
        self._value = value
        self._data = data
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the value is in memory (made here, or unpickled since)."""
        return self._data is None

    def get(self) -> _T:
        """The value (unpickled once, by one thread, the first time)."""
        if self._data is not None:
            with self._lock:
                if self._data is not None:
                    self._value = loads(self._data)  # type: ignore[assignment]  # what dumps() was given
                    self._data = None
        return self._value  # type: ignore[return-value]  # set above or at construction

    def __reduce__(self) -> tuple[object, tuple[bytes]]:
        data = self._data
        return _deferred, (dumps(self._value) if data is None else data,)


def _deferred(data: bytes) -> Deferred[Any]:
    return Deferred(data=data)
