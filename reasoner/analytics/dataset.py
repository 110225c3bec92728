"""The analyst's dataset: determination and review graphs as named graphs, the knowledge base as default graph.

A ``/case`` graph (patient data) is never part of it. The knowledge base of a determination is
written into the store once per content hash, as the graph its determinations already name
(``<BASE>kb-version/<hex>``, reasoner/render/rdf.py), so one query joins criteria with outcomes.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import Protocol, cast

import pyoxigraph as ox
from rdflib.term import Node

from reasoner.analytics.results import Result
from reasoner.knowledge.base import KnowledgeBase
from reasoner.store.base import DeterminationStore, is_private_graph
from reasoner.store.remote import RemoteStore
from reasoner.store.terms import ntriples
from reasoner.vocab import BASE

DETERMINATIONS = BASE + "determination/"
KB_VERSIONS = BASE + "kb-version/"


class QueryableStore(Protocol):
    """A store that runs a SPARQL query on a dataset it is given (embedded and remote alike)."""

    def query(
        self, query: str, *, default_graph: list[str] | None = None, named_graphs: list[str] | None = None
    ) -> Result:
        """A SPARQL query on the dataset given."""
        ...


class RemoteQueries:
    """A remote store's answers read into pyoxigraph's results (it sends SPARQL JSON results or N-Triples)."""

    def __init__(self, store: RemoteStore) -> None:
        self._store = store

    def query(
        self, query: str, *, default_graph: list[str] | None = None, named_graphs: list[str] | None = None
    ) -> Result:
        """The query on the dataset given, as the embedded store would answer it."""
        accept = "application/sparql-results+json, application/n-triples;q=0.9"
        body = self._store.query(query, default_graph=default_graph, named_graphs=named_graphs, accept=accept)
        if body.lstrip()[:1] == b"{":
            return ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        return list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES))


def kb_graph(content_hash: str) -> str:
    """The name of the graph holding the knowledge base of ``content_hash`` (``sha256:<hex>`` or ``<hex>``)."""
    return KB_VERSIONS + content_hash.removeprefix("sha256:")


def is_analyst_graph(name: str) -> bool:
    """Whether an analyst may read the graph: a determination's or a review's, never a case graph."""
    return name.startswith(DETERMINATIONS) and not is_private_graph(name)


_loaded: weakref.WeakKeyDictionary[DeterminationStore, set[str]] = weakref.WeakKeyDictionary()
_loading = threading.Lock()


def ensure_kb(store: DeterminationStore, kb: KnowledgeBase) -> str:
    """Write ``kb`` (closed ontology and shapes) into the store once per content hash; its graph's name.

    Old generations' graphs stay: the determinations made under them name them.
    """
    name = kb_graph(kb.content_hash)
    with _loading:  # two loads of one graph would duplicate its blank nodes
        if name in _loaded.get(store, set()):
            return name
        there = queries_of(store).query(
            f"ASK {{ GRAPH <{name}> {{ ?s ?p ?o }} }}", default_graph=[], named_graphs=[name]
        )
        if not (isinstance(there, ox.QueryBoolean) and bool(there)):
            store.import_(nquads([*kb.ontology, *kb.shapes], name))
        _loaded.setdefault(store, set()).add(name)
    return name


def nquads(triples: Iterable[tuple[Node, Node, Node]], graph: str) -> bytes:
    """Triples as N-Quads in ``graph`` (ntriples() writes one triple a line, ending `` .``)."""
    return "".join(line[:-1] + f"<{graph}> .\n" for line in ntriples(triples).splitlines() if line).encode()


def queries_of(store: DeterminationStore) -> QueryableStore:
    """The store as one that runs queries on a dataset (every backend has ``query``; the base class does not say so)."""
    if isinstance(store, RemoteStore):
        return RemoteQueries(store)
    if not callable(getattr(store, "query", None)):
        raise TypeError(f"{type(store).__name__} cannot run a query on a dataset")
    return cast(QueryableStore, store)


def analyst_graphs(names: list[str]) -> list[str]:
    """The graphs of ``names`` an analyst reads, in order."""
    return sorted(n for n in names if is_analyst_graph(n))


def graph_names(store: DeterminationStore) -> list[str]:
    """Every named graph of the store (the embedded store lists them; another is asked in SPARQL)."""
    names = getattr(store, "graph_names", None)
    if callable(names):
        return list(names())
    result = queries_of(store).query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert isinstance(result, ox.QuerySolutions)
    return [row["g"].value for row in result if row["g"] is not None]
