"""Read-only SPARQL over the knowledge base, safe for queries from anyone.

Every query is parsed and its algebra walked before it runs (threats.md B1-B3): only SELECT,
ASK, CONSTRUCT and DESCRIBE; no SERVICE anywhere; no FROM or FROM NAMED. It then runs in a child
process forked from a single-threaded server process that holds the knowledge base (stdlib
``forkserver``), so that a runaway query can be killed at its deadline (rdflib has no timeout and
a thread cannot be stopped; B4), under an address-space limit, with a cap on result rows.
rdflib's SPARQL parser is not thread-safe (E1): parsing in this process takes a lock.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import resource
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rdflib import Dataset, Graph
from rdflib.plugins import sparql as rdflib_sparql
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.query import Result

from .errors import ReasonerError

if TYPE_CHECKING:
    from .kb import KnowledgeBase

MAX_QUERY_CHARS = 20_000
ALLOWED = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT", "DescribeQuery": "DESCRIBE"}
TABLE_FORMATS = {"application/sparql-results+json": "json", "application/sparql-results+xml": "xml", "text/csv": "csv"}
GRAPH_FORMATS = {"text/turtle": "turtle", "application/ld+json": "json-ld", "application/n-triples": "nt"}
QueryForm = Literal["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"]

_PARSE_LOCK = threading.Lock()
rdflib_sparql.SPARQL_LOAD_GRAPHS = False  # never load FROM documents, even if vetting were bypassed


class QueryRejected(ReasonerError):
    """The query is not allowed, or not valid SPARQL."""

    code = "sparql-rejected"


class QueryTimeout(ReasonerError):
    """The query ran past its deadline (or its memory limit) and was stopped."""

    code = "sparql-timeout"


class QueryBusy(ReasonerError):
    """Too many queries are running; try again."""

    code = "sparql-busy"


def vet(text: str) -> QueryForm:
    """Parse a query and refuse anything that is not a plain read of the knowledge base.

    Returns:
        The query form.

    Raises:
        QueryRejected: naming the reason (updates, SERVICE, FROM, syntax).
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRejected(f"the query is longer than {MAX_QUERY_CHARS} characters")
    try:
        with _PARSE_LOCK:
            query = translateQuery(parseQuery(text))
    except Exception:  # noqa: BLE001 - pyparsing's messages quote the query; updates fail here too
        raise QueryRejected(
            "not a valid SPARQL 1.1 query; only SELECT, ASK, CONSTRUCT and DESCRIBE are accepted (no updates)"
        ) from None
    form = ALLOWED.get(query.algebra.name)
    if form is None:
        raise QueryRejected("only SELECT, ASK, CONSTRUCT and DESCRIBE queries are accepted")
    if query.algebra.get("datasetClause"):
        raise QueryRejected("FROM and FROM NAMED are not allowed: the endpoint queries the knowledge base only")
    if _has_service(query.algebra):
        raise QueryRejected("SERVICE is not allowed: the endpoint does not query other endpoints")
    return form  # type: ignore[return-value]


def _has_service(node: object) -> bool:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, CompValue):
            if item.name == "ServiceGraphPattern":
                return True
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return False


@dataclass(frozen=True, slots=True)
class QueryOutput:
    """A serialised query result."""

    media_type: str
    body: bytes
    truncated: bool


# --- the worker side (runs in the forkserver and its children) -----------------------------------

_GRAPH: Dataset | None = None


def queryable(kb: KnowledgeBase) -> Dataset:
    """What the endpoint serves: the closed ontology and the shapes as the default graph.

    A dataset with no named graphs, so that GRAPH ?g { ... } answers nothing instead of failing;
    FROM is refused before a query runs.
    """
    graph = Dataset()
    for source in (kb.ontology, kb.shapes):
        for triple in source:
            graph.add(triple)
    for prefix, ns in kb.ontology.namespaces():
        graph.bind(prefix, ns, override=False)
    return graph


def _load_graph(root: str) -> None:
    global _GRAPH
    if _GRAPH is None:
        from .kb import KnowledgeBase

        # The server gives a published generation, which passed lint and the load's checks when it was published.
        _GRAPH = queryable(KnowledgeBase.load(Path(root) if root else None, checks="none" if root else "lint"))


def _limit_memory(budget_bytes: int) -> None:
    with open("/proc/self/status") as status:
        size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    limit = size_kb * 1024 + budget_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _run(conn: object, root: str, text: str, media_type: str, max_rows: int, budget_bytes: int) -> None:
    """Child process: run one vetted query and send back (status, media type, body, truncated)."""
    try:
        _load_graph(root)
        _limit_memory(budget_bytes)
        vet(text)
        assert _GRAPH is not None
        result = _GRAPH.query(text)
        conn.send(("ok", *_serialise(result, media_type, max_rows)))  # type: ignore[attr-defined]
    except QueryRejected as exc:
        conn.send(("rejected", exc.message, b"", False))  # type: ignore[attr-defined]
    except MemoryError:
        conn.send(("memory", "", b"", False))  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - reported as a failed query, never as a crash
        conn.send(("error", type(exc).__name__, b"", False))  # type: ignore[attr-defined]


def _serialise(result: Result, media_type: str, max_rows: int) -> tuple[str, bytes, bool]:
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        graph = result.graph
        assert graph is not None
        truncated = len(graph) > max_rows
        if truncated:
            capped = Graph()
            for i, triple in enumerate(graph):
                if i >= max_rows:
                    break
                capped.add(triple)
            graph = capped
        return media_type, graph.serialize(format=GRAPH_FORMATS[media_type], encoding="utf-8"), truncated
    truncated = False
    if result.type == "SELECT":
        rows = []
        for row in result.bindings:
            if len(rows) >= max_rows:
                truncated = True
                break
            rows.append(row)
        result.bindings = rows
    return media_type, result.serialize(format=TABLE_FORMATS[media_type]) or b"", truncated


def _warm() -> None:
    """Run in a child to make the forkserver start and load the knowledge base."""


# --- the server side -----------------------------------------------------------------------------


class SparqlService:
    """Runs vetted queries in killable child processes of a forkserver that holds the knowledge base."""

    def __init__(
        self,
        root: str,
        *,
        timeout: float = 10.0,
        max_rows: int = 10_000,
        memory_mb: int = 1024,
        concurrency: int = 4,
        queue_wait: float = 30.0,
    ) -> None:
        self.root, self.timeout, self.max_rows, self.queue_wait = root, timeout, max_rows, queue_wait
        self.budget = memory_mb * 1024 * 1024
        self._slots = threading.BoundedSemaphore(concurrency)
        self._ctx = multiprocessing.get_context("forkserver")
        os.environ["GUIDELINE_REASONER_SPARQL_KB"] = root
        self._ctx.set_forkserver_preload(["reasoner._sparql_preload"])

    def start(self) -> None:
        """Start the forkserver and load the knowledge base in it (about 2 s), before serving."""
        p = self._ctx.Process(target=_warm)
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

    def run(
        self, text: str, media_type: str, form: QueryForm | None = None, *, started: float | None = None
    ) -> QueryOutput:
        """Vet and run a query; the result is serialised as ``media_type``.

        Raises:
            QueryRejected: the query is not allowed (checked here, before any process starts).
            QueryTimeout: it ran past the deadline or out of memory and was stopped.
            QueryBusy: every query slot stayed busy until the deadline.
        """
        started = time.monotonic() if started is None else started  # the deadline counts from here
        form = form or vet(text)  # pass the form when the caller has vetted the query already
        if form == "ASK" and media_type == "text/csv":
            raise QueryRejected("an ASK result has no CSV form; ask for SPARQL JSON or XML")
        wanted = GRAPH_FORMATS if form in ("CONSTRUCT", "DESCRIBE") else TABLE_FORMATS
        if media_type not in wanted:
            raise QueryRejected(f"a {form} result cannot be given as {media_type}")
        queued = time.monotonic()
        if not self._slots.acquire(timeout=self.queue_wait):
            raise QueryBusy("all query slots are busy; try again")
        waited = time.monotonic() - queued  # time in the queue does not count against the query
        try:
            return self._run_child(text, media_type, started + waited + self.timeout)
        finally:
            self._slots.release()

    def _run_child(self, text: str, media_type: str, deadline: float) -> QueryOutput:
        parent, child = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(
            target=_run, args=(child, self.root, text, media_type, self.max_rows, self.budget), daemon=True
        )
        process.start()
        child.close()
        try:
            if not parent.poll(max(0.05, deadline - time.monotonic())):
                raise QueryTimeout(f"the query ran longer than {self.timeout:g} s and was stopped")
            try:
                status, detail, body, truncated = parent.recv()
            except EOFError:
                raise QueryTimeout("the query process ended without a result (memory limit)") from None
        finally:
            if process.is_alive():
                process.kill()
            process.join(5)
            parent.close()
        if status == "ok":
            return QueryOutput(detail, body, truncated)
        if status == "rejected":
            raise QueryRejected(detail)
        if status == "memory":
            raise QueryTimeout("the query ran out of its memory budget and was stopped")
        raise QueryRejected(f"the query failed while running ({detail})")
