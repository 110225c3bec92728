"""Defence in depth while a case is parsed: no network, no file, no process (docs/threats.md A1, A2).

Intake never hands a parser anything it could dereference (``jsonld.py`` resolves contexts from
a fixed map). Should a parser still reach out, a process-wide audit hook refuses it: while
:func:`untrusted_input` is active in the current thread or task (a context variable, bound to
the thread that set it), it raises on any network or process event and on any ``open`` of a path
other than Python code under ``sys.path`` (rdflib and fhir.resources import parsers and models
lazily; those are warmed up here, but a first import must still work). The refusal is recorded too, so a library that
swallows the exception cannot hide it: the parse then fails with :class:`ExternalAccessRefused`.

The same variable makes rdflib refuse over-long numbers while a case is parsed
(``_rdflib_literals.py``). Audit hooks cannot be removed; outside a parse the hook returns at
its first test.
"""

from __future__ import annotations

import gc
import inspect
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from reasoner._rdf import literals as _rdflib_literals
from reasoner._rdf.parsers import warm_up_parsers
from reasoner.errors import ExternalAccessRefused

_NETWORK_AND_PROCESSES = frozenset(
    {
        "urllib.Request",
        "http.client.connect",
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.sendto",
        "socket.sendmsg",
        "ftplib.connect",
        "smtplib.connect",
        "poplib.connect",
        "imaplib.open",
        "nntplib.connect",
        "webbrowser.open",
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.startfile",
    }
)
_WATCHED = _NETWORK_AND_PROCESSES | {"open"}
_CODE = re.compile(r"\.(?:py|pyc|so)(?:\.\d+)?$")  # ".pyc.<id>": importlib's temporary name when writing a .pyc


class _Watch:
    __slots__ = ("refused", "thread")

    def __init__(self) -> None:
        self.refused = 0
        # A context is copied into other threads (loop.call_soon_threadsafe from a parse runs its
        # callback in the event loop's thread with the parse's context: Dask's worker does so); what
        # runs there is not the parser, and its network traffic must neither fail nor taint the parse.
        self.thread = threading.get_ident()


_ACTIVE: ContextVar[_Watch | None] = ContextVar("guideline_reasoner_untrusted_input", default=None)
_REFUSED = [0]  # refusals since start (tests read it to tell the vetting from the hook)


def active() -> bool:
    """Whether untrusted input is being parsed in the current context, by this thread."""
    watch = _ACTIVE.get()
    return watch is not None and watch.thread == threading.get_ident()


def refusals() -> int:
    """How many file, network or process events the hook has refused in this process."""
    return _REFUSED[0]


@contextmanager
def untrusted_input() -> Iterator[None]:
    """Parse a case inside this: any file, network or process access raises :class:`ExternalAccessRefused`.

    Raises:
        ExternalAccessRefused: something in the block reached out, even if the exception the hook
            raised was caught and replaced (or swallowed) on the way.
    """
    watch = _Watch()
    token = _ACTIVE.set(watch)
    try:
        yield
    except BaseException:
        if watch.refused:
            raise ExternalAccessRefused() from None
        raise
    finally:
        _ACTIVE.reset(token)
    if watch.refused:
        raise ExternalAccessRefused()


def _is_code(path: Any) -> bool:
    if isinstance(path, int):
        return True  # a descriptor already open: nothing new is reached
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    elif not isinstance(path, str):
        path = os.fspath(path)
    if not _CODE.search(path):
        return False
    full = os.path.normpath(os.path.abspath(path))
    return any(full.startswith(root) for root in _code_roots())


def _code_roots() -> list[str]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, *(p for p in sys.path if p)}
    return [os.path.join(os.path.normpath(os.path.abspath(r)), "") for r in roots]


def _in_gc_callback() -> bool:
    """Whether a ``gc.callbacks`` function is running: a collection can start in any allocation of a parse.

    What it does is the process's housekeeping, not the parser's (Dask's worker reads its memory
    from ``/proc`` at every full collection), and no input decides what it does.
    """
    codes = {getattr(getattr(cb, "__func__", cb), "__code__", None) for cb in gc.callbacks}
    codes.discard(None)
    frame = inspect.currentframe() if codes else None
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event not in _WATCHED:
        return
    watch = _ACTIVE.get()
    if watch is None or watch.thread != threading.get_ident():
        return
    if event == "open" and args and _is_code(args[0]):
        return
    if _in_gc_callback():
        return
    watch.refused += 1
    _REFUSED[0] += 1
    raise ExternalAccessRefused()


def _warm_up() -> None:
    """Import now what parsing a case would import lazily (so a first parse opens no module file)."""
    import encodings.idna  # noqa: F401 - urllib's host encoding

    warm_up_parsers()


_warm_up()
_rdflib_literals.install(active)
sys.addaudithook(_audit)
