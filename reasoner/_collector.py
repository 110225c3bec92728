"""Python's cyclic garbage collector, paused while a determination runs.

A determination makes tens of thousands of short-lived objects (a 1,000-item history holds
about 90,000 at its peak) and no reference cycles, so each object is freed by its reference
count. Meanwhile the collector's passes would walk the young objects again and again: 3 % of the
seed's determination and 17 % of a 1,000-item history's (bench/README.md, "where a
determination's time goes"). Paused, it collects as usual from the next allocation after the
determination returns.

The collector is one per process, so a pause is owned by the thread whose determination made it
and ends when that determination returns, whatever else runs: what other threads do meanwhile
(the HTTP stack, a failed request's traceback, rdflib's parsers, which leave what they parse in
cycles) waits for a pass at most as long as one determination takes. A determination that
begins in another thread's pause runs with it, and runs a full pass first when more than
:data:`MOST_UNCOLLECTED` objects were made since the last one. A collector that is off when a
determination begins (the host's choice) stays off; a process forked during a pause starts with
the collector on. Parsing a Turtle or JSON-LD case is left outside the pause
(pipeline.determine).
"""

from __future__ import annotations

import functools
import gc
import os
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

#: How many more objects than were freed may be made in a pause before a determination that
#: begins in it collects: a 1,000-item history holds about 90,000 at most.
MOST_UNCOLLECTED = 500_000

_lock = threading.Lock()
_owner: int | None = None  # the thread whose determination made the pause under way
_depth = 0  # its calls under way: they nest (determine_case runs _run)


def _begin() -> bool:
    """Start or join a pause; whether this call must end it (its thread owns the pause)."""
    global _owner, _depth
    me = threading.get_ident()
    with _lock:
        if _owner == me:
            _depth += 1
            return True
        if _owner is None:
            if not gc.isenabled():
                return False
            gc.disable()
            _owner, _depth = me, 1
            return True
        overdue = gc.get_count()[0] > MOST_UNCOLLECTED  # counted while it is off, too
    if overdue:
        gc.collect()  # outside the lock: a finaliser it runs may start a determination
    return False


def _end() -> None:
    global _owner, _depth
    with _lock:
        _depth -= 1
        if _depth == 0:
            _owner = None
            gc.enable()


def _forked() -> None:
    # Only the thread that forked goes on in the child: a pause another thread owned would never end.
    global _lock, _owner, _depth
    _lock = threading.Lock()
    if _owner is not None and _owner != threading.get_ident():
        _owner, _depth = None, 0
        gc.enable()


# The lock is held across a fork, so that the child never sees a pause half begun or half ended.
os.register_at_fork(before=lambda: _lock.acquire(), after_in_parent=lambda: _lock.release(), after_in_child=_forked)


def paused(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn``, run with the collector paused (see the module's docstring); calls may nest and overlap."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        owns = _begin()
        try:
            return fn(*args, **kwargs)
        finally:
            if owns:
                _end()

    return run
