"""A context-free, indexed rdflib store for per-request case graphs.

rdflib's default ``Memory`` store keeps per-triple context bookkeeping that a case graph never
uses (it makes an add two to three times dearer, and every lookup dearer too); its
``SimpleMemory`` drops that but counts its triples one by one on every ``len``, which pyshacl
calls once per validation result. This store keeps nested-dict indexes and a count: subject-
predicate-object always; predicate-object-subject for each predicate from the first lookup by
that predicate (a case looks up a dozen); object-subject-predicate from the first lookup by
object alone (case code never makes one). Each index is kept whole once built.

It is not context-aware, so it cannot back a Dataset or ConjunctiveGraph: rdflib's JSON-LD
parser cannot parse into it, and pyshacl's ``validate()`` entry point refuses its graphs (give
it :func:`memory_copy`; a prepared ``Shape.validate`` reads them directly). It holds no
formulas, has no transactions, sends no store events and answers no SPARQL itself
(``Graph.query`` falls back to rdflib's evaluator). Property paths are evaluated by
``Graph.triples``, never here.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

from rdflib import RDF, Graph
from rdflib.paths import Path
from rdflib.store import Store
from rdflib.term import Node, URIRef

from reasoner.errors import CaseTooLarge

# Every match reports no contexts; one exhausted iterator serves them all.
_NO_CONTEXTS: Iterator[Any] = iter(())

_Index = dict[Node, dict[Node, dict[Node, None]]]


class CaseStore(Store):
    """Triples indexed subject-predicate-object, predicate-object-subject and object-subject-predicate.

    With a ``cap``, adding a triple beyond ``cap`` distinct triples raises CaseTooLarge (adding one
    already held never does). As in rdflib's ``Memory``, matches come from a snapshot of each
    index level as it is reached (of every triple when nothing is bound), so a caller may add to
    the graph while iterating it.
    """

    def __init__(self, cap: int | None = None) -> None:
        super().__init__()
        self._spo: _Index = {}
        self._pos: _Index = {}  # only the predicates looked up so far; each kept whole from then on
        self._osp: _Index | None = None  # built on the first object-only lookup: case code never makes one
        self._count = 0
        self._uncounted = False  # when True, _count is stale and len() recounts
        self._cap = cap
        self._namespace: dict[str, URIRef] = {}
        self._prefix: dict[URIRef, str] = {}

    def add(self, triple: tuple[Node, Node, Node], context: Any = None, quoted: bool = False) -> None:
        """Add a triple; ``context`` and ``quoted`` are ignored."""
        s, p, o = triple
        po = self._spo.get(s)
        if po is None:
            po = self._spo[s] = {}
        objects = po.get(p)
        if objects is None:
            objects = po[p] = {}
        elif o in objects:
            return
        if self._cap is not None and self._count >= self._cap:
            if not objects:
                del po[p]
                if not po:
                    del self._spo[s]
            raise CaseTooLarge(f"the case has more than {self._cap} triples")
        objects[o] = None
        self._count += 1
        os_ = self._pos.get(p)
        if os_ is not None:
            subjects = os_.get(o)
            if subjects is None:
                subjects = os_[o] = {}
            subjects[s] = None
        if self._osp is not None:
            _put(self._osp, o, s, p)

    def adopt(self, spo: _Index) -> None:
        """Take ``spo`` (subject -> predicate -> objects, no level empty) as the whole of an empty store.

        For a builder that makes a case's index in one go; the store owns ``spo`` from then on.
        """
        if self._spo or self._cap is not None:
            raise ValueError("only an empty store without a cap can adopt an index")
        self._spo = spo
        self._pos, self._osp = {}, None
        self._uncounted = True  # counted by the first len(): a determination seldom asks

    def extend(self, triples: Iterable[tuple[Node, Node, Node]]) -> None:
        """Add every triple of ``triples``: what :meth:`add` does one by one, in one tight loop."""
        if self._cap is not None or self._osp is not None:
            for triple in triples:
                self.add(triple)
            return
        spo, pos, count = self._spo, self._pos, self._count
        try:
            for s, p, o in triples:
                po = spo.get(s)
                if po is None:
                    po = spo[s] = {}
                objects = po.get(p)
                if objects is None:
                    objects = po[p] = {}
                elif o in objects:
                    continue
                objects[o] = None
                count += 1
                os_ = pos.get(p)
                if os_ is not None:
                    subjects = os_.get(o)
                    if subjects is None:
                        subjects = os_[o] = {}
                    subjects[s] = None
        finally:
            self._count = count

    def addN(self, quads: Iterable[tuple[Node, Node, Node, Any]]) -> None:  # noqa: N802 - rdflib's name
        """Add (s, p, o, context) quads; the context is ignored."""
        self.extend((s, p, o) for s, p, o, _c in quads)

    def remove(self, triple: tuple[Node | None, Node | None, Node | None], context: Any = None) -> None:
        """Remove every triple matching the pattern (None matches anything)."""
        for (s, p, o), _ in list(self.triples(triple)):
            _discard(self._spo, s, p, o)
            if p in self._pos:
                _discard(self._pos, p, o, s, keep=True)
            if self._osp is not None:
                _discard(self._osp, o, s, p)
            self._count -= 1

    def triples(
        self, triple: tuple[Node | None, Node | None, Node | None], context: Any = None
    ) -> Iterator[tuple[tuple[Node, Node, Node], Iterator[Any]]]:
        """Yield ``((s, p, o), contexts)`` for each match; the contexts iterator is always empty."""
        s, p, o = triple
        if s is not None:
            po = self._spo.get(s)
            if po is None:
                return
            if p is not None:
                objects = po.get(p)
                if objects is None:
                    return
                if o is not None:
                    if o in objects:
                        yield (s, p, o), _NO_CONTEXTS
                    return
                for o2 in list(objects):
                    yield (s, p, o2), _NO_CONTEXTS
                return
            for p2, objects in list(po.items()):
                if o is not None:
                    if o in objects:
                        yield (s, p2, o), _NO_CONTEXTS
                else:
                    for o2 in list(objects):
                        yield (s, p2, o2), _NO_CONTEXTS
            return
        if p is not None:
            os_ = self._predicate_index(p)
            if o is not None:
                for s2 in list(os_.get(o, ())):
                    yield (s2, p, o), _NO_CONTEXTS
                return
            for o2, subjects in list(os_.items()):
                for s2 in list(subjects):
                    yield (s2, p, o2), _NO_CONTEXTS
            return
        if o is not None:
            for s2, predicates in list(self._object_index().get(o, {}).items()):
                for p2 in list(predicates):
                    yield (s2, p2, o), _NO_CONTEXTS
            return
        everything = [(s2, p2, o2) for s2, po in self._spo.items() for p2, objects in po.items() for o2 in objects]
        for match in everything:
            yield match, _NO_CONTEXTS

    def _predicate_index(self, p: Node) -> dict[Node, dict[Node, None]]:
        # Built on the first lookup by this predicate: a case looks up a dozen predicates by
        # object, and keeping an index of every one made each add (a literal's hash is Python
        # code) half as dear again.
        os_ = self._pos.get(p)
        if os_ is None:
            os_ = self._pos[p] = {}
            for s, po in self._spo.items():
                objects = po.get(p)
                if objects:
                    for o in objects:
                        subjects = os_.get(o)
                        if subjects is None:
                            subjects = os_[o] = {}
                        subjects[s] = None
        return os_

    def _object_index(self) -> _Index:
        if self._osp is None:
            self._osp = {}
            for s, po in self._spo.items():
                for p, objects in po.items():
                    for o in objects:
                        _put(self._osp, o, s, p)
        return self._osp

    def groups(self) -> Iterator[tuple[Node, Node, Iterable[Node]]]:
        """Every (subject, predicate, its objects), read straight from the index (do not add meanwhile)."""
        for s, po in self._spo.items():
            for p, objects in po.items():
                yield s, p, objects

    def objects_of(self, s: Node, p: Node) -> Iterable[Node]:
        """The objects of ``s`` by ``p``, read straight from the index (a live view: do not add while iterating)."""
        po = self._spo.get(s)
        return po.get(p, ()) if po else ()

    def by_predicate(self, p: Node) -> Iterable[tuple[Node, Iterable[Node]]]:
        """(object, its subjects) for every triple with ``p``, read from the index (a snapshot)."""
        return list(self._predicate_index(p).items())

    def subjects_of(self, p: Node, o: Node) -> Iterable[Node]:
        """The subjects with ``p`` to ``o``, read straight from the index (a live view)."""
        return self._predicate_index(p).get(o, ())

    def __len__(self, context: Any = None) -> int:
        if self._uncounted:
            self._count = sum(len(objects) for po in self._spo.values() for objects in po.values())
            self._uncounted = False
        return self._count

    def contexts(self, triple: Any = None) -> Generator[Graph, None, None]:
        """No contexts: the store is not context-aware."""
        yield from ()

    def bind(self, prefix: str, namespace: URIRef, override: bool = True) -> None:
        """Bind ``prefix`` to ``namespace`` (the same rules as rdflib's ``Memory.bind``)."""
        bound_namespace = self._namespace.get(prefix)
        bound_prefix = self._prefix.get(namespace)
        if bound_prefix is None and bound_namespace is not None:
            bound_prefix = self._prefix.get(bound_namespace)
        if override:
            if bound_prefix is not None:
                del self._namespace[bound_prefix]
            if bound_namespace is not None:
                del self._prefix[bound_namespace]
            self._prefix[namespace] = prefix
            self._namespace[prefix] = namespace
        else:
            kept_namespace = namespace if bound_namespace is None else bound_namespace
            kept_prefix = prefix if bound_prefix is None else bound_prefix
            self._prefix[kept_namespace] = kept_prefix
            self._namespace[kept_prefix] = kept_namespace

    def namespace(self, prefix: str) -> URIRef | None:
        """The namespace bound to ``prefix``, if any."""
        return self._namespace.get(prefix)

    def prefix(self, namespace: URIRef) -> str | None:
        """The prefix bound to ``namespace``, if any."""
        return self._prefix.get(namespace)

    def namespaces(self) -> Iterator[tuple[str, URIRef]]:
        """Every (prefix, namespace) binding."""
        yield from self._namespace.items()


def _put(index: _Index, a: Node, b: Node, c: Node) -> None:
    middle = index.get(a)
    if middle is None:
        middle = index[a] = {}
    inner = middle.get(b)
    if inner is None:
        inner = middle[b] = {}
    inner[c] = None


def _discard(index: _Index, a: Node, b: Node, c: Node, keep: bool = False) -> None:
    # Empty levels are dropped so that a removed subject no longer shows up in graph.subjects();
    # ``keep`` keeps the top level, which marks a predicate index as built.
    middle = index[a]
    inner = middle[b]
    del inner[c]
    if not inner:
        del middle[b]
        if not middle and not keep:
            del index[a]


class CaseGraph(Graph):
    """A graph on a :class:`CaseStore` whose commonest lookups read the store's indexes directly.

    ``objects(s, p)`` and ``subjects(p, o)`` with both terms given (``Graph.value`` too),
    ``subject_objects(p)`` and ``(s, p, o) in graph`` with a subject and predicate given skip
    rdflib's generator layers over ``triples``; they answer from a snapshot, as ``triples`` does.
    Anything else (a path, a list, an unbound term) is rdflib's own.
    """

    def __init__(self, store: CaseStore) -> None:
        super().__init__(store=store)
        self._case_store = store  # Graph.store is a property: one call more per lookup

    # The three overrides answer an iterator over a snapshot, where rdflib declares a generator
    # (and for value(), overloads): hence each ignore[override].
    def objects(  # type: ignore[override]
        self, subject: Node | list[Node] | None = None, predicate: Path | Node | None = None, unique: bool = False
    ) -> Iterator[Node]:
        """Objects of ``subject`` by ``predicate``."""
        # Not isinstance(subject, Node): Node is an ABC, and its isinstance runs Python code.
        if subject is not None and type(predicate) is URIRef and not isinstance(subject, list):
            return iter(tuple(self._case_store.objects_of(subject, predicate)))
        return super().objects(subject, predicate, unique)

    def value(  # type: ignore[override]
        self,
        subject: Node | None = None,
        predicate: Node | None = RDF.value,
        object: Node | None = None,  # noqa: A002 - rdflib's name
        default: Node | None = None,
        any: bool = True,  # noqa: A002 - rdflib's name
    ) -> Node | None:
        """One object of ``subject`` by ``predicate`` (else rdflib's ``Graph.value``)."""
        if (
            object is None
            and any
            and subject is not None
            and type(predicate) is URIRef
            and not isinstance(subject, list)
        ):
            return next(iter(self._case_store.objects_of(subject, predicate)), default)
        return super().value(subject, predicate, object, default, any)

    def subjects(  # type: ignore[override]
        self, predicate: Path | Node | None = None, object: Node | list[Node] | None = None, unique: bool = False
    ) -> Iterator[Node]:
        """Subjects with ``predicate`` to ``object``."""
        if object is not None and type(predicate) is URIRef and not isinstance(object, list):
            return iter(tuple(self._case_store.subjects_of(predicate, object)))
        return super().subjects(predicate, object, unique)

    def subject_objects(  # type: ignore[override]
        self, predicate: Path | Node | None = None, unique: bool = False
    ) -> Iterator[tuple[Node, Node]]:
        """(subject, object) pairs of ``predicate``."""
        if type(predicate) is URIRef:
            return iter([(s, o) for o, subjects in self._case_store.by_predicate(predicate) for s in subjects])
        return super().subject_objects(predicate, unique)

    def __contains__(self, triple: Any) -> bool:  # rdflib's pattern type is private
        """Whether a triple matching the pattern is in the graph (``None`` matches anything)."""
        if type(triple) is tuple and len(triple) == 3 and triple[0] is not None and type(triple[1]) is URIRef:
            s, p, o = triple
            objects = self._case_store.objects_of(s, p)
            return bool(objects) if o is None else o in objects
        return bool(super().__contains__(triple))


def new_case_graph(cap: int | None = None) -> Graph:
    """An empty graph on a :class:`CaseStore` (with ``cap``, it refuses more than ``cap`` triples)."""
    return CaseGraph(store=CaseStore(cap))


def adder(graph: Graph) -> Callable[[tuple[Node, Node, Node]], object]:
    """A function adding one triple to ``graph``: its store's own add when it is a case store.

    That skips ``Graph.add``'s type checks, so pass only terms the caller built itself.
    """
    store = graph.store
    if isinstance(store, CaseStore):
        return store.add
    return graph.add


def memory_copy(graph: Graph) -> Graph:
    """A copy of ``graph`` on rdflib's default (context-aware) store, for code that needs one."""
    out = Graph()
    for triple in graph:
        out.add(triple)
    return out
