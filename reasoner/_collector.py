"""Python's cyclic garbage collector, paused while a determination runs.

A determination makes tens of thousands of short-lived objects (a 1,000-item history holds
about 90,000 at its peak) and no reference cycles, so each object is freed by its reference
count; rdflib's JSON-LD parser is the exception, whose parse stays in a cycle until the
collector's next pass. Meanwhile the collector's passes would walk the young objects again and
again: 3 % of the seed's determination and 17 % of a 1,000-item history's (bench/README.md,
"where a determination's time goes"). Paused, it collects as usual from the next allocation
after the last determination running returns.

The collector is one per process: the pause is counted across threads, so that it lasts until
the last overlapping determination returns; a collector the host disabled stays disabled; a
process forked meanwhile starts with the collector on and nothing running. On a busy server
determinations may overlap without a break, and what else the process does (the HTTP stack)
may make cycles meanwhile: a determination that begins when more than :data:`MOST_UNCOLLECTED`
objects were made since the last pass runs a full pass first.
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

#: How many more objects than were freed may be made, overlapping determinations running, before
#: the next one to begin collects: a 1,000-item history's determination holds about 90,000 at most.
MOST_UNCOLLECTED = 500_000

_lock = threading.Lock()
_running = 0  # determinations running now, in every thread
_ours = False  # whether the pause under way was made here (the collector was on when it began)


def _begin() -> None:
    global _running, _ours
    with _lock:
        if _running == 0:
            _ours = gc.isenabled()
            if _ours:
                gc.disable()
            overdue = False
        else:
            overdue = _ours and gc.get_count()[0] > MOST_UNCOLLECTED  # counted while disabled, too
        _running += 1
    if overdue:
        gc.collect()  # outside the lock: a finaliser it runs may start a determination


def _end() -> None:
    global _running
    with _lock:
        _running -= 1
        if _running == 0 and _ours:
            gc.enable()


def _forked() -> None:
    # The threads that were running determinations are not in the child: none will end them.
    global _lock, _running, _ours
    _lock = threading.Lock()
    if _running and _ours:
        gc.enable()
    _running, _ours = 0, False


os.register_at_fork(after_in_child=_forked)


def paused(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn``, run with the collector paused (see the module's docstring); calls may nest and overlap."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        _begin()
        try:
            return fn(*args, **kwargs)
        finally:
            _end()

    return run
