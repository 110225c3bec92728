"""Read-only SPARQL over the knowledge base, safe for queries from anyone.

No query text is parsed in the server process. The server only checks the query's size, then waits
for one of a few query slots and hands the text to a child process forked from a single-threaded
server process that holds the knowledge base (stdlib ``forkserver``). The child parses the query
and walks its algebra (threats.md B1-B3: only SELECT, ASK, CONSTRUCT and DESCRIBE; no SERVICE
anywhere; no FROM or FROM NAMED), picks the result format for the query's form, runs the query
and serialises at most ``max_rows`` results, at a lower CPU priority and under an address-space
limit. rdflib has no timeout, a thread cannot be stopped, and its pyparsing grammar spends 15 s
or more on some 20,000-character queries (B4, E1; bench/README.md): the child is killed at the
request's deadline, which counts from the request's arrival, so waiting for a slot, parsing,
planning, running and serialising all come out of the same budget.

This module is the one place that touches rdflib's SPARQL parser and algebra.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import multiprocessing.spawn
import os
import resource
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import anyio
import anyio.to_thread
from rdflib import Dataset, Graph
from rdflib.plugins import sparql as rdflib_sparql
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import Result

from .errors import ReasonerError

if TYPE_CHECKING:
    from .kb import KnowledgeBase

MAX_QUERY_CHARS = 20_000
MAX_QUERY_BYTES = 20_000  # UTF-8: multibyte text cannot make a query bigger than the character cap allows
QUERY_NICENESS = 10  # query processes yield the CPU to the server (determinations, /health)
QueryForm = Literal["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"]
FORMS: tuple[QueryForm, ...] = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
ALLOWED: dict[str, QueryForm] = {
    "SelectQuery": "SELECT",
    "AskQuery": "ASK",
    "ConstructQuery": "CONSTRUCT",
    "DescribeQuery": "DESCRIBE",
}
TABLE_FORMATS = {"application/sparql-results+json": "json", "application/sparql-results+xml": "xml", "text/csv": "csv"}
GRAPH_FORMATS = {"text/turtle": "turtle", "application/ld+json": "json-ld", "application/n-triples": "nt"}

_PARSE_LOCK = threading.Lock()
rdflib_sparql.SPARQL_LOAD_GRAPHS = False  # never load FROM documents, even if vetting were bypassed


class QueryRejected(ReasonerError):
    """The query is not allowed, or not valid SPARQL."""

    code = "sparql-rejected"


class QueryTimeout(ReasonerError):
    """The query was still being parsed or run at its deadline (or ran out of memory) and was stopped."""

    code = "sparql-timeout"


class QueryBusy(ReasonerError):
    """No query slot became free before the request's deadline; try again."""

    code = "sparql-busy"


class ResultNotAcceptable(Exception):
    """The client accepts no format that a result of this query's form can take (HTTP 406).

    Only the query process knows the form; the caller says which formats it offers for it.
    """

    def __init__(self, form: QueryForm) -> None:
        super().__init__(f"no acceptable format for a {form} result")
        self.form = form


def check_size(text: str) -> None:
    """Refuse a query over the size caps, before anything else is done with it.

    Raises:
        QueryRejected: naming the limit.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRejected(f"the query is longer than {MAX_QUERY_CHARS} characters")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_QUERY_BYTES:
        raise QueryRejected(f"the query is larger than {MAX_QUERY_BYTES} bytes in UTF-8")


def prepare(text: str) -> tuple[QueryForm, Query]:
    """Parse a query and refuse anything that is not a plain read of the knowledge base.

    Runs in the query process: parsing can take seconds, and only a process can be stopped. It
    takes a lock all the same, because rdflib's parser is not thread-safe (threats.md E1) and
    tools and tests call it in threaded processes.

    Returns:
        The query form and the translated query, ready to run.

    Raises:
        QueryRejected: naming the reason (size, syntax and updates, form, FROM, SERVICE).
    """
    check_size(text)
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
    return form, query


def vet(text: str) -> QueryForm:
    """The form of a query the endpoint would run (``prepare`` without the query).

    Raises:
        QueryRejected: as ``prepare``.
    """
    return prepare(text)[0]


def formats(form: QueryForm) -> dict[str, str]:
    """The media types a result of ``form`` can be serialised as, with rdflib's format names."""
    if form in ("CONSTRUCT", "DESCRIBE"):
        return GRAPH_FORMATS
    if form == "ASK":
        return {k: v for k, v in TABLE_FORMATS.items() if k != "text/csv"}  # W3C CSV results define SELECT only
    return TABLE_FORMATS


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


_WARM_UP = (
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
    "SELECT DISTINCT ?s (COUNT(?o) AS ?n) (SAMPLE(?l) AS ?label) WHERE {"
    " VALUES ?s { rdfs:Class } ?s rdfs:subClassOf*/rdfs:label|^rdfs:seeAlso|a ?o ."
    " OPTIONAL { ?s rdfs:label ?l FILTER(LANGMATCHES(LANG(?l), 'en') && REGEX(STR(?l), '^a', 'i')) }"
    " FILTER NOT EXISTS { ?s rdfs:comment 1 } MINUS { ?s rdfs:seeAlso 2 }"
    " { SELECT ?s WHERE { ?s a rdfs:Class } LIMIT 1 } UNION { BIND(rdfs:Class AS ?s) }"
    " BIND(IF(BOUND(?l), UCASE(?l), COALESCE(?o, 1 + 2 * 3)) AS ?b) FILTER(?b NOT IN ('A', 'B') || ?b != 0)"
    " } GROUP BY ?s HAVING (COUNT(?o) > 0) ORDER BY DESC(?n) ?s LIMIT 2 OFFSET 0",
    "ASK { ?s ?p ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 2",
    "DESCRIBE ?s WHERE { ?s ?p ?o } LIMIT 1",
)


def warm_up(graph: Graph) -> None:
    """Parse, run and serialise a few queries in every format, so that query processes start warm.

    Runs once in the forkserver, after the knowledge base is loaded: pyparsing prepares its grammar
    and works out its parse actions' arities on first use, and rdflib imports its serialisers on
    first use. Every query process then inherits that work instead of repeating it (a trivial
    query takes 3 ms to parse instead of 30).
    """
    for text in _WARM_UP:
        form, query = prepare(text)
        for media_type in formats(form):
            _serialise(graph.query(query), media_type, 1)


def _limit_memory(budget_bytes: int) -> None:
    with open("/proc/self/status") as status:
        size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    limit = size_kb * 1024 + budget_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _run(
    conn: object, root: str, text: str, media_types: Mapping[QueryForm, str | None], max_rows: int, budget_bytes: int
) -> None:
    """Query process: parse, vet, negotiate, run and serialise one query; send back what came of it.

    Sends ``("ok", media type, body, truncated)``, ``("rejected", reason)``, ``("not-acceptable",
    form)``, ``("memory",)`` or ``("error", exception type)``. Everything here happens before the
    deadline or not at all: the server kills this process when the deadline passes.
    """
    reply: tuple[object, ...]
    try:
        os.nice(QUERY_NICENESS)
        _load_graph(root)
        _limit_memory(budget_bytes)
        reply = _answer(text, media_types, max_rows)
    except QueryRejected as exc:
        reply = ("rejected", exc.message)
    except MemoryError:
        reply = ("memory",)  # the frames that held the memory are gone once this handler ends
    except Exception as exc:  # noqa: BLE001 - reported as a failed query, never as a crash
        reply = ("error", type(exc).__name__)
    conn.send(reply)  # type: ignore[attr-defined]


def _answer(text: str, media_types: Mapping[QueryForm, str | None], max_rows: int) -> tuple[object, ...]:
    form, query = prepare(text)
    media_type = media_types.get(form)
    if media_type is None:
        return ("not-acceptable", form)
    if media_type not in formats(form):
        return ("rejected", f"a {form} result cannot be given as {media_type}")
    assert _GRAPH is not None
    result = _GRAPH.query(query)  # the translated query: parsed once
    return ("ok", *_serialise(result, media_type, max_rows))


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
    ) -> None:
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

    async def run(
        self, text: str, media_types: Mapping[QueryForm, str | None], *, arrived: float | None = None
    ) -> QueryOutput:
        """Parse, vet and run a query in a query process, by the deadline.

        Args:
            text: the query, as the client sent it (untrusted; never parsed in this process).
            media_types: for each query form, the media type to serialise its result as, or None
                when the client accepts none of that form's formats.
            arrived: when the request arrived (``time.monotonic()``); the deadline counts from it.

        Raises:
            QueryRejected: the query is over the size caps (checked first), or not allowed.
            ResultNotAcceptable: the query's form has no format in ``media_types``.
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

    def _run_child(self, text: str, media_types: dict[QueryForm, str | None], deadline: float) -> QueryOutput:
        parent, child = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(
            target=_run, args=(child, self.root, text, media_types, self.max_rows, self.budget), daemon=True
        )
        process.start()
        child.close()
        try:
            if not parent.poll(max(0.0, deadline - time.monotonic())):
                raise QueryTimeout(
                    f"the query was still being parsed or run {self.timeout:g} s after the request and was stopped"
                )
            try:
                status, *detail = parent.recv()
            except EOFError:
                raise QueryTimeout("the query process ended without a result (memory limit)") from None
        finally:
            if process.is_alive():
                process.kill()
            process.join(5)
            parent.close()
        if status == "ok":
            return QueryOutput(*detail)
        if status == "rejected":
            raise QueryRejected(detail[0])
        if status == "not-acceptable":
            raise ResultNotAcceptable(detail[0])
        if status == "memory":
            raise QueryTimeout("the query ran out of its memory budget and was stopped")
        raise QueryRejected(f"the query failed while running ({detail[0]})")
