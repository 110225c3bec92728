"""Read-only SPARQL over the knowledge base, safe for queries from anyone.

No query text is parsed in the server process. The server only checks the query's size, then waits
for one of a few query slots and hands the text to a child process forked from a single-threaded
server process that holds the knowledge base (stdlib ``forkserver``). The child parses the query
and walks its algebra (threats.md B1-B3: only SELECT, ASK, CONSTRUCT and DESCRIBE; no SERVICE
anywhere; no FROM or FROM NAMED), picks the result format for the query's form, runs the query
and writes at most ``max_rows`` results (``sparql_formats``), at a lower CPU priority and under an
address-space limit. rdflib has no timeout, a thread cannot be stopped, and its pyparsing grammar spends 15 s
or more on some 20,000-character queries (B4, E1; bench/README.md): the child is killed at the
request's deadline, which counts from the request's arrival, so waiting for a slot, parsing,
planning, running and serialising all come out of the same budget.

This module is the one place that touches rdflib's SPARQL parser and algebra. A syntax error is
reported with its line and column, worked out here from pyparsing's exception, and at most a short
excerpt of the query near it; an update sent as a query is told that the endpoint is read-only.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import multiprocessing.spawn
import os
import re
import resource
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

import anyio
import anyio.to_thread
from pyparsing import ParseBaseException
from rdflib import Dataset, Graph
from rdflib.plugins import sparql as rdflib_sparql
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import expandUnicodeEscapes, expandUnicodeEscapes_re, parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import Result

from reasoner.errors import QueryBusy, QueryFailed, QueryRejected, QueryTimeout, UpdateRefused
from reasoner.sparql import formats as sparql_formats
from reasoner.sparql.formats import GRAPH_TYPES, TABLE_TYPES, Unrepresentable

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from rdflib.term import Identifier, Variable

    from reasoner.knowledge.base import KnowledgeBase

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
# For each query form, the media types its result may be written as, in the client's order of
# preference (empty: the client accepts none of the form's formats).
MediaTypes: TypeAlias = Mapping[QueryForm, Sequence[str] | str | None]
EXCERPT_CHARS = 20  # of the query, from a syntax error's position: enough to find it, never the query
_UPDATE = re.compile(  # possessive: a comment runs to its line's end, and nothing is tried twice
    r"(?:\s|#[^\n\r]*+|BASE\s*+<[^<>]*+>|PREFIX\s*+[^\s:]*+:\s*+<[^<>]*+>)*+"  # the prologue and comments
    r"(?:INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|COPY|MOVE|WITH)\b",
    re.IGNORECASE,
)

_PARSE_LOCK = threading.Lock()
rdflib_sparql.SPARQL_LOAD_GRAPHS = False  # never load FROM documents, even if vetting were bypassed


class ResultNotAcceptable(Exception):
    """The client accepts no format that a result of this query's form can take (HTTP 406).

    Only the query process knows the form; the caller says which formats it offers for it. When the
    client's formats were tried and none could carry this result, ``reason`` says why and
    ``tried`` lists them.
    """

    def __init__(self, form: QueryForm, reason: str | None = None, tried: Sequence[str] = ()) -> None:
        super().__init__(f"no acceptable format for a {form} result")
        self.form, self.reason, self.tried = form, reason, tuple(tried)


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
        QueryRejected: naming the reason (size, syntax with line and column, form, FROM, SERVICE).
        UpdateRefused: the text is a SPARQL Update.
    """
    check_size(text)
    try:
        with _PARSE_LOCK:
            query = translateQuery(parseQuery(text))
    except ParseBaseException as exc:  # its message quotes the query: only the position is used
        if _UPDATE.match(text):
            raise UpdateRefused() from None
        raise _syntax_error(text, exc) from None
    except RecursionError:
        raise QueryRejected(
            "not a valid SPARQL 1.1 query: it is nested too deeply for the parser; " + _ONLY_QUERIES
        ) from None
    except Exception:  # noqa: BLE001 - an invalid escape, or a rule of the algebra broken
        raise QueryRejected("not a valid SPARQL 1.1 query; " + _ONLY_QUERIES) from None
    form = ALLOWED.get(query.algebra.name)
    if form is None:
        raise QueryRejected("only SELECT, ASK, CONSTRUCT and DESCRIBE queries are accepted")
    if query.algebra.get("datasetClause"):
        raise QueryRejected("FROM and FROM NAMED are not allowed: the endpoint queries the knowledge base only")
    if _has_service(query.algebra):
        raise QueryRejected("SERVICE is not allowed: the endpoint does not query other endpoints")
    return form, query


_ONLY_QUERIES = "only SELECT, ASK, CONSTRUCT and DESCRIBE are accepted (no updates)"


def _syntax_error(text: str, exc: ParseBaseException) -> QueryRejected:
    r"""The error at pyparsing's position, as a line and column of the text the client sent.

    pyparsing reports a position in the text it parsed, in which rdflib expanded the \u escapes
    and pyparsing every tab (to the next multiple of 8); both are undone here.
    """
    raw = _raw_offset(text, _untabbed_offset(expandUnicodeEscapes(text), exc.loc))
    line = text.count("\n", 0, raw) + 1
    column = raw - (text.rfind("\n", 0, raw) + 1) + 1
    shown = text[raw : raw + EXCERPT_CHARS].split("\n")[0].rstrip()
    excerpt = "".join(c if c.isprintable() else f"\\u{ord(c):04X}" for c in shown)
    if not text[raw:].strip():
        near = "at the end of the query"
    else:
        near = f"near '{excerpt}'" if excerpt else "at the end of the line"
    return QueryRejected(
        f"not a valid SPARQL 1.1 query: syntax error at line {line}, column {column}, {near}; " + _ONLY_QUERIES,
        line,
        column,
    )


def _untabbed_offset(tabbed: str, loc: int) -> int:
    """The offset in ``tabbed`` of the character at ``loc`` in ``tabbed.expandtabs()``."""
    position = column = 0
    for i, char in enumerate(tabbed):
        if position >= loc:
            return i
        width = 8 - column % 8 if char == "\t" else 1
        position += width
        column = 0 if char in "\n\r" else column + width
    return len(tabbed)


def _raw_offset(text: str, offset: int) -> int:
    r"""The offset in ``text`` of the character at ``offset`` once its \u escapes are expanded."""
    shift = 0
    for match in expandUnicodeEscapes_re.finditer(text):
        if match.start() - shift >= offset:
            break
        shift += len(match.group()) - 1
    return min(offset + shift, len(text))


def vet(text: str) -> QueryForm:
    """The form of a query the endpoint would run (``prepare`` without the query).

    Raises:
        QueryRejected: as ``prepare``.
    """
    return prepare(text)[0]


def formats(form: QueryForm) -> tuple[str, ...]:
    """The media types a result of ``form`` can be written as, in the server's order of preference.

    An ASK takes the table formats too: CSV and TSV as Apache Jena writes a boolean (``sparql_formats``).
    """
    return GRAPH_TYPES if form in ("CONSTRUCT", "DESCRIBE") else TABLE_TYPES


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
        from reasoner.knowledge.base import KnowledgeBase

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
            _serialise(graph.query(query), [media_type], 1)
    for text in ("SELEC", "INSERT DATA {}"):  # the error paths: their first use imports and compiles too
        try:
            prepare(text)
        except (QueryRejected, UpdateRefused):
            pass


def _limit_memory(budget_bytes: int) -> None:
    with open("/proc/self/status") as status:
        size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    limit = size_kb * 1024 + budget_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _run(
    conn: Connection[tuple[object, ...], object],
    root: str,
    text: str,
    media_types: MediaTypes,
    max_rows: int,
    budget_bytes: int,
) -> None:
    """Query process: parse, vet, negotiate, run and write one query; send back what came of it.

    Sends ``("ok", media type, body, truncated)``, ``("rejected", reason, line, column)``,
    ``("update",)``, ``("not-acceptable", form, reason, tried)``, ``("memory",)`` or ``("error",
    exception type)``. Everything here happens before the deadline or not at all: the server kills
    this process when the deadline passes.
    """
    reply: tuple[object, ...]
    try:
        os.nice(QUERY_NICENESS)
        _load_graph(root)
        _limit_memory(budget_bytes)
        reply = _answer(text, media_types, max_rows)
    except QueryRejected as exc:
        reply = ("rejected", exc.message, exc.line, exc.column)
    except UpdateRefused:
        reply = ("update",)
    except MemoryError:
        reply = ("memory",)  # the frames that held the memory are gone once this handler ends
    except Exception as exc:  # noqa: BLE001 - reported as a failed query, never as a crash
        reply = ("error", type(exc).__name__)
    conn.send(reply)


def _acceptable(media_types: MediaTypes, form: QueryForm) -> list[str]:
    """The media types the client accepts for ``form`` that the endpoint writes, best first."""
    chosen = media_types.get(form)
    wanted = [chosen] if isinstance(chosen, str) else list(chosen or ())
    return [m for m in wanted if m in formats(form)]


def _answer(text: str, media_types: MediaTypes, max_rows: int) -> tuple[object, ...]:
    form, query = prepare(text)
    acceptable = _acceptable(media_types, form)
    if not acceptable:
        return ("not-acceptable", form, None, ())
    assert _GRAPH is not None
    result = _GRAPH.query(query)  # the translated query: parsed once
    try:
        return ("ok", *_serialise(result, acceptable, max_rows))
    except Unrepresentable as exc:
        return ("not-acceptable", form, exc.reason, acceptable)


def _serialise(result: Result, media_types: Sequence[str], max_rows: int) -> tuple[str, bytes, bool]:
    """The result, at most ``max_rows`` rows or triples of it, in the first of ``media_types`` that can carry it.

    Raises:
        Unrepresentable: none of them can (the last one's reason).
    """
    truncated = False
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        graph = result.graph
        assert graph is not None
        truncated = len(graph) > max_rows
        if truncated:
            capped = Graph(namespace_manager=graph.namespace_manager)
            for i, triple in enumerate(graph):
                if i >= max_rows:
                    break
                capped.add(triple)
            graph = capped
        return _first(media_types, lambda media_type: sparql_formats.write_graph(graph, media_type), truncated)
    if result.type == "ASK":
        answer = bool(result.askAnswer)
        return _first(media_types, lambda media_type: sparql_formats.write_ask(answer, media_type), truncated)
    rows: list[Mapping[Variable, Identifier]] = []
    for row in result.bindings:
        if len(rows) >= max_rows:
            truncated = True
            break
        rows.append(row)
    variables = list(result.vars or ())
    return _first(media_types, lambda media_type: sparql_formats.write_select(variables, rows, media_type), truncated)


def _first(media_types: Sequence[str], write: Callable[[str], bytes], truncated: bool) -> tuple[str, bytes, bool]:
    failure: Unrepresentable | None = None
    for media_type in media_types:
        try:
            return media_type, write(media_type), truncated
        except Unrepresentable as exc:
            failure = exc
    assert failure is not None
    raise failure


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
        self._ctx.set_forkserver_preload(["reasoner.sparql._preload"])

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
            raise QueryRejected(*detail)
        if status == "update":
            raise UpdateRefused()
        if status == "not-acceptable":
            raise ResultNotAcceptable(*detail)
        if status == "memory":
            raise QueryTimeout("the query ran out of its memory budget and was stopped")
        raise QueryFailed(f"the endpoint failed while running the query ({detail[0]}); the query itself was valid")
