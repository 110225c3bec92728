"""SHACL-for-SHACL, remembered shape by shape: after an edit, only the shapes it changed are checked again.

pyshacl takes seconds to check the bundled shapes against SHACL-for-SHACL, and an author pays
that at the first command after every edit. A shapes graph is split into islands: each subject
named by an IRI with the blank nodes under it (its inline property shapes, paths, lists, logical
lists). A pass is remembered per island by its :func:`canonical_digest`, in this process and in
the user's cache folder (reasoner/_disk_cache.py), keyed with the code that checks and pyshacl's
version. A check then runs pyshacl once, over the islands with no remembered pass.

Why that is the same answer as a check of the whole graph:
- SHACL-for-SHACL validates the nodes its targets select, read off its own shapes (its classes, the
  subjects of SHACL's constraint parameters, the objects of ``sh:node``, ``sh:property``, ``sh:or``
  and the like). Its paths read forward only: a node's triples, its blank nodes, what it names
  (a list's cells, an ``sh:or``'s members, a path), and so on. Its class targets also read the
  ``rdfs:subClassOf`` triples. An island none of whose nodes it validates (an ontology header, its
  ``sh:declare`` prefixes, a list cell) is validated only through the islands that name it.
- A pass is remembered only for an island whose subject its own triples make a target (typed as a
  shape, or the subject of a constraint parameter), so that a check of the island validates it as a
  check of the whole graph does. It is keyed by the digests of everything that check reads: the
  island, every island it reaches, the IRIs it names that have no island, and the graph's
  ``rdfs:subClassOf`` triples. An edit to any of these, or its deletion, makes another key.
- A node validated because another island names it (an ``sh:property`` object) is validated
  again when that island changes: the namer's key reads it. Islands are checked with the islands
  that name them and those they name, and with every ``rdfs:subClassOf`` triple of the graph.
- Islands checked together that fail are checked again as the whole graph: the findings are the
  whole graph's, and a failure that came only from leaving the rest out is not one.
- Only passes are remembered, and only where the digests exist (blank nodes that form trees).
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from rdflib import RDF, RDFS, SH, BNode, Graph, Literal
from rdflib.term import Node

from reasoner import _disk_cache

PASSED = "conforms to SHACL-for-SHACL\n"
_KIND = "shacl-for-shacl"
#: How many passes the cache folder keeps (the newest): the bundled knowledge base's two checks write about 700.
KEEP_ON_DISK = 4096
# What decides a pass, with pyshacl's version: the check, the adapter, and the runs with their options.
_CODE = ("shacl/shacl_syntax.py", "shacl/_pyshacl.py", "shacl/prepared.py")

# Keys of the islands found to conform in this process (insertion-ordered: the oldest goes first).
_CONFORMING: dict[str, None] = {}
_LOCK = threading.Lock()
_MOST = 8192

_R = TypeVar("_R")


def canonical_digest(graph: Iterable[tuple[Node, Node, Node]]) -> str | None:
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


Triples = list[tuple[Node, Node, Node]]


def islands(graph: Graph) -> list[tuple[Node, Triples]]:
    """Each subject that is not a blank node under another, with the triples of it and of the blank nodes under it."""
    said: dict[Node, Triples] = {}
    under: set[Node] = set()
    for triple in graph:
        said.setdefault(triple[0], []).append(triple)
        if isinstance(triple[2], BNode):
            under.add(triple[2])
    out = []
    for root in said:
        if root in under:
            continue
        island: Triples = []
        stack, seen = [root], set()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            for triple in said.get(node, ()):
                island.append(triple)
                if isinstance(triple[2], BNode):
                    stack.append(triple[2])
        out.append((root, island))
    # Blank nodes in a cycle of their own are under one another and so no island's: check them whole.
    if len({t for _root, triples in out for t in triples}) < len(graph):  # a set: islands may share a blank node
        return [(BNode(), list(graph))]
    return out


def checked(
    graph: Graph, run: Callable[[Graph], Sequence[_R]], *, purpose: str, accepts: tuple[str, ...] = ()
) -> list[_R]:
    """``run(graph)``'s results (a SHACL-for-SHACL check), running it only over the islands not known to pass.

    ``purpose`` names the check (its pyshacl options): passes are remembered for each apart. A pass
    remembered for a purpose in ``accepts`` (a stricter check of the same island) is one for this too.
    """
    target_classes, subject_targets, object_targets, shsh = _targets()
    parts = dict(islands(graph))
    named = {o for _s, p, o in graph if p in object_targets}
    axioms = list(graph.triples((None, RDFS.subClassOf, None)))  # what class targets read, wherever it is
    classes = target_classes | {s for s, _p, _o in axioms}  # a shape's class may be a subclass

    # The islands whose own triples make their subject a target: a check of one alone validates it.
    targets = {
        s for s, p, o in graph if s in parts and (p in subject_targets or (p == RDF.type and o in target_classes))
    }
    direct = targets.__contains__
    reads = _Reads(parts, f"{shsh}:{canonical_digest(axioms)}", direct)

    def focus(p: Node, o: Node) -> bool:  # a triple that makes a node of its island a target
        return p in subject_targets or p in object_targets or (p == RDF.type and o in classes)

    unknown, keys, everything = [], [], True
    for root, island in parts.items():
        if not any(focus(p, o) or s in named for s, p, o in island):
            continue  # no target: validated only through the islands that name it, whose keys read it
        # Remembered only where a check of the island alone validates its subject, as the whole graph's does.
        digest = reads.digest(root) if direct(root) else None
        if digest is not None:
            key = _disk_cache.key(f"{purpose}:{digest}", _CODE)
            if any(_known(k) for k in (key, *(_disk_cache.key(f"{a}:{digest}", _CODE) for a in accepts))):
                everything = False
                continue
            keys.append(key)
        unknown.append(root)
    if not unknown:
        return []
    rest = Graph()
    for prefix, namespace in graph.namespaces():  # results name nodes as the whole graph's check does
        rest.bind(prefix, namespace, override=True)
    for root in _with_neighbours(parts, unknown, direct):
        for triple in parts[root]:
            rest.add(triple)
    for triple in axioms:
        rest.add(triple)
    found = list(run(rest))
    if not found:
        _remember(keys)
        return []
    return found if everything else list(run(graph))


class _Reads:
    """The digest of what a check of an island reads: it, the islands it reaches, and the subclass axioms.

    SHACL-for-SHACL's paths go forward only (``rdf:rest*``, ``sh:path``, ``sh:or`` members...), and
    its class targets read ``rdfs:subClassOf``: a pass holds while these stay as they were. An
    island reached is named by its digest, one no longer there by the IRI that names it. A shape
    reached that its own triples make a target is named by its IRI alone, and not walked into:
    a change to it makes it unknown, and it is then checked with every island that reaches it.
    """

    def __init__(self, parts: dict[Node, Triples], common: str, direct: Callable[[Node], bool]) -> None:
        self._parts = parts
        self._common = common
        self._direct = direct
        self._digests: dict[Node, str | None] = {}

    def _own(self, root: Node) -> str | None:
        if root not in self._digests:
            self._digests[root] = canonical_digest(self._parts[root])
        return self._digests[root]

    def digest(self, root: Node) -> str | None:
        """None where an island reached has no digest (its blank nodes are not trees)."""
        lines, seen, stack = [], {root}, [root]
        while stack:
            node = stack.pop()
            if node not in self._parts:
                lines.append(f"absent {node.n3()}")
                continue
            if node != root and self._direct(node):
                lines.append(f"shape {node.n3()}")
                continue
            own = self._own(node)
            if own is None:
                return None
            lines.append(own)
            for _s, _p, o in self._parts[node]:
                if not isinstance(o, (BNode, Literal)) and o not in seen:
                    seen.add(o)
                    stack.append(o)
        return _digest([*lines, self._common])


@functools.cache
def _targets() -> tuple[frozenset[Node], frozenset[Node], frozenset[Node], str]:
    """What SHACL-for-SHACL validates, read off its own shapes (as pyshacl ships them), and their digest.

    The classes (``sh:targetClass``), the predicates of whose triples it validates the subject
    (``sh:targetSubjectsOf``) and the object (``sh:targetObjectsOf``); the digest goes with every
    pass, since a copy of pyshacl may ship other shapes under the same version.
    """
    from reasoner.shacl import _pyshacl

    shsh = _pyshacl.shacl_shacl()

    def objects(p: Node) -> frozenset[Node]:
        return frozenset(shsh.objects(None, p))

    digest = hashlib.sha256(_pyshacl.shacl_shacl_bytes()).hexdigest()
    return objects(SH.targetClass), objects(SH.targetSubjectsOf), objects(SH.targetObjectsOf), digest


def _with_neighbours(parts: dict[Node, Triples], unknown: list[Node], direct: Callable[[Node], bool]) -> set[Node]:
    """The islands to check: those not known to pass, with those that reach them, and all these name.

    An island reaching one is checked again because its check reads it (``sh:node`` reads a shape,
    ``sh:or`` an IRI-named list and its members); it reaches it by naming it, or through islands
    that are no target of their own (list cells), which its key reads. What they name is checked
    with them, because a shape is read with its parts.
    """
    naming: dict[Node, set[Node]] = {}
    for root, island in parts.items():
        for _s, _p, o in island:
            if o in parts and o != root:
                naming.setdefault(o, set()).add(root)
    included, back = set(unknown), list(unknown)
    while back:
        for namer in naming.get(back.pop(), ()):
            if namer not in included:
                included.add(namer)
                if not direct(namer):  # what reaches it reaches the unknown one through it
                    back.append(namer)
    queue = list(included)
    while queue:
        for _s, _p, o in parts[queue.pop()]:
            if o in parts and o not in included:
                included.add(o)
                queue.append(o)
    return included


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
    if keys:
        _disk_cache.prune(_KIND, KEEP_ON_DISK)
