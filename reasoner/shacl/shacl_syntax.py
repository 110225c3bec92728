"""SHACL-for-SHACL, remembered shape by shape: after an edit, only the shapes it changed are checked again.

pyshacl takes seconds to check the bundled shapes against SHACL-for-SHACL, and an author pays
that at the first command after every edit. A shapes graph is split into islands: each subject
named by an IRI with the blank nodes under it (its inline property shapes, paths, lists, logical
lists). A pass is remembered per island by its :func:`canonical_digest`, in this process and in
the user's cache folder (reasoner/_disk_cache.py), keyed with the code that checks and pyshacl's
version. A check then runs pyshacl once, over the islands with no remembered pass.

Why that is the same answer as a check of the whole graph:
- SHACL-for-SHACL reads a shape's own triples, its blank nodes, and, through ``sh:node`` and
  ``sh:property``, the triples of the shapes it names, which are islands checked in their turn.
- A pass is remembered only for an island whose subject is typed ``sh:NodeShape`` or
  ``sh:PropertyShape``: SHACL-for-SHACL targets it whatever else the graph holds. Any other island
  is checked every time, with every ``rdfs:subClassOf`` triple of the graph (class targets read them).
- Islands checked together that fail are checked again as the whole graph: the findings are the
  whole graph's, and a failure that came only from leaving the rest out is not one.
- Only passes are remembered, and only where the digest exists (blank nodes that form trees).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from rdflib import RDF, RDFS, SH, BNode, Graph, URIRef
from rdflib.term import Node

from reasoner import _disk_cache

PASSED = "conforms to SHACL-for-SHACL\n"
_KIND = "shacl-for-shacl"
_TYPED = (SH.NodeShape, SH.PropertyShape)
_SH = str(SH)
_CODE = ("shacl/shacl_syntax.py", "shacl/_pyshacl.py")  # what decides a pass, with pyshacl's version

# Keys of the islands found to conform in this process (insertion-ordered: the oldest goes first).
_CONFORMING: dict[str, None] = {}
_LOCK = threading.Lock()
_MOST = 8192

_R = TypeVar("_R")


def canonical_digest(graph: Graph) -> str | None:
    """A digest equal for two graphs only if they are the same but for blank node labels, or None.

    Where the blank nodes form trees (none is the object of two triples, none is in a cycle), as
    SHACL's paths, lists and nested shapes written in Turtle do, each is named by a digest of what
    it says, leaves first (its predicates and objects, a blank object by its own name), and the
    graph's digest is that of all its triples so written, repeats kept. A tree is known by the
    digest of its root, so equal digests mean the same graphs but for labels. Other graphs: None
    (nothing is remembered). A hundredth of a check.
    """
    said: dict[BNode, list[tuple[Node, Node]]] = {}
    heard: set[BNode] = set()
    for s, p, o in graph:
        if isinstance(s, BNode):
            said.setdefault(s, []).append((p, o))
        if isinstance(o, BNode):
            if o in heard:
                return None  # shared: not a tree
            heard.add(o)
            said.setdefault(o, [])
    names: dict[BNode, str] = {}
    for start in said:
        stack: list[tuple[BNode, bool]] = [(start, False)]
        open_: set[BNode] = set()
        while stack:
            node, children_named = stack.pop()
            if node in names:
                continue
            if children_named:
                names[node] = _digest([f"{p.n3()} {_name(o, names)}" for p, o in said[node]])
                continue
            if node in open_:
                return None  # a cycle of blank nodes
            open_.add(node)
            stack.append((node, True))
            stack.extend((o, False) for _p, o in said[node] if isinstance(o, BNode) and o not in names)
    return _digest([" ".join(_name(t, names) for t in triple) for triple in graph])


def _name(term: Node, names: dict[BNode, str]) -> str:
    return names[term] if isinstance(term, BNode) else term.n3()


def _digest(lines: list[str]) -> str:
    return "_:" + hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def islands(graph: Graph) -> list[tuple[Node, Graph]]:
    """Each subject that is not a blank node under another, with the triples of it and of the blank nodes under it."""
    under = {o for o in graph.objects() if isinstance(o, BNode)}
    out = []
    for root in dict.fromkeys(graph.subjects()):
        if root in under:
            continue
        island, stack, seen = Graph(), [root], set()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            for p, o in graph.predicate_objects(node):
                island.add((node, p, o))
                if isinstance(o, BNode):
                    stack.append(o)
        out.append((root, island))
    # Blank nodes in a cycle of their own are under one another and so no island's: check them whole.
    if sum(len(g) for _root, g in out) < len(graph):
        return [(BNode(), graph)]
    return out


def checked(graph: Graph, run: Callable[[Graph], Sequence[_R]], *, purpose: str) -> list[_R]:
    """``run(graph)``'s results (a SHACL-for-SHACL check), running it only over the islands not known to pass.

    ``purpose`` names the check (its pyshacl options): passes are remembered for each apart.
    """
    parts = dict(islands(graph))
    named = {o for _s, p, o in graph if str(p).startswith(_SH)}  # objects of SHACL's terms: what a shape names
    unknown, keys, everything = [], [], True
    for root, island in parts.items():
        if not _about_shacl(root, island, named, graph):
            continue  # never read by SHACL-for-SHACL: its results are the same without it
        typed = any((root, RDF.type, kind) in island for kind in _TYPED)
        digest = canonical_digest(island) if typed else None
        key = None if digest is None else _disk_cache.key(f"{purpose}:{digest}", _CODE)
        if key is not None and _known(key):
            everything = False
            continue
        unknown.append(root)
        if key is not None:
            keys.append(key)
    if not unknown:
        return []
    # With the islands they name (sh:property, sh:node...), and those these name: a shape is read with its parts.
    included, queue = set(unknown), list(unknown)
    while queue:
        for o in parts[queue.pop()].objects():
            if o in parts and o not in included:
                included.add(o)
                queue.append(o)
    rest = Graph()
    for root in included:
        rest += parts[root]
    if not everything:
        for triple in graph.triples((None, RDFS.subClassOf, None)):
            rest.add(triple)
    found = list(run(rest))
    if not found:
        _remember(keys)
        return []
    return found if everything else list(run(graph))


def _about_shacl(root: Node, island: Graph, named: set[Node], graph: Graph) -> bool:
    """Whether SHACL-for-SHACL could target a node of ``island``, or read it for another.

    Not when no triple of it uses a SHACL term, no SHACL term names its subject, and none of its
    subject's classes is one the graph makes a subclass of anything (an ontology header, a label).
    """
    if root in named:
        return True
    for _s, p, o in island:
        if (
            str(p).startswith(_SH)
            or (isinstance(o, URIRef) and o.startswith(_SH))
            or (p == RDF.type and (o, RDFS.subClassOf, None) in graph)
        ):
            return True
    return False


def _known(key: str) -> bool:
    with _LOCK:
        if key in _CONFORMING:
            return True
    if _disk_cache.read(_KIND, key) != PASSED:
        return False
    with _LOCK:
        _CONFORMING[key] = None
    return True


def _remember(keys: list[str]) -> None:
    with _LOCK:
        for key in keys:
            if len(_CONFORMING) >= _MOST:
                _CONFORMING.pop(next(iter(_CONFORMING)))
            _CONFORMING[key] = None
    for key in keys:
        _disk_cache.write(_KIND, key, PASSED)
