"""How the enrich stage reads and writes the case graph: readers, and triples added in batches.

A case store (reasoner/_rdf/case_store.py) answers from its index; any other graph through rdflib.
The stage collects what it derives (an ``Adder``) and adds it to the graph with ``flush``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rdflib import Graph
from rdflib.term import Node

from reasoner._rdf.case_store import CaseStore

Adder = Callable[[tuple[Node, Node, Node]], None]
Objects = Callable[[Node, Node], Iterable[Node]]


def reader(g: Graph) -> Objects:
    """The objects of (subject, predicate) in ``g``."""
    # A case store answers from its index: a live view, so never add to (s, p) while reading it.
    store = g.store
    if isinstance(store, CaseStore):
        return store.objects_of
    return lambda s, p: tuple(g.objects(s, p))


def subjects_reader(g: Graph) -> Callable[[Node, Node], Iterable[Node]]:
    """The subjects of (predicate, object) in ``g``."""
    store = g.store
    if isinstance(store, CaseStore):
        return lambda p, o: tuple(store.subjects_of(p, o))
    return lambda p, o: tuple(g.subjects(p, o))


def first_of(values: Iterable[Node]) -> Node | None:
    """The first of ``values``, or None."""
    return next(iter(values), None)


def flush(g: Graph, pending: list[tuple[Node, Node, Node]]) -> None:
    """Add the ``pending`` triples to ``g``, and empty the list."""
    store = g.store
    if isinstance(store, CaseStore):
        store.extend(pending)
    else:
        for triple in pending:
            g.add(triple)
    pending.clear()
