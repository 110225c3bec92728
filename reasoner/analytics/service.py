"""Analysts' SPARQL queries over kept determinations, each bounded by the request's deadline.

The backend-specific part is how a query runs. On the embedded store: a RocksDB checkpoint of the
database (``EmbeddedStore.snapshot``: hard links, a consistent view) opened read-only by a query
process forked from the SPARQL forkserver, which vets, runs and writes the query under the
endpoint's memory limit and is killed at the deadline; the checkpoint is removed after. On any other
backend (a remote SPARQL store): a query process vets the query, then the store runs it on the
analyst's dataset from a thread that is abandoned at the deadline (the remote server's own
timeout must stop the work; here it only stops waiting).
"""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
import time
from pathlib import Path

import anyio
import anyio.to_thread

from reasoner.analytics.dataset import analyst_graphs, graph_names, queries_of
from reasoner.analytics.query_process import run_on_snapshot
from reasoner.analytics.results import write
from reasoner.errors import QueryBusy, QueryTimeout
from reasoner.sparql.formats import Unrepresentable
from reasoner.sparql.service import QueryOutput, ResultNotAcceptable, ask_process, outcome
from reasoner.sparql.vetting import MediaTypes, check_size
from reasoner.store.base import DeterminationStore
from reasoner.store.embedded import EmbeddedStore


class DeterminationQueries:
    """Runs analysts' queries on a store's determination and review graphs beside a knowledge base graph."""

    def __init__(self, *, timeout: float = 10.0, max_rows: int = 10_000, memory_mb: int = 1024, concurrency: int = 4):
        self.timeout, self.max_rows = timeout, max_rows
        self.budget = memory_mb * 1024 * 1024
        self._slots = anyio.Semaphore(concurrency)
        self._threads = anyio.CapacityLimiter(concurrency)
        self._ctx = multiprocessing.get_context("forkserver")  # the SPARQL service's: rdflib is loaded there

    async def run(
        self,
        store: DeterminationStore,
        kb_graph: str,
        text: str,
        media_types: MediaTypes,
        *,
        arrived: float | None = None,
    ) -> QueryOutput:
        """Vet and run ``text`` (untrusted) by the deadline: ``timeout`` seconds from ``arrived``.

        Raises:
            QueryRejected, UpdateRefused, ResultNotAcceptable, QueryFailed, QueryTimeout, QueryBusy:
                as reasoner.sparql.service.SparqlService.run.
        """
        check_size(text)
        deadline = (time.monotonic() if arrived is None else arrived) + self.timeout
        acquired = False
        with anyio.move_on_after(deadline - time.monotonic()):
            await self._slots.acquire()
            acquired = True
        try:
            if not acquired or time.monotonic() >= deadline:
                raise QueryBusy(f"no query slot became free within {self.timeout:g} s of the request; try again")
            if isinstance(store, EmbeddedStore):
                return await anyio.to_thread.run_sync(
                    self._on_snapshot, store, kb_graph, text, dict(media_types), deadline, limiter=self._threads
                )
            return await self._forwarded(store, kb_graph, text, media_types, deadline)
        finally:
            if acquired:
                self._slots.release()

    def _on_snapshot(
        self, store: EmbeddedStore, kb_graph: str, text: str, media_types: MediaTypes, deadline: float
    ) -> QueryOutput:
        try:  # beside the database: a checkpoint there is hard links, elsewhere a copy
            holder = Path(tempfile.mkdtemp(prefix=f".{store.folder.name}-query-", dir=store.folder.parent))
        except OSError:
            holder = Path(tempfile.mkdtemp(prefix="gr-query-"))
        try:
            store.snapshot(holder / "db")
            return outcome(self._child(str(holder / "db"), kb_graph, text, media_types, deadline))
        finally:
            shutil.rmtree(holder, ignore_errors=True)

    async def _forwarded(
        self, store: DeterminationStore, kb_graph: str, text: str, media_types: MediaTypes, deadline: float
    ) -> QueryOutput:
        reply = await anyio.to_thread.run_sync(
            self._child, None, kb_graph, text, dict(media_types), deadline, limiter=self._threads
        )
        if reply[0] != "vetted":
            return outcome(reply)
        form, wanted = reply[1], reply[2]
        queries = queries_of(store)

        def run() -> tuple[str, bytes, bool]:
            names = analyst_graphs(graph_names(store))
            result = queries.query(text, default_graph=[kb_graph], named_graphs=names)
            return write(result, form, wanted, self.max_rows)  # type: ignore[arg-type]

        with anyio.move_on_after(max(0.0, deadline - time.monotonic())) as scope:
            try:
                # abandon_on_cancel: the thread is left to finish; the remote server's timeout ends its work
                out = await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
            except Unrepresentable as exc:
                raise ResultNotAcceptable(form, exc.reason, wanted) from None  # type: ignore[arg-type]
        if scope.cancelled_caught:
            raise QueryTimeout(f"the query was still running {self.timeout:g} s after the request and was abandoned")
        return QueryOutput(*out)

    def _child(
        self, snapshot: str | None, kb_graph: str, text: str, media_types: MediaTypes, deadline: float
    ) -> tuple[object, ...]:
        args = (snapshot, kb_graph, text, media_types, self.max_rows, self.budget)
        return ask_process(self._ctx, run_on_snapshot, args, deadline, self.timeout)
