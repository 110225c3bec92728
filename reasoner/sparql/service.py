"""Read-only SPARQL over the knowledge base, safe for queries from anyone: the service that runs query processes.

No query text is parsed in the server process. The server only checks the query's size, then waits
for one of a few query slots and hands the text to a child process forked from a single-threaded
server process that holds the knowledge base (stdlib ``forkserver``). The child parses the query
and walks its algebra (reasoner/sparql/vetting.py), picks the result format for the query's form,
runs the query and writes at most ``max_rows`` results, at a lower CPU priority and under an
address-space limit (reasoner/sparql/worker.py). rdflib has no timeout, a thread cannot be stopped,
and its pyparsing grammar spends 15 s or more on some 20,000-character queries (B4, E1;
bench/README.md): the child is killed at the request's deadline, which counts from the request's
arrival, so waiting for a slot, parsing, planning, running and serialising all come out of the
same budget.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import multiprocessing.spawn
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread

from reasoner.errors import QueryBusy, QueryFailed, QueryRejected, QueryTimeout, UpdateRefused
from reasoner.sparql.vetting import MediaTypes, QueryForm, check_size
from reasoner.sparql.worker import run_query, warm


class ResultNotAcceptable(Exception):
    """The client accepts no format that a result of this query's form can take (HTTP 406).

    Only the query process knows the form; the caller says which formats it offers for it. When the
    client's formats were tried and none could carry this result, ``reason`` says why and
    ``tried`` lists them.
    """

    def __init__(self, form: QueryForm, reason: str | None = None, tried: Sequence[str] = ()) -> None:
        super().__init__(f"no acceptable format for a {form} result")
        self.form, self.reason, self.tried = form, reason, tuple(tried)


@dataclass(frozen=True, slots=True)
class QueryOutput:
    """A serialised query result."""

    media_type: str
    body: bytes
    truncated: bool


class SparqlService:
    """Runs queries in killable child processes of a forkserver that holds the knowledge base.

    The deadline of a query is ``timeout`` seconds after the request arrived. Until then the
    request waits for one of ``concurrency`` slots (first come, first served; no thread is held
    while waiting), and its query process parses, checks, runs and serialises. A request still
    waiting at the deadline is refused (``QueryBusy``); a query process still working is killed
    (``QueryTimeout``). So no request takes much longer than ``timeout``, however many slow
    queries are ahead of it.
    """

    def __init__(
        self,
        root: str,
        *,
        timeout: float = 10.0,
        max_rows: int = 10_000,
        memory_mb: int = 1024,
        concurrency: int = 4,
        preload: Sequence[str] = (),
    ) -> None:
        """``preload``: more modules the forkserver imports first, for query processes of other endpoints."""
        self.root, self.timeout, self.max_rows = root, timeout, max_rows
        self.budget = memory_mb * 1024 * 1024
        self._slots = anyio.Semaphore(concurrency)
        self._threads = anyio.CapacityLimiter(concurrency)  # one waiting thread per slot, never more
        self._ctx = multiprocessing.get_context("forkserver")
        os.environ["GUIDELINE_REASONER_SPARQL_KB"] = root
        # Each query process would otherwise run this program's main script again (multiprocessing does
        # that for a script; the forkserver of CPython 3.11 never gets the path it needs to do it once).
        main_path = multiprocessing.spawn.get_preparation_data("sparql").get("init_main_from_path", "")
        os.environ["GUIDELINE_REASONER_SPARQL_MAIN"] = str(main_path)
        self._ctx.set_forkserver_preload(["reasoner.sparql._preload", *preload])

    def start(self) -> None:
        """Start the forkserver and load the knowledge base in it (about 2 s), before serving."""
        p = self._ctx.Process(target=warm)
        p.start()
        p.join(60)

    def restart(self, root: str | None = None) -> None:
        """Start a fresh forkserver that loads the knowledge base again, from ``root`` if given (after a reload)."""
        if root is not None:
            self.root = root
            os.environ["GUIDELINE_REASONER_SPARQL_KB"] = root
        stop = getattr(getattr(multiprocessing.forkserver, "_forkserver", None), "_stop", None)
        if stop is not None:  # private in CPython 3.11; without it the old server keeps its knowledge base
            stop()
        self.start()

    async def run(self, text: str, media_types: MediaTypes, *, arrived: float | None = None) -> QueryOutput:
        """Parse, vet and run a query in a query process, by the deadline.

        Args:
            text: the query, as the client sent it (untrusted; never parsed in this process).
            media_types: for each query form, the media types its result may be written as, best
                first (the next is used when a result cannot be written in the first), or one media
                type; empty or None when the client accepts none of that form's formats.
            arrived: when the request arrived (``time.monotonic()``); the deadline counts from it.

        Raises:
            QueryRejected: the query is over the size caps (checked first), or not allowed.
            UpdateRefused: the text is a SPARQL Update.
            ResultNotAcceptable: the query's form has no format in ``media_types``, or none of
                them can carry its result (``reason`` says why).
            QueryFailed: the query failed while it was run (a fault of the endpoint).
            QueryTimeout: it was still being parsed or run at the deadline, or ran out of memory.
            QueryBusy: no slot became free before the deadline.
        """
        check_size(text)
        deadline = (time.monotonic() if arrived is None else arrived) + self.timeout
        acquired = False
        with anyio.move_on_after(deadline - time.monotonic()):
            await self._slots.acquire()  # first come, first served; gives the slot back if cancelled
            acquired = True
        try:
            if not acquired or time.monotonic() >= deadline:
                raise QueryBusy(f"no query slot became free within {self.timeout:g} s of the request; try again")
            # The thread only waits for the query process, which it kills at the deadline.
            return await anyio.to_thread.run_sync(
                self._run_child, text, dict(media_types), deadline, limiter=self._threads
            )
        finally:
            if acquired:
                self._slots.release()

    def _run_child(self, text: str, media_types: MediaTypes, deadline: float) -> QueryOutput:
        args = (self.root, text, media_types, self.max_rows, self.budget)
        return outcome(ask_process(self._ctx, run_query, args, deadline, self.timeout))


def ask_process(
    ctx: Any, target: Callable[..., None], args: tuple[object, ...], deadline: float, timeout: float
) -> tuple[object, ...]:
    """Run ``target(connection, *args)`` in a process of ``ctx`` and return what it sends, killed at ``deadline``.

    Raises:
        QueryTimeout: no answer by the deadline, or the process died without one (its memory limit).
    """
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=target, args=(child, *args), daemon=True)
    process.start()
    child.close()
    try:
        if not parent.poll(max(0.0, deadline - time.monotonic())):
            raise QueryTimeout(
                f"the query was still being parsed or run {timeout:g} s after the request and was stopped"
            )
        try:
            reply: tuple[object, ...] = parent.recv()
        except EOFError:
            raise QueryTimeout("the query process ended without a result (memory limit)") from None
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        parent.close()
    return reply


def outcome(reply: tuple[object, ...]) -> QueryOutput:
    """A query process's answer (reasoner/sparql/worker.py) as the result, or the error it reports."""
    status, *detail = reply
    if status == "ok":
        return QueryOutput(*detail)  # type: ignore[arg-type]
    if status == "rejected":
        raise QueryRejected(*detail)  # type: ignore[arg-type]
    if status == "update":
        raise UpdateRefused()
    if status == "not-acceptable":
        raise ResultNotAcceptable(*detail)  # type: ignore[arg-type]
    if status == "memory":
        raise QueryTimeout("the query ran out of its memory budget and was stopped")
    raise QueryFailed(f"the endpoint failed while running the query ({detail[0]}); the query itself was valid")
