"""A compiled evaluator for the part of SHACL Core the knowledge base uses.

Each shape is compiled once into Python checks; a validation then reads the case through memoised
``objects``/``subjects`` lookups (a case graph answers those from its store's indexes) instead of
pyshacl's per-call constraint objects and result graphs. Results are pyshacl's, constraint for
constraint: the same focus nodes, values, severities and missing values (``sh:minCount``,
``sh:hasValue`` and qualified counts carry no ``sh:value``), the same literal comparisons
(pyshacl's own ``compare_literal``) and datatype rules.

:func:`compile_shape` refuses (returns ``None``) any shape that uses a feature outside the subset
(SPARQL constraints, ``sh:xone``, ``sh:closed``, property pairs, ``sh:deactivated``, recursive
or very deep shape references, ...); validation.PreparedShapes runs those in pyshacl. The
differential tests (tests/test_differential.py, tests/test_shacl_engine.py) compare the two.

Three-valued (Kleene): a value the case does not state is not an absent value. The enrich stage
marks them (``gr:unstated``: a fact's expected property without a value; ``gr:possibleType``: a
class the fact belongs to under some value of an unstated property), and the reader gives such a
value as an :class:`Uncertain` node. Every constraint then answers True, False or
:class:`Unknown` (naming the unstated values it hangs on): a value test on an unknown value is
unknown; a count is a range, from the values that surely count to those that may; ``sh:not``,
``sh:and``, ``sh:or``, ``sh:node`` and qualified counts combine by Kleene's rules. A result of an
unknown constraint carries ``undecided`` (the gaps), and no value. With nothing unstated the
evaluation is pyshacl's, result for result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from collections.abc import Collection as Collection_  # rdflib.collection.Collection is used here too
from datetime import date, datetime, time
from decimal import Decimal
from typing import NamedTuple, final

from pyshacl.rdfutil.compare import compare_literal
from rdflib import RDF, RDFS, SH, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from reasoner._rdf.case_store import CaseStore
from reasoner.vocab import GR

# pyshacl refuses deeper nesting; such shapes are left to it.
MAX_DEPTH = 15

_TARGETS = (SH.targetNode, SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf)
_SHAPE_PARAMS = (SH.node, SH["not"], SH["or"], SH["and"], SH.property, SH.qualifiedValueShape)
# Everything else in the sh: namespace on a shape makes it uncompilable.
_UNDERSTOOD = frozenset(
    {
        *_TARGETS,
        *_SHAPE_PARAMS,
        SH.path, SH["class"], SH.datatype, SH.nodeKind, SH.minCount, SH.maxCount,
        SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive, SH.hasValue, SH["in"],
        SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.pattern, SH.flags, SH.minLength, SH.maxLength,
        SH.severity, SH.message, SH.name, SH.description, SH.order, SH.group, SH.defaultValue,
    }
)  # fmt: skip
_SINGLE: tuple[URIRef, ...] = (SH.path, SH.severity, SH.minCount, SH.maxCount, SH.minLength, SH.maxLength, SH.flags)
_SINGLE += (SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive, SH.datatype, SH.nodeKind)
_SINGLE += (SH.qualifiedValueShape, SH.qualifiedMinCount, SH.qualifiedMaxCount)

_TYPE = RDF.type  # rdflib's RDF namespace answers each attribute through a Python __getattr__
_SUBCLASS = RDFS.subClassOf


class Gap(NamedTuple):
    """A value the case does not state: the property of one fact."""

    fact: Node
    prop: Node


class Result(NamedTuple):
    """One validation result: the shape that produced it, its focus node, value and severity.

    ``undecided`` is None for a failure; for a constraint that unstated values leave undecided,
    it names them (and ``value`` is None).
    """

    source_shape: Node
    focus: Node
    value: Node | None
    severity: Node
    undecided: frozenset[Gap] | None = None


@final  # final, so that a test of type(t) is Unknown narrows both ways
class Unknown:
    """Kleene's third truth value: undecided, because of the unstated values in ``gaps``."""

    __slots__ = ("gaps",)

    def __init__(self, gaps: frozenset[Gap]) -> None:
        self.gaps = gaps

    def __repr__(self) -> str:
        return f"Unknown({sorted(map(str, self.gaps))})"


Truth = bool | Unknown


@final  # final, so that a test of type(v) is Uncertain narrows both ways
class Uncertain:
    """A value node that may not be there, on condition of the unstated values in ``gaps``.

    ``node`` is what it would be (None: a value not stated, whatever it is). Never in a graph.
    """

    __slots__ = ("node", "gaps")

    def __init__(self, node: Node | None, gaps: frozenset[Gap]) -> None:
        self.node, self.gaps = node, gaps

    def __eq__(self, other: object) -> bool:
        return type(other) is Uncertain and (self.node, self.gaps) == (other.node, other.gaps)

    def __hash__(self) -> int:
        return hash((Uncertain, self.node, self.gaps))


#: A value node as the reader gives it: a node of the data graph, or one that may not be there.
Value = Node | Uncertain


def gaps_of(t: Truth) -> frozenset[Gap]:
    """The unstated values a truth value hangs on (none for True or False)."""
    return t.gaps if type(t) is Unknown else frozenset()


def kleene_and(a: Truth, b: Truth) -> Truth:
    """False if either is; True if both are; else unknown."""
    if a is False or b is False:
        return False
    if a is True:
        return b
    if b is True:
        return a
    return Unknown(a.gaps | b.gaps)


def kleene_or(a: Truth, b: Truth) -> Truth:
    """True if either is; False if both are; else unknown."""
    if a is True or b is True:
        return True
    if a is False:
        return b
    if b is False:
        return a
    return Unknown(a.gaps | b.gaps)


def kleene_not(a: Truth) -> Truth:
    """The negation; unknown stays unknown."""
    return a if type(a) is Unknown else not a


def _surely(t: Truth, gaps: frozenset[Gap]) -> Truth:
    """What a test on a value that may not be there says: True stays, anything else is unknown."""
    return True if t is True else Unknown(gaps | gaps_of(t))


def _plain(node: Value) -> Node:
    """A node a result can name: an uncertain value's node, or the fact whose value is unstated."""
    if type(node) is Uncertain:
        return node.node if node.node is not None else min(node.gaps, key=str).fact
    return node


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
        self.conformance: dict[tuple[Shape, Value], Truth] = {}  # (shape, focus) -> whether it conforms
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


# A path's value nodes: the reader's tuples (distinct) or sets.
Path = Callable[[Reader, Value], Collection_[Value]]
# A check reads (reader, focus, value nodes, results or None) and says whether they conform.
# With results None the caller wants only conformance and the check may stop at the first failure.
Check = Callable[[Reader, Value, Collection_[Value], "list[Result] | None"], "Truth"]
# A test of one value node (never an unknown one: _per_value answers for those).
Test = Callable[[Reader, Node], Truth]


class Shape:
    """A compiled shape. ``path`` is None for a node shape (its value node is the focus)."""

    __slots__ = ("node", "severity", "path", "targets", "checks")

    def __init__(self, node: Node, severity: Node, path: Path | None) -> None:
        self.node = node
        self.severity = severity
        self.path = path
        self.targets: tuple[tuple[Node, ...], ...] = ((), (), (), ())  # the nodes of each of _TARGETS, in order
        self.checks: list[Check] = []

    def focus_nodes(self, reader: Reader) -> set[Value]:
        """The nodes this shape's targets select (possible ones as :class:`Uncertain`)."""
        nodes, classes, subjects_of, objects_of = self.targets
        found: set[Value] = set(nodes)
        for c in classes:
            found |= reader.instances(c)
        for p in subjects_of:
            found.update(s for s, _o in reader.pairs(p))
        for p in objects_of:
            found.update(o for _s, o in reader.pairs(p))
        return found

    def value_nodes(self, reader: Reader, focus: Value) -> Collection_[Value]:
        """The focus for a node shape; the path's values for a property shape (each once)."""
        if self.path is None:
            return (focus,)
        found = self.path(reader, focus)
        # Paths give the reader's tuples (distinct: they come from the store's indexes) or sets;
        # a frozenset of either cost a Python-level hash per literal value.
        return found if type(found) in (tuple, set) else frozenset(found)

    def conforms(self, reader: Reader, focus: Value) -> Truth:
        """Whether ``focus`` conforms: True, False (at the first failing check) or unknown.

        Remembered for the reader's validation: a record is asked about by its session and on its own.
        """
        key = (self, focus)
        found = reader.conformance.get(key)
        if found is not None:
            return found
        if type(focus) is Uncertain and focus.node is not None:  # a node that may not be a value at all
            found = _surely(self.conforms(reader, focus.node), focus.gaps)
        else:
            found = self._conforms(reader, focus)
        reader.conformance[key] = found
        return found

    def _conforms(self, reader: Reader, focus: Value) -> Truth:
        values = self.value_nodes(reader, focus)
        result: Truth = True
        for check in self.checks:
            t = check(reader, focus, values, None)
            if t is False:
                return False
            if t is not True:
                result = kleene_and(result, t)
        return result

    def evaluate(self, reader: Reader, focus: Value, out: list[Result]) -> None:
        """Append this shape's results for ``focus`` (and its property shapes') to ``out``."""
        if type(focus) is Uncertain and focus.node is not None:  # what fails on it is only undecided
            before = len(out)
            self.evaluate(reader, focus.node, out)
            for i in range(before, len(out)):
                r = out[i]
                out[i] = r._replace(value=None, undecided=(r.undecided or frozenset()) | focus.gaps)
            return
        values = self.value_nodes(reader, focus)
        for check in self.checks:
            check(reader, focus, values, out)

    def validate(self, reader: Reader) -> list[Result]:
        """The results for every focus node of this shape's targets."""
        out: list[Result] = []
        for focus in self.focus_nodes(reader):
            self.evaluate(reader, focus, out)
        return out


class Unsupported(Exception):
    """The shape uses something this evaluator does not implement; run it in pyshacl."""


def compile_shape(shapes: Graph, node: Node, cache: dict[Node, Shape | None] | None = None) -> Shape | None:
    """Compile the shape ``node`` of ``shapes`` and every shape it refers to, or None if unsupported."""
    cache = {} if cache is None else cache
    if node not in cache:
        try:
            cache[node] = _Compiler(shapes, cache).shape(node, ())
        except Unsupported:
            cache[node] = None
    return cache[node]


class _Compiler:
    def __init__(self, shapes: Graph, cache: dict[Node, Shape | None]) -> None:
        self.g = shapes
        self.cache = cache

    def shape(self, node: Node, stack: tuple[Node, ...]) -> Shape:
        if node in stack or len(stack) >= MAX_DEPTH:
            raise Unsupported("recursive or deep shape")  # pyshacl reports these; leave them to it
        done = self.cache.get(node, False)
        if done is None:
            raise Unsupported("refers to an unsupported shape")
        if isinstance(done, Shape):  # else False: not compiled yet
            return done
        g = self.g
        params: dict[Node, list[Node]] = {}
        for p, o in g.predicate_objects(node):
            if str(p).startswith(str(SH)):
                if p not in _UNDERSTOOD:
                    raise Unsupported(str(p))
                params.setdefault(p, []).append(o)
            elif p == _TYPE and o in (RDFS.Class, URIRef("http://www.w3.org/2002/07/owl#Class")):
                raise Unsupported("implicit class target")
        if any(len(params.get(p, ())) > 1 for p in _SINGLE):
            raise Unsupported("a parameter given twice")
        severity = params.get(SH.severity, [SH.Violation])[0]
        path = _path(g, params[SH.path][0]) if SH.path in params else None
        shape = Shape(node, severity, path)
        shape.targets = tuple(tuple(params.get(t, ())) for t in _TARGETS)
        inner = (*stack, node)
        checks = shape.checks
        # Tests made in a loop bind their loop variable as a default (a def, not a lambda, so that it is typed).
        for cls in params.get(SH["class"], ()):

            def is_instance(r: Reader, v: Node, c: Node = cls) -> Truth:
                return r.is_instance(v, c)

            checks.append(_per_value(shape, is_instance))
        if SH.datatype in params:
            dt = params[SH.datatype][0]

            def has_datatype(_r: Reader, v: Node, d: Node = dt) -> Truth:
                return _has_datatype(v, d)

            checks.append(_per_value(shape, has_datatype))
        if SH.nodeKind in params:
            kinds = _NODE_KINDS.get(params[SH.nodeKind][0])
            if kinds is None:
                raise Unsupported("sh:nodeKind value")

            def of_kind(_r: Reader, v: Node) -> Truth:
                return isinstance(v, kinds)

            checks.append(_per_value(shape, of_kind))
        for p, op in _RANGES.items():
            if p in params:
                bound = params[p][0]
                if not isinstance(bound, Literal):
                    raise Unsupported("a range bound that is not a literal")

                checks.append(_per_value(shape, _range_test(bound, op)))
        if SH.minLength in params or SH.maxLength in params:
            shortest, longest = _int(params, SH.minLength), _int(params, SH.maxLength)
            if shortest is not None:

                def long_enough(_r: Reader, v: Node) -> Truth:
                    return not isinstance(v, BNode) and len(_string(v)) >= shortest

                checks.append(_per_value(shape, long_enough))
            if longest is not None:

                def short_enough(_r: Reader, v: Node) -> Truth:
                    return not isinstance(v, BNode) and len(_string(v)) <= longest

                checks.append(_per_value(shape, short_enough))
        if SH.pattern in params:
            flags = str(params[SH.flags][0]).lower() if SH.flags in params else ""
            re_flags = (re.I if "i" in flags else 0) | (re.M if "m" in flags else 0)
            for pattern in params[SH.pattern]:
                matcher = re.compile(str(pattern), re_flags)

                def matches(_r: Reader, v: Node, m: re.Pattern[str] = matcher) -> Truth:
                    return not isinstance(v, BNode) and bool(m.search(_string(v)))

                checks.append(_per_value(shape, matches))
        for members in params.get(SH["in"], ()):
            allowed = frozenset(Collection(g, members))

            def is_in(_r: Reader, v: Node, a: frozenset[Node] = allowed) -> Truth:
                return v in a

            checks.append(_per_value(shape, is_in))
        for value in params.get(SH.hasValue, ()):
            checks.append(_has_value(shape, value))
        lo, hi = _int(params, SH.minCount), _int(params, SH.maxCount)
        if lo is not None or hi is not None:
            checks.append(_count(shape, lo, hi))
        for other in params.get(SH.node, ()):
            nested = self.shape(other, inner)

            def conforms(r: Reader, v: Node, n: Shape = nested) -> Truth:
                return n.conforms(r, v)

            checks.append(_per_value(shape, conforms))
        for other in params.get(SH["not"], ()):
            nested = self.shape(other, inner)

            def not_conforms(r: Reader, v: Node, n: Shape = nested) -> Truth:
                return kleene_not(n.conforms(r, v))

            checks.append(_per_value(shape, not_conforms))
        for members in params.get(SH["or"], ()):
            alternatives = self._list(members, inner)

            def conforms_to_any(r: Reader, v: Node, a: tuple[Shape, ...] = alternatives) -> Truth:
                return _any(n.conforms(r, v) for n in a)

            checks.append(_per_value(shape, conforms_to_any))
        for members in params.get(SH["and"], ()):
            required = self._list(members, inner)

            def conforms_to_all(r: Reader, v: Node, a: tuple[Shape, ...] = required) -> Truth:
                return _all(n.conforms(r, v) for n in a)

            checks.append(_per_value(shape, conforms_to_all))
        if SH.qualifiedValueShape in params:
            nested = self.shape(params[SH.qualifiedValueShape][0], inner)
            checks.append(
                _qualified(shape, nested, _int(params, SH.qualifiedMinCount), _int(params, SH.qualifiedMaxCount))
            )
        elif SH.qualifiedMinCount in params or SH.qualifiedMaxCount in params:
            raise Unsupported("a qualified count without a qualified value shape")
        for other in params.get(SH.property, ()):
            nested = self.shape(other, inner)
            if nested.path is None:
                raise Unsupported("sh:property names a shape without sh:path")  # pyshacl refuses it
            checks.append(_property(nested))
        return shape

    def _list(self, members: Node, stack: tuple[Node, ...]) -> tuple[Shape, ...]:
        items = list(Collection(self.g, members))
        if not items:
            raise Unsupported("an empty shape list")
        return tuple(self.shape(i, stack) for i in items)


def _int(params: dict[Node, list[Node]], p: Node) -> int | None:
    if p not in params:
        return None
    value = params[p][0]
    if not isinstance(value, Literal) or not isinstance(value.value, int) or isinstance(value.value, bool):
        raise Unsupported(f"{p} is not an integer")
    return value.value


def _path(g: Graph, node: Node | None, inverse: bool = False) -> Path:
    if isinstance(node, URIRef):
        if inverse:
            return lambda r, f: r.subjects(node, f)
        return lambda r, f: r.objects(f, node)
    if not isinstance(node, BNode):
        raise Unsupported("a literal path")
    kinds = {p for p, _o in g.predicate_objects(node)}
    if kinds == {SH.inversePath}:
        return _path(g, g.value(node, SH.inversePath), not inverse)
    if kinds == {SH.alternativePath}:
        alternatives = g.value(node, SH.alternativePath)  # there is one: its predicate is the node's only one
        parts = [_path(g, p, inverse) for p in Collection(g, alternatives)] if alternatives is not None else []
        if len(parts) < 2:
            raise Unsupported("an alternative path of fewer than two paths")
        return lambda r, f: {v for part in parts for v in part(r, f)}
    if kinds == {RDF.first, RDF.rest}:
        if inverse:
            # pyshacl walks ^(a/b) as ^a/^b, not ^b/^a; rules.py writes inverses step by step instead.
            raise Unsupported("the inverse of a sequence path")
        steps = [_path(g, p) for p in Collection(g, node)]
        if len(steps) < 2:
            raise Unsupported("a sequence path of fewer than two steps")

        def sequence(r: Reader, f: Value) -> set[Value]:
            current: set[Value] = {f}
            for step in steps:
                current = {v for c in current for v in step(r, c)}
            return current

        return sequence
    raise Unsupported("a path kind other than predicate, inverse, alternative or sequence")


def _any(truths: Iterable[Truth]) -> Truth:
    """Kleene's OR, stopping at the first True."""
    result: Truth = False
    for t in truths:
        if t is True:
            return True
        result = kleene_or(result, t)
    return result


def _all(truths: Iterable[Truth]) -> Truth:
    """Kleene's AND, stopping at the first False."""
    result: Truth = True
    for t in truths:
        if t is False:
            return False
        result = kleene_and(result, t)
    return result


def _per_value(shape: Shape, test: Callable[[Reader, Node], Truth]) -> Check:
    """A constraint checked value by value, with each failing value as the result's sh:value.

    An unstated value is unknown; a value that may not be there (:class:`Uncertain` with a node)
    counts when it passes and is unknown when it does not.
    """

    def check(r: Reader, focus: Value, values: Collection_[Value], out: list[Result] | None) -> Truth:
        result: Truth = True
        for v in values:
            if type(v) is Uncertain:
                t: Truth = Unknown(v.gaps) if v.node is None else _surely(test(r, v.node), v.gaps)
            else:
                t = test(r, v)
            if t is True:
                continue
            if t is False:
                if out is None:
                    return False
                assert type(v) is not Uncertain  # a test of an uncertain value is never False (_surely)
                out.append(Result(shape.node, _plain(focus), v, shape.severity))
            elif out is not None:
                out.append(Result(shape.node, _plain(focus), None, shape.severity, t.gaps))
            result = kleene_and(result, t)
        return result

    return check


def _undecided(shape: Shape, focus: Value, gaps: frozenset[Gap], out: list[Result] | None) -> Unknown:
    if out is not None:
        out.append(Result(shape.node, _plain(focus), None, shape.severity, gaps))
    return Unknown(gaps)


def _has_value(shape: Shape, value: Node) -> Check:
    def check(_r: Reader, focus: Value, values: Collection_[Value], out: list[Result] | None) -> Truth:
        if value in values:
            return True
        maybe = [v for v in values if type(v) is Uncertain and v.node in (None, value)]
        if maybe:
            return _undecided(shape, focus, frozenset().union(*(v.gaps for v in maybe)), out)
        if out is not None:
            out.append(Result(shape.node, _plain(focus), None, shape.severity))
        return False

    return check


def _bounds(
    shape: Shape,
    focus: Value,
    surely: int,
    maybe: int,
    gaps: frozenset[Gap],
    lo: int | None,
    hi: int | None,
    out: list[Result] | None,
) -> Truth:
    """A count that is at least ``surely`` and at most ``maybe``, against sh:minCount/maxCount-like bounds.

    Failing: the count fails whatever the unstated values are. Unknown: it may or may not.
    """  # fmt: skip
    failures = (lo is not None and maybe < lo) + (hi is not None and surely > hi)
    if failures:
        if out is not None:
            out.extend([Result(shape.node, _plain(focus), None, shape.severity)] * failures)
        return False
    if (lo is not None and surely < lo) or (hi is not None and maybe > hi):
        return _undecided(shape, focus, gaps, out)
    return True


def _count(shape: Shape, lo: int | None, hi: int | None) -> Check:
    def check(_r: Reader, focus: Value, values: Collection_[Value], out: list[Result] | None) -> Truth:
        maybe = len(values)
        uncertain = [v for v in values if type(v) is Uncertain] if _r.uncertain else []
        if not uncertain:
            return _bounds(shape, focus, maybe, maybe, frozenset(), lo, hi, out)
        gaps = frozenset().union(*(v.gaps for v in uncertain))
        return _bounds(shape, focus, maybe - len(uncertain), maybe, gaps, lo, hi, out)

    return check


def _qualified(shape: Shape, nested: Shape, lo: int | None, hi: int | None) -> Check:
    def check(r: Reader, focus: Value, values: Collection_[Value], out: list[Result] | None) -> Truth:
        surely = maybe = 0
        gaps: frozenset[Gap] = frozenset()
        for v in values:
            t = nested.conforms(r, v)  # an uncertain value: True only if it would surely qualify
            if t is False:
                continue
            maybe += 1
            if t is True and type(v) is not Uncertain:
                surely += 1
            else:
                gaps |= gaps_of(t) | (v.gaps if type(v) is Uncertain else frozenset())
        return _bounds(shape, focus, surely, maybe, gaps, lo, hi, out)

    return check


def _property(nested: Shape) -> Check:
    """sh:property: the property shape's own results, for each value node of this shape."""

    def check(r: Reader, _focus: Value, values: Collection_[Value], out: list[Result] | None) -> Truth:
        if out is None:
            return _all(nested.conforms(r, v) for v in values)
        before = len(out)
        for v in values:
            nested.evaluate(r, v, out)
        added = out[before:]
        if not added:
            return True
        if any(x.undecided is None for x in added):
            return False
        return Unknown(frozenset().union(*(x.undecided for x in added if x.undecided is not None)))  # none is

    return check


_NODE_KINDS: dict[Node, tuple[type, ...]] = {
    SH.BlankNode: (BNode,),
    SH.IRI: (URIRef,),
    SH.Literal: (Literal,),
    SH.BlankNodeOrIRI: (BNode, URIRef),
    SH.BlankNodeOrLiteral: (BNode, Literal),
    SH.IRIOrLiteral: (URIRef, Literal),
}

_RANGES: dict[Node, Callable[[int], bool]] = {
    SH.minInclusive: lambda c: c >= 0,
    SH.minExclusive: lambda c: c > 0,
    SH.maxInclusive: lambda c: c <= 0,
    SH.maxExclusive: lambda c: c < 0,
}


_NUMBERS = (int, Decimal)  # exact types: a bool is an int to Python, not to XSD


def _range_test(bound: Literal, op: Callable[[int], bool]) -> Test:
    def in_range(_r: Reader, v: Node) -> Truth:
        return _in_range(v, bound, op)

    return in_range


def _in_range(v: Node, bound: Literal, op: Callable[[int], bool]) -> bool:
    # pyshacl's rule: only literals compare, and a string never compares with a non-string.
    if not isinstance(v, Literal) or isinstance(v.value, str) != isinstance(bound.value, str):
        return False
    a, b = v.value, bound.value
    if type(a) in _NUMBERS and type(b) in _NUMBERS:  # what compare_literal does for them, without its calls
        return op((a > b) - (a < b))
    try:
        return op(compare_literal(v, bound))
    except (TypeError, NotImplementedError):
        return False


_PYTHON_TYPES: dict[Node, type | tuple[type, ...]] = {
    XSD.string: (str, bytes),
    RDF.langString: (str, bytes),
    XSD.integer: int,
    XSD.float: float,
    XSD.decimal: Decimal,
    XSD.boolean: bool,
    XSD.date: date,
    XSD.time: time,
    XSD.dateTime: datetime,
}


def _has_datatype(v: Node, dt: Node) -> bool:
    if not isinstance(v, Literal):
        return False
    if v.datatype == dt:
        if getattr(v, "ill_typed", None) is True:
            return False
    elif dt == RDFS.Literal or (dt == RDFS.Datatype and v.datatype):
        return True
    elif not (v.datatype is None and v.language is None and dt == XSD.string) and not (
        dt == RDF.langString and v.language
    ):
        return False
    expected = _PYTHON_TYPES.get(dt)
    return expected is None or isinstance(v.value, expected)


def _string(v: Node) -> str:
    if isinstance(v, Literal) and v.value is not None and v.datatype in (None, RDF.langString, XSD.string):
        return str(v.value)
    return str(v)
