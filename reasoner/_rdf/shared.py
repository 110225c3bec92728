"""One object for equal values in what is about to be pickled, so that the pickle makes each once.

A prepared knowledge base holds thousands of equal strings, tuples and frozensets: the same few
sets of classes and shapes in every criterion, empty ones above all. Pickle's memo shares only
what is the same object, and unpickling makes every object again: at 50 policies, two in three
of the criteria table's objects repeat another. :func:`shared` returns a copy of a value in which
equal strings, and equal tuples and frozensets of strings and IRIs, are one object.

Only values whose equality is identity of content are shared: exact ``str`` and ``URIRef``, and
tuples and frozensets of those (at any depth). Numbers (``1 == 1.0 == True``), literals (rdflib
finds ``"x"@DE`` equal to ``"x"@de``) and anything else stay as they are.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any, TypeVar

from rdflib import URIRef

_T = TypeVar("_T")
_EXACT = (str, URIRef)


def shared(value: _T) -> _T:
    """A copy of ``value`` (dicts, read-only mappings, lists, dataclasses, containers) with equal values made one.

    The originals are not changed; what is not copied is returned as it is.
    """
    return _Sharing().copy(value)  # type: ignore[no-any-return]  # a copy of the same type


class _Sharing:
    def __init__(self) -> None:
        self._values: dict[tuple[type, object], object] = {}
        self._copies: dict[int, tuple[object, object]] = {}  # by id: the original (kept alive) and its copy

    def copy(self, value: Any) -> Any:
        kind = type(value)
        if kind in _EXACT:
            return self._values.setdefault((kind, value), value)
        if kind is tuple or kind is frozenset:
            items = kind(self.copy(v) for v in value)
            if all(self._exact(v) for v in items):
                return self._values.setdefault((kind, items), items)
            return items
        done = self._copies.get(id(value))
        if done is not None:
            return done[1]
        made: Any
        if kind is dict:
            made = {self.copy(k): self.copy(v) for k, v in value.items()}
        elif kind is MappingProxyType:
            made = MappingProxyType({self.copy(k): self.copy(v) for k, v in value.items()})
        elif kind is list:
            made = [self.copy(v) for v in value]
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            made = object.__new__(kind)
            for f in dataclasses.fields(value):
                object.__setattr__(made, f.name, self.copy(getattr(value, f.name)))
            if hasattr(value, "__dict__"):  # fields are not all it holds (cached properties)
                for name, v in vars(value).items():
                    if name not in made.__dict__:
                        made.__dict__[name] = self.copy(v)
        else:
            return value
        self._copies[id(value)] = (value, made)
        return made

    def _exact(self, value: object) -> bool:
        kind = type(value)
        if kind in _EXACT:
            return True
        return (kind is tuple or kind is frozenset) and all(self._exact(v) for v in value)  # type: ignore[attr-defined]
