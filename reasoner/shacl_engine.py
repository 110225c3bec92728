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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from collections.abc import Collection as Collection_  # rdflib.collection.Collection is used here too
from datetime import date, datetime, time
from decimal import Decimal
from typing import NamedTuple

from pyshacl.rdfutil.compare import compare_literal
from rdflib import RDF, RDFS, SH, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

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
_SINGLE = (SH.path, SH.severity, SH.minCount, SH.maxCount, SH.minLength, SH.maxLength, SH.flags)
_SINGLE += (SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive, SH.datatype, SH.nodeKind)
_SINGLE += (SH.qualifiedValueShape, SH.qualifiedMinCount, SH.qualifiedMaxCount)

_TYPE = RDF.type  # rdflib's RDF namespace answers each attribute through a Python __getattr__


class Result(NamedTuple):
    """One validation result: the shape that produced it, its focus node, value and severity."""

    source_shape: Node
    focus: Node
    value: Node | None
    severity: Node


class Reader:
    """Memoised reads of one data graph for the length of one validation."""

    __slots__ = ("_graph", "_out", "_in", "_supers", "_instances", "_kinds")

    def __init__(self, graph: Graph) -> None:
        self._graph = graph
        self._out: dict[tuple[Node, Node], tuple[Node, ...]] = {}
        self._in: dict[tuple[Node, Node], tuple[Node, ...]] = {}
        self._supers: dict[Node, frozenset[Node]] = {}
        self._instances: dict[Node, frozenset[Node]] = {}
        self._kinds: dict[Node, frozenset[Node]] = {}  # a node's types with their superclasses

    def objects(self, s: Node, p: Node) -> tuple[Node, ...]:
        """Objects of ``s`` by ``p``."""
        key = (s, p)
        found = self._out.get(key)
        if found is None:
            found = self._out[key] = tuple(self._graph.objects(s, p))  # type: ignore[arg-type]
        return found

    def subjects(self, p: Node, o: Node) -> tuple[Node, ...]:
        """Subjects with ``p`` to ``o``."""
        key = (p, o)
        found = self._in.get(key)
        if found is None:
            found = self._in[key] = tuple(self._graph.subjects(p, o))  # type: ignore[arg-type]
        return found

    def pairs(self, p: Node) -> list[tuple[Node, Node]]:
        """Every (subject, object) linked by ``p``."""
        return list(self._graph.subject_objects(p))  # type: ignore[arg-type]

    def superclasses(self, cls: Node) -> frozenset[Node]:
        """``cls`` and every class it is rdfs:subClassOf, transitively, in the data graph."""
        found = self._supers.get(cls)
        if found is None:
            found = self._supers[cls] = _closure(cls, lambda c: self.objects(c, RDFS.subClassOf))
        return found

    def instances(self, cls: Node) -> frozenset[Node]:
        """Instances of ``cls`` or of its subclasses in the data graph."""
        found = self._instances.get(cls)
        if found is None:
            subclasses = _closure(cls, lambda c: self.subjects(RDFS.subClassOf, c))
            found = self._instances[cls] = frozenset(i for c in subclasses for i in self.subjects(_TYPE, c))
        return found

    def is_instance(self, node: Node, cls: Node) -> bool:
        """Whether ``node`` has a type that is ``cls`` or a subclass of it (as sh:class reads it)."""
        if isinstance(node, Literal):
            return False
        kinds = self._kinds.get(node)
        if kinds is None:  # the data graph does not change while it is validated
            kinds = self._kinds[node] = frozenset().union(*(self.superclasses(t) for t in self.objects(node, _TYPE)))
        return cls in kinds


def _closure(start: Node, step: Callable[[Node], Iterable[Node]]) -> frozenset[Node]:
    seen, stack = {start}, [start]
    while stack:
        for nxt in step(stack.pop()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return frozenset(seen)


Path = Callable[[Reader, Node], Iterable[Node]]
# A check reads (reader, focus, value nodes, results or None) and says whether they conform.
# With results None the caller wants only conformance and the check may stop at the first failure.
Check = Callable[[Reader, Node, Collection_[Node], "list[Result] | None"], bool]


class Shape:
    """A compiled shape. ``path`` is None for a node shape (its value node is the focus)."""

    __slots__ = ("node", "severity", "path", "targets", "checks")

    def __init__(self, node: Node, severity: Node, path: Path | None) -> None:
        self.node = node
        self.severity = severity
        self.path = path
        self.targets: tuple[tuple[Node, ...], tuple[Node, ...], tuple[Node, ...], tuple[Node, ...]] = ((), (), (), ())
        self.checks: list[Check] = []

    def focus_nodes(self, reader: Reader) -> set[Node]:
        """The nodes this shape's targets select."""
        nodes, classes, subjects_of, objects_of = self.targets
        found: set[Node] = set(nodes)
        for c in classes:
            found |= reader.instances(c)
        for p in subjects_of:
            found.update(s for s, _o in reader.pairs(p))
        for p in objects_of:
            found.update(o for _s, o in reader.pairs(p))
        return found

    def value_nodes(self, reader: Reader, focus: Node) -> Collection_[Node]:
        """The focus for a node shape; the path's values for a property shape (each once)."""
        if self.path is None:
            return (focus,)
        found = self.path(reader, focus)
        # Paths give the reader's tuples (distinct: they come from the store's indexes) or sets;
        # a frozenset of either cost a Python-level hash per literal value.
        return found if type(found) in (tuple, set) else frozenset(found)

    def conforms(self, reader: Reader, focus: Node) -> bool:
        """Whether ``focus`` conforms (stops at the first failing check)."""
        values = self.value_nodes(reader, focus)
        return all(check(reader, focus, values, None) for check in self.checks)

    def evaluate(self, reader: Reader, focus: Node, out: list[Result]) -> None:
        """Append this shape's results for ``focus`` (and its property shapes') to ``out``."""
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
        if done is not False:
            return done  # type: ignore[return-value]
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
        shape.targets = tuple(tuple(params.get(t, ())) for t in _TARGETS)  # type: ignore[assignment]
        inner = (*stack, node)
        checks = shape.checks
        for cls in params.get(SH["class"], ()):
            checks.append(_per_value(shape, lambda r, v, c=cls: r.is_instance(v, c)))
        if SH.datatype in params:
            dt = params[SH.datatype][0]
            checks.append(_per_value(shape, lambda _r, v, d=dt: _has_datatype(v, d)))
        if SH.nodeKind in params:
            kinds = _NODE_KINDS.get(params[SH.nodeKind][0])
            if kinds is None:
                raise Unsupported("sh:nodeKind value")
            checks.append(_per_value(shape, lambda _r, v, k=kinds: isinstance(v, k)))
        for p, op in _RANGES.items():
            if p in params:
                bound = params[p][0]
                if not isinstance(bound, Literal):
                    raise Unsupported("a range bound that is not a literal")
                checks.append(_per_value(shape, lambda _r, v, b=bound, o=op: _in_range(v, b, o)))
        if SH.minLength in params or SH.maxLength in params:
            shortest, longest = _int(params, SH.minLength), _int(params, SH.maxLength)
            if shortest is not None:
                checks.append(
                    _per_value(shape, lambda _r, v, n=shortest: not isinstance(v, BNode) and len(_string(v)) >= n)
                )
            if longest is not None:
                checks.append(
                    _per_value(shape, lambda _r, v, n=longest: not isinstance(v, BNode) and len(_string(v)) <= n)
                )
        if SH.pattern in params:
            flags = str(params[SH.flags][0]).lower() if SH.flags in params else ""
            re_flags = (re.I if "i" in flags else 0) | (re.M if "m" in flags else 0)
            for pattern in params[SH.pattern]:
                matcher = re.compile(str(pattern), re_flags)
                checks.append(
                    _per_value(shape, lambda _r, v, m=matcher: not isinstance(v, BNode) and bool(m.search(_string(v))))
                )
        for members in params.get(SH["in"], ()):
            allowed = frozenset(Collection(g, members))  # type: ignore[arg-type]
            checks.append(_per_value(shape, lambda _r, v, a=allowed: v in a))
        for value in params.get(SH.hasValue, ()):
            checks.append(_has_value(shape, value))
        lo, hi = _int(params, SH.minCount), _int(params, SH.maxCount)
        if lo is not None or hi is not None:
            checks.append(_count(shape, lo, hi))
        for other in params.get(SH.node, ()):
            nested = self.shape(other, inner)
            checks.append(_per_value(shape, lambda r, v, n=nested: n.conforms(r, v)))
        for other in params.get(SH["not"], ()):
            nested = self.shape(other, inner)
            checks.append(_per_value(shape, lambda r, v, n=nested: not n.conforms(r, v)))
        for members in params.get(SH["or"], ()):
            alternatives = self._list(members, inner)
            checks.append(_per_value(shape, lambda r, v, a=alternatives: any(n.conforms(r, v) for n in a)))
        for members in params.get(SH["and"], ()):
            required = self._list(members, inner)
            checks.append(_per_value(shape, lambda r, v, a=required: all(n.conforms(r, v) for n in a)))
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
        items = list(Collection(self.g, members))  # type: ignore[arg-type]
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


def _path(g: Graph, node: Node, inverse: bool = False) -> Path:
    if isinstance(node, URIRef):
        if inverse:
            return lambda r, f: r.subjects(node, f)
        return lambda r, f: r.objects(f, node)
    if not isinstance(node, BNode):
        raise Unsupported("a literal path")
    kinds = {p for p, _o in g.predicate_objects(node)}
    if kinds == {SH.inversePath}:
        return _path(g, g.value(node, SH.inversePath), not inverse)  # type: ignore[arg-type]
    if kinds == {SH.alternativePath}:
        parts = [_path(g, p, inverse) for p in Collection(g, g.value(node, SH.alternativePath))]  # type: ignore[arg-type]
        if len(parts) < 2:
            raise Unsupported("an alternative path of fewer than two paths")
        return lambda r, f: {v for part in parts for v in part(r, f)}
    if kinds == {RDF.first, RDF.rest}:
        if inverse:
            # pyshacl walks ^(a/b) as ^a/^b, not ^b/^a; rules.py writes inverses step by step instead.
            raise Unsupported("the inverse of a sequence path")
        steps = [_path(g, p) for p in Collection(g, node)]  # type: ignore[arg-type]
        if len(steps) < 2:
            raise Unsupported("a sequence path of fewer than two steps")

        def sequence(r: Reader, f: Node) -> set[Node]:
            current: set[Node] = {f}
            for step in steps:
                current = {v for c in current for v in step(r, c)}
            return current

        return sequence
    raise Unsupported("a path kind other than predicate, inverse, alternative or sequence")


def _per_value(shape: Shape, test: Callable[[Reader, Node], bool]) -> Check:
    """A constraint checked value by value, with each failing value as the result's sh:value."""

    def check(r: Reader, focus: Node, values: Collection_[Node], out: list[Result] | None) -> bool:
        ok = True
        for v in values:
            if not test(r, v):
                if out is None:
                    return False
                ok = False
                out.append(Result(shape.node, focus, v, shape.severity))
        return ok

    return check


def _has_value(shape: Shape, value: Node) -> Check:
    def check(_r: Reader, focus: Node, values: Collection_[Node], out: list[Result] | None) -> bool:
        if value in values:
            return True
        if out is not None:
            out.append(Result(shape.node, focus, None, shape.severity))
        return False

    return check


def _count(shape: Shape, lo: int | None, hi: int | None) -> Check:
    def check(_r: Reader, focus: Node, values: Collection_[Node], out: list[Result] | None) -> bool:
        n = len(values)
        failures = (lo is not None and n < lo) + (hi is not None and n > hi)
        if failures and out is not None:
            out.extend([Result(shape.node, focus, None, shape.severity)] * failures)
        return not failures

    return check


def _qualified(shape: Shape, nested: Shape, lo: int | None, hi: int | None) -> Check:
    def check(r: Reader, focus: Node, values: Collection_[Node], out: list[Result] | None) -> bool:
        n = sum(1 for v in values if nested.conforms(r, v))
        failures = (hi is not None and n > hi) + (lo is not None and n < lo)
        if failures and out is not None:
            out.extend([Result(shape.node, focus, None, shape.severity)] * failures)
        return not failures

    return check


def _property(nested: Shape) -> Check:
    """sh:property: the property shape's own results, for each value node of this shape."""

    def check(r: Reader, _focus: Node, values: Collection_[Node], out: list[Result] | None) -> bool:
        if out is None:
            return all(nested.conforms(r, v) for v in values)
        before = len(out)
        for v in values:
            nested.evaluate(r, v, out)
        return len(out) == before

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
