"""The reader: memoised access to the data graph for the length of one validation.

A case graph answers ``objects``/``subjects`` from its store's indexes (reasoner/_rdf/case_store.py);
the reader remembers each answer, and gives a value the enrich stage marked unstated, or a
possible type or statement, as an :class:`~reasoner.shacl.truth.Uncertain` node. It also keeps
the conformance the compiled shapes (reasoner/shacl/shape.py) remember per validation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.term import Node

from reasoner._rdf.case_store import CaseStore
from reasoner.shacl.truth import Gap, Truth, Uncertain, Unknown, Value
from reasoner.vocab import GR

_TYPE = RDF.type  # rdflib's RDF namespace answers each attribute through a Python __getattr__
_SUBCLASS = RDFS.subClassOf


class Reader:
    """Memoised reads of one data graph for the length of one validation.

    A value the enrich stage marked unstated is read as an :class:`Uncertain` node: forward, as the
    value of its fact; backward, its fact as a possible subject; and a fact that possibly has a type
    (``gr:possibleType``) as a possible instance of it.
    """

    __slots__ = (
        "_graph", "_out", "_in", "_supers", "_instances", "_kinds",
        "uncertain", "_unstated", "_unstated_by_prop", "_possible", "_possible_instances", "_possible_in",
        "_possible_out", "_because", "_named", "conformance", "_subclassing", "_store",
    )  # fmt: skip

    def __init__(self, graph: Graph) -> None:
        self._graph = graph
        store = graph.store
        self._store = store if isinstance(store, CaseStore) else None  # read from its index, not through rdflib
        # (shape, focus) -> whether it conforms; a compiled Shape (reasoner/shacl/shape.py), which imports this module
        self.conformance: dict[tuple[object, Value], Truth] = {}
        self._out: dict[tuple[Value, Node], tuple[Value, ...]] = {}
        self._in: dict[tuple[Node, Value], tuple[Value, ...]] = {}
        self._supers: dict[Value, frozenset[Value]] = {}
        self._instances: dict[Value, frozenset[Value]] = {}
        self._kinds: dict[Node, frozenset[Value]] = {}  # a node's types with their superclasses
        # Enrichment types a case's facts with every superclass; a data graph without subclass
        # triples of its own needs no walk up or down them (most of sh:class's cost otherwise).
        self._subclassing = next(iter(graph.triples((None, _SUBCLASS, None))), None) is not None
        self._unstated: dict[Node, set[Node]] = {}
        self._unstated_by_prop: dict[Node, list[Node]] = {}
        for fact, prop in graph.subject_objects(GR.unstated):
            self._unstated.setdefault(fact, set()).add(prop)
            self._unstated_by_prop.setdefault(prop, []).append(fact)
        self._named: dict[Node, frozenset[Gap]] = {}
        self._possible: dict[Node, set[Node]] = {}
        self._possible_instances: dict[Node, list[Node]] = {}
        for fact, cls in graph.subject_objects(GR.possibleType):
            self._possible.setdefault(fact, set()).add(cls)
            self._possible_instances.setdefault(cls, []).append(fact)
        # (p, o) -> possible subjects; (s, p) -> possible objects; each with the statement it comes from
        self._possible_in: dict[tuple[Node, Node], list[tuple[Node, Node]]] = {}
        self._possible_out: dict[tuple[Node, Node], list[tuple[Node, Node]]] = {}
        for statement in graph.subjects(_TYPE, GR.PossibleStatement):
            s, p, o = (graph.value(statement, q) for q in (GR.possibleSubject, GR.possiblePredicate, GR.possibleObject))
            if s is not None and p is not None and o is not None:
                self._possible_in.setdefault((p, o), []).append((s, statement))
                self._possible_out.setdefault((s, p), []).append((o, statement))
        self._because: dict[Node, frozenset[Gap]] = {}
        for fact, prop in graph.subject_objects(GR.uncertainBecause):
            self._because[fact] = self._because.get(fact, frozenset()) | {Gap(fact, prop)}
        for holder, gap in graph.subject_objects(GR.hangsOn):  # named gaps: the fact and property, explicitly
            gap_fact, gap_prop = graph.value(gap, GR.gapFact), graph.value(gap, GR.gapProperty)
            if gap_fact is not None and gap_prop is not None:
                self._named[holder] = self._named.get(holder, frozenset()) | {Gap(gap_fact, gap_prop)}
        self.uncertain = bool(self._unstated or self._possible or self._possible_in)

    def gaps(self, fact: Node) -> frozenset[Gap]:
        """What a possible type or statement of ``fact`` hangs on.

        The gaps ``gr:hangsOn`` names (a fact and a property each: a session that exists only if a
        block's date is not that of another), else ``gr:uncertainBecause``, else all its gaps.
        """
        found = self._named.get(fact)
        if found is None:
            found = self._because.get(fact)
        return found if found is not None else frozenset(Gap(fact, p) for p in self._unstated.get(fact, ()))

    def _statement_gaps(self, subject: Node, statement: Node) -> frozenset[Gap]:
        named = self._named.get(statement)
        return named if named is not None else self.gaps(subject)

    def objects(self, s: Value, p: Node) -> tuple[Value, ...]:
        """Objects of ``s`` by ``p``; an unstated value as an :class:`Uncertain` node."""
        key = (s, p)
        found = self._out.get(key)
        if found is None:
            if type(s) is Uncertain:
                found = _through(s, None if s.node is None else self.objects(s.node, p))
            else:
                if self._store is not None and type(p) is URIRef:
                    found = tuple(self._store.objects_of(s, p))
                else:
                    found = tuple(self._graph.objects(s, p))
                if self.uncertain:
                    if not found and p in self._unstated.get(s, ()):
                        found = (Uncertain(None, frozenset({Gap(s, p)})),)
                    elif self._possible_out and key in self._possible_out:
                        found += tuple(Uncertain(o, self._statement_gaps(s, st)) for o, st in self._possible_out[key])
            self._out[key] = found
        return found

    def subjects(self, p: Node, o: Value) -> tuple[Value, ...]:
        """Subjects with ``p`` to ``o``; facts with ``p`` unstated, or ``o`` a possible type, as :class:`Uncertain`."""
        key = (p, o)
        found = self._in.get(key)
        if found is None:
            if type(o) is Uncertain:
                found = _through(o, None if o.node is None else self.subjects(p, o.node))
            else:
                if self._store is not None and type(p) is URIRef:
                    found = tuple(self._store.subjects_of(p, o))
                else:
                    found = tuple(self._graph.subjects(p, o))
                if self.uncertain:
                    sure = set(found)
                    found += tuple(u for u in self._possible_subjects(p, o) if u.node not in sure)
            self._in[key] = found
        return found

    def _possible_subjects(self, p: Node, o: Node) -> tuple[Uncertain, ...]:
        if p == _TYPE:
            return tuple(Uncertain(f, self.gaps(f)) for f in self._possible_instances.get(o, ()))
        maybe = tuple(Uncertain(f, self._statement_gaps(f, st)) for f, st in self._possible_in.get((p, o), ()))
        return maybe + tuple(Uncertain(f, frozenset({Gap(f, p)})) for f in self._unstated_by_prop.get(p, ()))

    def pairs(self, p: Node) -> list[tuple[Value, Value]]:
        """Every (subject, object) linked by ``p`` (a fact with ``p`` unstated: an unknown object)."""
        found: list[tuple[Value, Value]] = list(self._graph.subject_objects(p))
        for fact in self._unstated_by_prop.get(p, ()):
            found.append((Uncertain(fact, frozenset({Gap(fact, p)})), Uncertain(None, frozenset({Gap(fact, p)}))))
        return found

    def superclasses(self, cls: Value) -> frozenset[Value]:
        """``cls`` and every class it is rdfs:subClassOf, transitively, in the data graph."""
        found = self._supers.get(cls)
        if found is None:
            if self._subclassing:
                found = _closure(cls, lambda c: self.objects(c, _SUBCLASS))
            else:
                found = frozenset((cls,))
            self._supers[cls] = found
        return found

    def instances(self, cls: Value) -> frozenset[Value]:
        """Instances of ``cls`` or of its subclasses in the data graph (possible ones as :class:`Uncertain`)."""
        found = self._instances.get(cls)
        if found is None:
            subclasses = _closure(cls, lambda c: self.subjects(_SUBCLASS, c)) if self._subclassing else (cls,)
            found = self._instances[cls] = frozenset(i for c in subclasses for i in self.subjects(_TYPE, c))
        return found

    def is_instance(self, node: Node, cls: Node) -> Truth:
        """Whether ``node`` has a type that is ``cls`` or a subclass of it (as sh:class reads it).

        Unknown when ``cls`` is only a possible type of it.
        """
        if isinstance(node, Literal):
            return False
        kinds = self._kinds.get(node)
        if kinds is None:  # the data graph does not change while it is validated
            types = self.objects(node, _TYPE)
            if self._subclassing:
                kinds = frozenset().union(*(self.superclasses(t) for t in types))
            else:
                kinds = frozenset(types)
            self._kinds[node] = kinds
        if cls in kinds:
            return True
        if self.uncertain and cls in self._possible.get(node, ()):
            return Unknown(self.gaps(node))
        return False


def _through(via: Uncertain, values: tuple[Value, ...] | None) -> tuple[Value, ...]:
    """Values read from an uncertain node: uncertain on the same condition (all unknown from an unknown node)."""
    if values is None:
        return (Uncertain(None, via.gaps),)
    return tuple(
        Uncertain(v.node, v.gaps | via.gaps) if type(v) is Uncertain else Uncertain(v, via.gaps) for v in values
    )


def _closure(start: Value, step: Callable[[Value], Iterable[Value]]) -> frozenset[Value]:
    seen, stack = {start}, [start]
    while stack:
        for nxt in step(stack.pop()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return frozenset(seen)
