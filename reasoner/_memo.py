"""Caches that live on the knowledge base they depend on.

``functools.lru_cache`` on a function of the knowledge base keys its entries by that knowledge
base and so keeps it alive: after a reload, the old one (its graphs, its compiled shapes) stays
in memory until enough other entries push it out, and with ``gc.freeze()`` (the server freezes
each loaded knowledge base) a cycle through it is never collected. A memo kept on the knowledge
base itself goes with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from reasoner._rdf.pickled import Deferred

P = ParamSpec("P")
R = TypeVar("R")

#: The memoised functions worked out when a knowledge base is prepared, each with what gives their
#: arguments (``ahead``); their entries go with the prepared knowledge base into the cache folder.
KEPT: dict[object, Callable[[Any], Iterable[tuple[Any, ...]]]] = {}


class HasMemo(Protocol):
    """What a memoised function's first argument offers: a dict the memo may fill."""

    @property
    def memo(self) -> dict[object, dict[Any, Any]]: ...


K = TypeVar("K", bound=HasMemo)
_ABSENT = object()


class Kept:
    """A memo entry as kept in the cache folder with its knowledge base: its value, unpickled when first asked for.

    A type of its own, so that a function whose value is itself a ``Deferred`` gets that value.
    """

    __slots__ = ("value",)

    def __init__(self, value: Deferred[Any]) -> None:
        self.value = value


def per_knowledge_base(
    maxsize: int, *, ahead: Callable[[Any], Iterable[tuple[Any, ...]]] | None = None
) -> Callable[[Callable[Concatenate[K, P], R]], Callable[Concatenate[K, P], R]]:
    """Memoise a function of a knowledge base and hashable arguments, on that knowledge base.

    At most ``maxsize`` entries per function and knowledge base: a request can bring values never
    seen before (an unknown code), so when the memo is full it starts again rather than grow. Two
    threads may compute the same entry; both get an equal value. ``ahead``: the arguments (after
    the knowledge base) to work out when a knowledge base is prepared; those entries go with it
    into the cache folder (the function must be importable by its name, its values picklable).
    """

    def wrap(fn: Callable[Concatenate[K, P], R]) -> Callable[Concatenate[K, P], R]:
        @functools.wraps(fn)
        def cached(kb: K, /, *args: P.args, **kwargs: P.kwargs) -> R:
            if kwargs:  # keyword calls are rare: computed, not memoised
                return fn(kb, *args, **kwargs)
            memo: dict[tuple[object, ...], R] | None = kb.memo.get(cached)
            if memo is None:
                memo = kb.memo.setdefault(cached, {})
            found: object = memo.get(args, _ABSENT)
            if type(found) is Kept:  # read back from the cache folder: unpickled the first time it is asked for
                found = memo[args] = found.value.get()
            if found is not _ABSENT:
                return found  # type: ignore[return-value]  # what fn gave
            value = fn(kb, *args, **kwargs)  # kwargs is empty here
            if len(memo) >= maxsize:
                memo.clear()
            memo[args] = value
            return value

        if ahead is not None:
            KEPT[cached] = ahead
        return cached

    return wrap
