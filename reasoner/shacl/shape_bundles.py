"""A prepared shapes graph read policy by policy: a start reads the shapes of the policies it serves.

When a knowledge base is prepared, its root shapes are grouped (by the policy whose criteria they
check; the others together) and each group is kept with every triple its roots reach: their
property shapes, paths, lists and the shapes they name, wherever those are. A knowledge base
revived from the cache folder then compiles a root shape from its group's graph, unpickled the
first time one of its roots is asked for, and reads the whole shapes graph only for a shape no
group holds (and for pyshacl). A shape's triples are the same in its group's graph as in the
whole graph: the compiled shape is the same.

Each group's graph, once made, is never written to: threads read it as they read the whole graph.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from rdflib import Graph
from rdflib.term import Node

from reasoner._rdf import pickled
from reasoner._rdf.pickled import Deferred

# What a group keeps: the graph its roots reach, and the shapes of the whole graph among its subjects.
Bundle = tuple[Graph, frozenset[Node]]


def bundles(shapes: Graph, names: frozenset[Node], group_of: Mapping[Node, str]) -> dict[str, Deferred[Bundle]]:
    """For each group of ``group_of`` (root shape -> group), its :data:`Bundle`, kept pickled."""
    members: dict[str, list[Node]] = {}
    for root, group in group_of.items():
        members.setdefault(group, []).append(root)
    out: dict[str, Deferred[Bundle]] = {}
    for group, roots in members.items():
        graph = Graph(store="SimpleMemory")  # no contexts: made, pickled and read faster; only ever read
        for s in reachable(shapes, roots):  # a literal is the subject of nothing
            for p, o in shapes.predicate_objects(s):
                graph.add((s, p, o))
        held = frozenset(s for s in graph.subjects(unique=True) if s in names)
        out[group] = Deferred(data=pickled.dumps((graph, held)))
    return out


def reachable(shapes: Graph, start: Iterable[Node]) -> set[Node]:
    """Every node reachable from ``start`` along any triple of ``shapes`` (lists and literals included)."""
    out: set[Node] = set()
    stack = list(start)
    while stack:
        node = stack.pop()
        if node not in out:
            out.add(node)
            stack.extend(shapes.objects(node, None))
    return out


class ShapeGraphs:
    """The graph to read a shape from: its group's where a group holds it, else the whole shapes graph."""

    def __init__(
        self, whole: Deferred[Graph], kept: Mapping[str, Deferred[Bundle]], group_of: Mapping[Node, str]
    ) -> None:
        self.whole = whole
        self._kept = kept
        self._group_of = group_of
        self._holding: dict[Node, Bundle] = {}  # by subject, as groups are read; written under the lock
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[object, tuple[Deferred[Graph], Mapping[str, Deferred[Bundle]], Mapping[Node, str]]]:
        return ShapeGraphs, (self.whole, self._kept, self._group_of)

    def graph_for(self, node: Node) -> Graph:
        """A graph holding every triple shape ``node`` reaches: a group's, or the whole graph."""
        held = self._held(node)
        return held[0] if held is not None else self.whole.get()

    def is_shape(self, node: Node) -> bool | None:
        """Whether ``node`` is a shape of the whole graph, as far as the groups tell; None: they do not tell.

        A group's root is one without reading its group.
        """
        if node in self._group_of:
            return True
        held = self._held(node)
        return None if held is None else node in held[1]

    def _held(self, node: Node) -> Bundle | None:
        found = self._holding.get(node)
        if found is not None or self.whole.loaded:
            return found
        group = self._group_of.get(node)
        if group is None:
            return None
        with self._lock:
            found = self._holding.get(node)
            if found is None:
                found = self._kept[group].get()
                for s in found[0].subjects(unique=True):  # the root among them
                    self._holding.setdefault(s, found)
        return found
