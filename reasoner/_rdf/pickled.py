"""Pickles of parsed and prepared graphs that load in a tenth of rdflib's own.

rdflib pickles a ``Literal`` as its lexical form and re-parses it on load, and a ``URIRef``
through its validating constructor: a prepared knowledge base of 50,000 triples then takes a
quarter of a second to load. Here each term is pickled once (pickle's memo keeps one object per
term) and rebuilt by writing ``Literal``'s four slots, as :mod:`reasoner._rdf.terms` does, and
as one object per term shared with the process-wide table of interned terms (``INTERNED``), so
terms loaded here are the very objects the vocabulary and earlier loads made. A graph's
``Memory`` store is pickled with its indexes, as rdflib leaves it. Frozen dataclasses with slots
are rebuilt through their slots' setters. A :class:`Deferred`'s bytes are written after the pickle
(protocol 5's out-of-band buffers) and come back as views of the bytes read, not copies.

Only for data this process or another of the same user wrote (reasoner/_disk_cache.py checks
who wrote it, and its digest, before :func:`loads`): unpickling runs code named in the data.
Keyed by the rdflib version, since the store's indexes are its internals.
"""

from __future__ import annotations

import copyreg
import dataclasses
import datetime as dt
import gc
import io
import pickle
import struct
import threading
from collections.abc import Callable
from decimal import Decimal
from types import MappingProxyType, MemberDescriptorType
from typing import Any, Generic, SupportsIndex, TypeVar

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
        fields = _slotted_fields(kind)
        if fields is not None:
            return _slotted, (kind, tuple([getattr(obj, n) for n in fields[0]]))
        return NotImplemented


# Frozen dataclasses with slots unpickle through dataclasses' __setstate__, which looks their fields
# up again for every object: half of a prepared knowledge base's load. Here each field is written
# by its slot's descriptor, as __setstate__ would, without the lookups. By type: its fields' names
# and their slots' setters, or None for a type that is not such a dataclass.
_SLOTTED: dict[type, tuple[tuple[str, ...], tuple[Callable[[object, object], None], ...]] | None] = {}


def _slotted_fields(kind: type) -> tuple[tuple[str, ...], tuple[Callable[[object, object], None], ...]] | None:
    found = _SLOTTED.get(kind, _SLOTTED)
    if found is _SLOTTED:
        names = tuple(f.name for f in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) else ()
        slots = [getattr(kind, n, None) for n in names]
        if (
            names
            and "__slots__" in kind.__dict__
            and all(isinstance(d, MemberDescriptorType) for d in slots)
            and not _pickles_itself(kind)
        ):
            found = _SLOTTED[kind] = names, tuple(d.__set__ for d in slots)  # type: ignore[union-attr]  # descriptors
        else:
            found = _SLOTTED[kind] = None
    return found  # type: ignore[return-value]  # not the sentinel: found or just worked out


def _pickles_itself(kind: type) -> bool:
    """Whether ``kind`` says how it is pickled, other than by what dataclasses write for slots."""
    for klass in kind.__mro__[:-1]:  # not object
        for hook in (
            "__reduce__",
            "__reduce_ex__",
            "__getnewargs__",
            "__getnewargs_ex__",
            "__getstate__",
            "__setstate__",
        ):
            found = klass.__dict__.get(hook)
            if found is not None and getattr(found, "__module__", None) != "dataclasses":
                return True
    return kind in copyreg.dispatch_table


def _slotted(kind: type, values: tuple[object, ...]) -> object:
    made: object = object.__new__(kind)
    fields = _slotted_fields(kind)
    assert fields is not None  # only such types are pickled so
    for setter, value in zip(fields[1], values, strict=True):
        setter(made, value)
    return made


#: Pickled bytes as :func:`loads` takes them: a ``memoryview`` reads them where they lie.
Blob = bytes | memoryview

# dumps' layout: the pickle's length and how many buffers follow it, each buffer's length, the pickle, the buffers.
_COUNTS = struct.Struct("<QI")
_LENGTH = struct.Struct("<Q")


def dumps(obj: object) -> bytes:
    """``obj`` pickled, its rdflib terms and read-only mappings in the fast form :func:`loads` reads.

    A :class:`Deferred`'s bytes are written after the pickle (out-of-band buffers), so
    that :func:`loads` hands them out as views of its input rather than copies: a copy of
    megabytes costs more than reading them, in a fresh process, whose every page is new.
    """
    out = io.BytesIO()
    buffers: list[pickle.PickleBuffer] = []
    _Pickler(out, protocol=5, buffer_callback=buffers.append).dump(obj)
    views = [b.raw() for b in buffers]
    head = _COUNTS.pack(out.tell(), len(views)) + b"".join(_LENGTH.pack(v.nbytes) for v in views)
    return b"".join((head, out.getbuffer(), *views))


def loads(data: Blob) -> object:
    """What :func:`dumps` made; its terms are interned (see the module's docstring before calling this).

    Blobs kept out of band come back as read-only views of ``data``.

    Raises:
        Exception: whatever unpickling raises on data that is not such a pickle.
    """
    view = memoryview(data)
    size, count = _COUNTS.unpack_from(view)
    at = _COUNTS.size + count * _LENGTH.size
    lengths = [_LENGTH.unpack_from(view, _COUNTS.size + i * _LENGTH.size)[0] for i in range(count)]
    main, at = view[at : at + size], at + size
    buffers = []
    for length in lengths:
        buffers.append(view[at : at + length])
        at += length
    if at != len(view):
        raise ValueError("not a pickle that dumps() wrote")
    # The collector would walk the young objects again and again as tens of thousands are made: a third of the time.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(main, buffers=buffers)  # noqa: S301 - only what this user's processes wrote (reasoner/_disk_cache.py)
    finally:
        if enabled:
            gc.enable()


def blobs_at(data: Blob) -> int:
    """Where the blobs :func:`dumps` wrote after the pickle begin (its length when ``data`` has none)."""
    size, count = _COUNTS.unpack_from(data)
    return int(_COUNTS.size + count * _LENGTH.size + size)


_T = TypeVar("_T")


class Deferred(Generic[_T]):
    """A value pickled apart from what holds it, and unpickled the first time it is asked for.

    A prepared knowledge base keeps its graphs so: most commands and requests never read them, and
    a graph takes ten times longer to unpickle than the indexes built from it.
    """

    __slots__ = ("_value", "_data", "_lock")

    def __init__(self, value: _T | None = None, data: Blob | None = None) -> None:
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

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[object, tuple[object]]:
        data = dumps(self._value) if self._data is None else self._data
        # Out of band where the pickler can take it (dumps() does); another gets plain bytes.
        return _deferred, (pickle.PickleBuffer(data) if int(protocol) >= 5 else bytes(data),)


def _deferred(data: Blob) -> Deferred[Any]:
    return Deferred(data=data)
