"""The query process: load the knowledge base, then parse, vet, run and write one query (``run_query``).

Runs in the forkserver (``load_graph`` and ``warm_up``, from reasoner/sparql/_preload.py) and in
each query process forked from it, at a lower CPU priority and under an address-space limit; the
server (reasoner/sparql/service.py) starts it and kills it at the request's deadline. It writes at
most ``max_rows`` results (reasoner/sparql/formats.py) and sends back what came of the query as a
tuple.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import Dataset, Graph
from rdflib.query import Result

from reasoner._rdf.sparql import never_load_graphs
from reasoner.errors import QueryRejected, UpdateRefused
from reasoner.sparql import formats as sparql_formats
from reasoner.sparql.formats import Unrepresentable, first_of
from reasoner.sparql.vetting import MediaTypes, QueryForm, formats, prepare

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from rdflib.term import Identifier, Variable

    from reasoner.knowledge.base import KnowledgeBase

QUERY_NICENESS = 10  # query processes yield the CPU to the server (determinations, /health)

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


def load_graph(root: str) -> Dataset:
    """Load the knowledge base (from ``root``; the packaged one when empty) once in this process: what it serves."""
    global _GRAPH
    if _GRAPH is None:
        from reasoner.knowledge.base import KnowledgeBase

        # The server gives a published generation, which passed lint and the load's checks when it was published.
        _GRAPH = queryable(KnowledgeBase.load(Path(root) if root else None, checks="none" if root else "lint"))
    return _GRAPH


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


def run_query(
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
        load_graph(root)
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
    never_load_graphs()  # set at import of reasoner.sparql; again here, where a query is run
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
        return first_of(media_types, lambda media_type: sparql_formats.write_graph(graph, media_type), truncated)
    if result.type == "ASK":
        answer = bool(result.askAnswer)
        return first_of(media_types, lambda media_type: sparql_formats.write_ask(answer, media_type), truncated)
    rows: list[Mapping[Variable, Identifier]] = []
    for row in result.bindings:
        if len(rows) >= max_rows:
            truncated = True
            break
        rows.append(row)
    variables = list(result.vars or ())
    return first_of(media_types, lambda media_type: sparql_formats.write_select(variables, rows, media_type), truncated)


def warm() -> None:
    """Run in a child to make the forkserver start and load the knowledge base."""
