"""Reading SHACL path expressions and shapes graphs, for the relevance analysis (reasoner/knowledge/relevance.py).

Where a path's values can be facts of a kind's link (:func:`ends_in`) and the nodes a path is made
of (:func:`path_nodes`); everything reachable from some nodes is
``reasoner.shacl.shape_bundles.reachable``. Reads only a shapes graph.
"""

from __future__ import annotations

from rdflib import RDF, Graph, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

NEVER, LAST, UNSAFE = 0, 1, 2


def ends_in(shapes: Graph, path: Node, link: URIRef, depth: int) -> int:
    """Where a path's values can be facts of ``link``'s kind: never, only as its last step, or unsafe.

    Such facts enter a path only by a forward ``link`` step from the case (inverse steps and
    targets that could reach them are refused before); a path that goes on from them, or
    repeats, could read their properties.
    """
    if isinstance(path, URIRef):
        return LAST if path == link else NEVER
    if depth > 16:
        return UNSAFE
    if (path, SH.inversePath, None) in shapes:
        return NEVER  # inverse steps reach subjects: the case from a fact, never a fact (see reaching)
    for repeat in (SH.zeroOrMorePath, SH.oneOrMorePath, SH.zeroOrOnePath):
        for inner in shapes.objects(path, repeat):
            return NEVER if ends_in(shapes, inner, link, depth + 1) == NEVER else UNSAFE
    for alternatives in shapes.objects(path, SH.alternativePath):
        return max((ends_in(shapes, a, link, depth + 1) for a in shapes.items(alternatives)), default=NEVER)
    if (path, RDF.first, None) in shapes:  # a sequence
        steps = [ends_in(shapes, step, link, depth + 1) for step in shapes.items(path)]
        if any(step != NEVER for step in steps[:-1]):
            return UNSAFE
        return steps[-1] if steps else NEVER
    return UNSAFE


def path_nodes(shapes: Graph, path: Node) -> set[Node]:
    """The blank nodes and list cells a path expression is made of."""
    out: set[Node] = set()
    stack = [path]
    while stack:
        node = stack.pop()
        if isinstance(node, URIRef) or node in out:
            continue
        out.add(node)
        stack.extend(shapes.objects(node, None))
    return out
