"""The knowledge base a worker answers from: the server's current generation, and reloading it.

Every request reads ``LiveKnowledge.current()`` once, at its start, so an answer comes from one
knowledge base, never a mix (docs/threats.md E2). Before it answers, a worker checks (one stat) whether
another worker published a newer generation, and loads it first; a background thread loads new
generations ahead, so requests rarely wait. A reload lints and loads the files beside the live
knowledge base; a knowledge base that fails either is refused, the live one keeps serving, and
``/version`` on every worker shows the refusal.
"""

from __future__ import annotations

import gc
import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from reasoner import KnowledgeBase, KnowledgeBaseError
from reasoner.errors import KnowledgeBaseLintError, QueryBusy
from reasoner.knowledge import lint_cache
from reasoner.knowledge.files import KnowledgeFiles
from reasoner.sparql.service import SparqlService

from .generations import Generation, Generations
from .settings import Settings

WATCH_INTERVAL_S = 0.2
log = logging.getLogger("guideline_reasoner.api")


def _settle_memory() -> None:
    """Collect the replaced knowledge base, then keep the collector off the new one.

    The start-up freezes the first knowledge base (api/main.py); a frozen object is never collected,
    so each swap unfreezes first, or every reload would leak the one before.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class LiveKnowledge:
    """The current generation's knowledge base in this worker, kept current."""

    def __init__(
        self, generations: Generations, source: Path, kb: KnowledgeBase, generation: Generation, sparql: SparqlService
    ) -> None:
        self.generations, self.source, self.sparql = generations, source, sparql
        self._state = (kb, generation)  # replaced whole: a reader sees one pair, never half of two
        self._stamp = generations.stamp()
        self._loading = threading.Lock()
        self._sparql_lock = threading.Lock()
        self._sparql_ready = threading.Condition()
        self._sparql_generation = 0  # the generation the SPARQL service serves (0: still starting)
        self._stop = threading.Event()
        self._private_state: Path | None = None
        self._watcher = threading.Thread(target=self._watch, name="kb-generations", daemon=True)

    @classmethod
    def start(cls, settings: Settings, source: Path) -> LiveKnowledge:
        """This worker's knowledge base: the current generation of the state folder, publishing the first if none.

        Without ``settings.state_dir`` the state is private to this process (one worker: nothing to share).

        Raises:
            KnowledgeBaseError: the source files do not lint or load (only when publishing the first generation).
        """
        state = settings.state_dir or Path(tempfile.mkdtemp(prefix="guideline-reasoner-state-"))
        generations = Generations(state)
        generation = generations.current()
        if generation is None:
            files = KnowledgeFiles.read(source)
            kb = KnowledgeBase.from_files(files)
            generation = generations.publish(files)
        else:
            kb = KnowledgeBase.load(generation.path, checks="none")  # published only after it passed
        sparql = SparqlService(
            str(generation.path),
            timeout=settings.sparql_timeout_s,
            max_rows=settings.sparql_max_rows,
            memory_mb=settings.sparql_memory_mb,
            concurrency=settings.sparql_concurrency,
            preload=["reasoner.analytics.query_process"],  # /sparql/determinations forks from it too
        )
        live = cls(generations, source, kb, generation, sparql)
        if settings.state_dir is None:
            live._private_state = state
        # The SPARQL service loads its own copy in another process: the worker serves meanwhile (a
        # query that comes first waits for it), so a replaced worker is back sooner.
        threading.Thread(target=live._start_sparql, name="sparql-start", daemon=True).start()
        live._watcher.start()
        return live

    def stop(self) -> None:
        """Stop watching for generations (and remove a private state folder)."""
        self._stop.set()
        self._watcher.join(timeout=5)
        if self._private_state is not None:
            shutil.rmtree(self._private_state, ignore_errors=True)

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base this worker answers from now (use :meth:`current` at a request's start)."""
        return self._state[0]

    @property
    def generation(self) -> Generation:
        """The generation of :attr:`kb`."""
        return self._state[1]

    def loaded(self) -> tuple[KnowledgeBase, Generation] | None:
        """What :meth:`current` answers when it would answer at once; None when a generation must be loaded first."""
        return self._state if self.generations.stamp() == self._stamp else None

    def current(self) -> tuple[KnowledgeBase, Generation]:
        """The current generation's knowledge base, loading it first if another worker published it."""
        if self.generations.stamp() != self._stamp:
            self._catch_up()
        return self._state

    def _catch_up(self) -> None:
        with self._loading:
            stamp = self.generations.stamp()
            if stamp == self._stamp:
                return  # loaded while this thread waited for the lock
            newest = self.generations.current()
            swapped = False
            if newest is not None and newest.number > self._state[1].number:
                self._swap(KnowledgeBase.load(newest.path, checks="none"), newest)
                swapped = True
            self._stamp = stamp
        if swapped:
            _settle_memory()  # after the lock: requests waiting for it answer from the new generation now

    def _swap(self, kb: KnowledgeBase, generation: Generation) -> None:
        """Answer from ``generation`` from now on; the SPARQL service follows in its own process."""
        self._state = (kb, generation)
        threading.Thread(target=self._restart_sparql, args=(generation,), name="sparql-restart", daemon=True).start()

    def _start_sparql(self) -> None:
        self._restart_sparql(self.generation, first=True)

    def _restart_sparql(self, generation: Generation, *, first: bool = False) -> None:
        with self._sparql_lock:  # one restart at a time, in order
            if generation.number <= self._sparql_generation:
                return
            try:
                if first:
                    self.sparql.start()
                else:
                    self.sparql.restart(str(generation.path))
            except Exception:  # noqa: BLE001 - queries wait, then answer 503, and the next generation retries
                log.error("the SPARQL service could not load generation %d", generation.number)
                return
            with self._sparql_ready:
                self._sparql_generation = generation.number
                self._sparql_ready.notify_all()

    def sparql_for(self, generation: Generation, *, deadline: float) -> SparqlService:
        """The SPARQL service, once it serves ``generation`` (it loads each generation in a process of its own).

        Args:
            generation: the generation the request reads.
            deadline: the request's SPARQL deadline (``time.monotonic()``), after which it waits no longer.

        Raises:
            QueryBusy: it did not get there by the deadline (503, try again).
        """
        with self._sparql_ready:
            if not self._sparql_ready.wait_for(
                lambda: self._sparql_generation >= generation.number, timeout=max(0.0, deadline - time.monotonic())
            ):
                raise QueryBusy("the SPARQL service is still loading the knowledge base; try again")
        return self.sparql

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_INTERVAL_S):
            try:
                if self.generations.stamp() != self._stamp:
                    self._catch_up()
            except Exception:  # noqa: BLE001 - a request retries the catch-up and reports what fails
                continue

    def reload(self) -> dict[str, Any]:
        """Lint and load the source files; publish them as the next generation if both succeed.

        Files equal to the current generation's (the meta-shapes aside, which only lint reads) are
        ``unchanged`` if they lint clean: nothing is published; refused if not, as a start would be.
        """
        self.current()  # first catch up with a generation another worker may have published
        with self._loading:
            files = KnowledgeFiles.read(self.source)
            live = self.generation
            if files.content_hash == live.content_hash and not files.unreadable:
                # The meta-shapes may have changed: what a start on these files would refuse is refused.
                report = lint_cache.checked(files)
                if report.exit_code != 0:
                    return self._refuse("the knowledge base does not lint clean", [str(f) for f in report.findings])
                return self._answer("unchanged", live)
            try:
                fresh = KnowledgeBase.from_files(files)
            except KnowledgeBaseLintError as exc:
                return self._refuse("the knowledge base does not lint clean", exc.findings)
            except KnowledgeBaseError as exc:
                return self._refuse("the knowledge base does not load", [exc.message])
            generation = self.generations.publish(files)
            self._swap(fresh, generation)
            self._stamp = self.generations.stamp()
        _settle_memory()
        return self._answer("reloaded", generation)

    def refused(self) -> dict[str, Any] | None:
        """The last refused reload, on any worker, since the current generation was published."""
        return self.generations.refused()

    def _answer(self, status: str, generation: Generation) -> dict[str, Any]:
        return {"status": status, "generation": generation.number, "knowledgeBase": generation.content_hash}

    def _refuse(self, error: str, problems: list[str]) -> dict[str, Any]:
        record = {
            "error": error,
            "problems": problems[:50],
            "liveKnowledgeBase": self.generation.content_hash,
            "liveGeneration": self.generation.number,
        }
        self.generations.refuse(record)
        return {"status": "refused", **record}
