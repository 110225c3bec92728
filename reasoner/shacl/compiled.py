"""The compiler: the part of SHACL Core the knowledge base uses, compiled once into Python checks.

Each shape is compiled once into Python checks (reasoner/shacl/checks.py) held by a
:class:`~reasoner.shacl.shape.Shape`; a validation then reads the case through a memoised
:class:`~reasoner.shacl.reader.Reader` instead of pyshacl's per-call constraint objects and result
graphs. Results are pyshacl's, constraint for constraint: the same focus nodes, values, severities
and missing values (``sh:minCount``, ``sh:hasValue`` and qualified counts carry no ``sh:value``),
the same literal comparisons (pyshacl's own ``compare_literal``) and datatype rules.

:func:`compile_shape` refuses (returns ``None``) any shape that uses a feature outside the subset
(SPARQL constraints, ``sh:xone``, ``sh:closed``, property pairs, ``sh:deactivated``, recursive
or very deep shape references, ...); validation.PreparedShapes runs those in pyshacl. The
differential tests (tests/test_differential.py, tests/test_shacl_engine.py) compare the two.

Three-valued (Kleene, reasoner/shacl/truth.py): a value the case does not state is not an absent
value, and every constraint answers True, False or unknown. A result of an unknown constraint
carries ``undecided`` (the gaps), and no value. With nothing unstated the evaluation is pyshacl's,
result for result.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rdflib import RDF, RDFS, SH, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from reasoner.shacl.checks import (
    NODE_KINDS,
    RANGES,
    count,
    has_datatype,
    has_value,
    per_value,
    property_check,
    qualified,
    range_test,
    string_of,
)
from reasoner.shacl.reader import Reader
from reasoner.shacl.shape import Check, Path, Shape, Test
from reasoner.shacl.truth import Truth, Value, kleene_all, kleene_any, kleene_not

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

_TYPE = RDF.type

Params = dict[Node, list[Node]]


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
        """The compiled shape ``node``: its checks in a fixed order, constraint family by family."""
        if node in stack or len(stack) >= MAX_DEPTH:
            raise Unsupported("recursive or deep shape")  # pyshacl reports these; leave them to it
        done = self.cache.get(node, False)
        if done is None:
            raise Unsupported("refers to an unsupported shape")
        if isinstance(done, Shape):  # else False: not compiled yet
            return done
        params = self._params(node)
        severity = params.get(SH.severity, [SH.Violation])[0]
        path = _path(self.g, params[SH.path][0]) if SH.path in params else None
        shape = Shape(node, severity, path)
        shape.targets = tuple(tuple(params.get(t, ())) for t in _TARGETS)
        inner = (*stack, node)
        checks = shape.checks
        checks.extend(per_value(shape, test) for test in _value_tests(self.g, params))
        checks.extend(_count_checks(shape, params))
        checks.extend(self._logical_checks(shape, params, inner))
        checks.extend(self._nested_checks(shape, params, inner))
        return shape

    def _params(self, node: Node) -> Params:
        """The shape's sh: parameters, each with its values; refuses what this evaluator does not implement."""
        params: Params = {}
        for p, o in self.g.predicate_objects(node):
            if str(p).startswith(str(SH)):
                if p not in _UNDERSTOOD:
                    raise Unsupported(str(p))
                params.setdefault(p, []).append(o)
            elif p == _TYPE and o in (RDFS.Class, URIRef("http://www.w3.org/2002/07/owl#Class")):
                raise Unsupported("implicit class target")
        if any(len(params.get(p, ())) > 1 for p in _SINGLE):
            raise Unsupported("a parameter given twice")
        return params

    def _logical_checks(self, shape: Shape, params: Params, inner: tuple[Node, ...]) -> Iterator[Check]:
        """sh:node, sh:not, sh:or and sh:and: each value node against other shapes, by Kleene's rules."""
        for other in params.get(SH.node, ()):
            nested = self.shape(other, inner)

            def conforms(r: Reader, v: Node, n: Shape = nested) -> Truth:
                return n.conforms(r, v)

            yield per_value(shape, conforms)
        for other in params.get(SH["not"], ()):
            nested = self.shape(other, inner)

            def not_conforms(r: Reader, v: Node, n: Shape = nested) -> Truth:
                return kleene_not(n.conforms(r, v))

            yield per_value(shape, not_conforms)
        for members in params.get(SH["or"], ()):
            alternatives = self._list(members, inner)

            def conforms_to_any(r: Reader, v: Node, a: tuple[Shape, ...] = alternatives) -> Truth:
                return kleene_any(n.conforms(r, v) for n in a)

            yield per_value(shape, conforms_to_any)
        for members in params.get(SH["and"], ()):
            required = self._list(members, inner)

            def conforms_to_all(r: Reader, v: Node, a: tuple[Shape, ...] = required) -> Truth:
                return kleene_all(n.conforms(r, v) for n in a)

            yield per_value(shape, conforms_to_all)

    def _nested_checks(self, shape: Shape, params: Params, inner: tuple[Node, ...]) -> Iterator[Check]:
        """A qualified value shape's count, then each sh:property's own results."""
        if SH.qualifiedValueShape in params:
            nested = self.shape(params[SH.qualifiedValueShape][0], inner)
            yield qualified(shape, nested, _int(params, SH.qualifiedMinCount), _int(params, SH.qualifiedMaxCount))
        elif SH.qualifiedMinCount in params or SH.qualifiedMaxCount in params:
            raise Unsupported("a qualified count without a qualified value shape")
        for other in params.get(SH.property, ()):
            nested = self.shape(other, inner)
            if nested.path is None:
                raise Unsupported("sh:property names a shape without sh:path")  # pyshacl refuses it
            yield property_check(nested)

    def _list(self, members: Node, stack: tuple[Node, ...]) -> tuple[Shape, ...]:
        items = list(Collection(self.g, members))
        if not items:
            raise Unsupported("an empty shape list")
        return tuple(self.shape(i, stack) for i in items)


def _value_tests(g: Graph, params: Params) -> Iterator[Test]:
    """The tests of one value node: sh:class, sh:datatype, sh:nodeKind, ranges, lengths, sh:pattern, sh:in."""
    # Tests made in a loop bind their loop variable as a default (a def, not a lambda, so that it is typed).
    for cls in params.get(SH["class"], ()):

        def is_instance(r: Reader, v: Node, c: Node = cls) -> Truth:
            return r.is_instance(v, c)

        yield is_instance
    if SH.datatype in params:
        dt = params[SH.datatype][0]

        def datatype_of(_r: Reader, v: Node, d: Node = dt) -> Truth:
            return has_datatype(v, d)

        yield datatype_of
    if SH.nodeKind in params:
        kinds = NODE_KINDS.get(params[SH.nodeKind][0])
        if kinds is None:
            raise Unsupported("sh:nodeKind value")

        def of_kind(_r: Reader, v: Node) -> Truth:
            return isinstance(v, kinds)

        yield of_kind
    for p, op in RANGES.items():
        if p in params:
            bound = params[p][0]
            if not isinstance(bound, Literal):
                raise Unsupported("a range bound that is not a literal")
            yield range_test(bound, op)
    yield from _string_tests(params)
    for members in params.get(SH["in"], ()):
        allowed = frozenset(Collection(g, members))

        def is_in(_r: Reader, v: Node, a: frozenset[Node] = allowed) -> Truth:
            return v in a

        yield is_in


def _string_tests(params: Params) -> Iterator[Test]:
    """sh:minLength, sh:maxLength and sh:pattern."""
    shortest, longest = _int(params, SH.minLength), _int(params, SH.maxLength)
    if shortest is not None:

        def long_enough(_r: Reader, v: Node) -> Truth:
            return not isinstance(v, BNode) and len(string_of(v)) >= shortest

        yield long_enough
    if longest is not None:

        def short_enough(_r: Reader, v: Node) -> Truth:
            return not isinstance(v, BNode) and len(string_of(v)) <= longest

        yield short_enough
    if SH.pattern in params:
        flags = str(params[SH.flags][0]).lower() if SH.flags in params else ""
        re_flags = (re.I if "i" in flags else 0) | (re.M if "m" in flags else 0)
        for pattern in params[SH.pattern]:
            matcher = re.compile(str(pattern), re_flags)

            def matches(_r: Reader, v: Node, m: re.Pattern[str] = matcher) -> Truth:
                return not isinstance(v, BNode) and bool(m.search(string_of(v)))

            yield matches


def _count_checks(shape: Shape, params: Params) -> Iterator[Check]:
    """sh:hasValue, then sh:minCount and sh:maxCount."""
    for value in params.get(SH.hasValue, ()):
        yield has_value(shape, value)
    lo, hi = _int(params, SH.minCount), _int(params, SH.maxCount)
    if lo is not None or hi is not None:
        yield count(shape, lo, hi)


def _int(params: Params, p: Node) -> int | None:
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
            # pyshacl walks ^(a/b) as ^a/^b, not ^b/^a; reasoner/knowledge/rules/ writes them step by step.
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
