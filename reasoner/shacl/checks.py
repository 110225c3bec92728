"""The checks a compiled shape runs: one per constraint, over a focus node's value nodes.

Value by value (:func:`per_value`, with the tests of one value: ranges, datatypes, strings),
counted (``sh:minCount``/``sh:maxCount``, qualified counts, as ranges when values are uncertain),
``sh:hasValue`` and ``sh:property``. The same literal comparisons as pyshacl's (its own
``compare_literal``) and datatype rules. This is the hot path: each check is a closure made once
when a shape is compiled.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Collection as Collection_
from datetime import date, datetime, time
from decimal import Decimal

from rdflib import RDF, RDFS, SH, XSD, BNode, Literal, URIRef
from rdflib.term import Node

from reasoner.shacl.reader import Reader
from reasoner.shacl.shape import Check, Result, Shape, Test
from reasoner.shacl.truth import Gap, Truth, Uncertain, Unknown, Value, gaps_of, kleene_all, kleene_and, plain, surely


def per_value(shape: Shape, test: Callable[[Reader, Node], Truth]) -> Check:
    """A constraint checked value by value, with each failing value as the result's sh:value.

    An unstated value is unknown; a value that may not be there (:class:`Uncertain` with a node)
    counts when it passes and is unknown when it does not.
    """

    def check(r: Reader, focus: Value, values: Collection_[Value], out: list[Result] | None) -> Truth:
        result: Truth = True
        for v in values:
            if type(v) is Uncertain:
                t: Truth = Unknown(v.gaps) if v.node is None else surely(test(r, v.node), v.gaps)
            else:
                t = test(r, v)
            if t is True:
                continue
            if t is False:
                if out is None:
                    return False
                assert type(v) is not Uncertain  # a test of an uncertain value is never False (surely)
                out.append(Result(shape.node, plain(focus), v, shape.severity))
            elif out is not None:
                out.append(Result(shape.node, plain(focus), None, shape.severity, t.gaps))
            result = kleene_and(result, t)
        return result

    return check


def _undecided(shape: Shape, focus: Value, gaps: frozenset[Gap], out: list[Result] | None) -> Unknown:
    if out is not None:
        out.append(Result(shape.node, plain(focus), None, shape.severity, gaps))
    return Unknown(gaps)


def has_value(shape: Shape, value: Node) -> Check:
    """sh:hasValue: unknown when only a value that may not be there, or an unstated one, could be it."""

    def check(_r: Reader, focus: Value, values: Collection_[Value], out: list[Result] | None) -> Truth:
        if value in values:
            return True
        maybe = [v for v in values if type(v) is Uncertain and v.node in (None, value)]
        if maybe:
            return _undecided(shape, focus, frozenset().union(*(v.gaps for v in maybe)), out)
        if out is not None:
            out.append(Result(shape.node, plain(focus), None, shape.severity))
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
            out.extend([Result(shape.node, plain(focus), None, shape.severity)] * failures)
        return False
    if (lo is not None and surely < lo) or (hi is not None and maybe > hi):
        return _undecided(shape, focus, gaps, out)
    return True


def count(shape: Shape, lo: int | None, hi: int | None) -> Check:
    """sh:minCount and sh:maxCount: the values that may not be there make the count a range."""

    def check(_r: Reader, focus: Value, values: Collection_[Value], out: list[Result] | None) -> Truth:
        maybe = len(values)
        uncertain = [v for v in values if type(v) is Uncertain] if _r.uncertain else []
        if not uncertain:
            return _bounds(shape, focus, maybe, maybe, frozenset(), lo, hi, out)
        gaps = frozenset().union(*(v.gaps for v in uncertain))
        return _bounds(shape, focus, maybe - len(uncertain), maybe, gaps, lo, hi, out)

    return check


def qualified(shape: Shape, nested: Shape, lo: int | None, hi: int | None) -> Check:
    """A qualified count: the values that surely conform to ``nested``, up to those that may."""

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


def property_check(nested: Shape) -> Check:
    """sh:property: the property shape's own results, for each value node of this shape."""

    def check(r: Reader, _focus: Value, values: Collection_[Value], out: list[Result] | None) -> Truth:
        if out is None:
            return kleene_all(nested.conforms(r, v) for v in values)
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


NODE_KINDS: dict[Node, tuple[type, ...]] = {
    SH.BlankNode: (BNode,),
    SH.IRI: (URIRef,),
    SH.Literal: (Literal,),
    SH.BlankNodeOrIRI: (BNode, URIRef),
    SH.BlankNodeOrLiteral: (BNode, Literal),
    SH.IRIOrLiteral: (URIRef, Literal),
}

RANGES: dict[Node, Callable[[int], bool]] = {
    SH.minInclusive: lambda c: c >= 0,
    SH.minExclusive: lambda c: c > 0,
    SH.maxInclusive: lambda c: c <= 0,
    SH.maxExclusive: lambda c: c < 0,
}


_NUMBERS = (int, Decimal)  # exact types: a bool is an int to Python, not to XSD


def range_test(bound: Literal, op: Callable[[int], bool]) -> Test:
    """A range constraint's test: ``op`` of the value compared with ``bound`` (one of :data:`RANGES`)."""

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
        return op(_compare_literal(v, bound))
    except (TypeError, NotImplementedError):
        return False


def _compare_literal(a: Literal, b: Literal) -> int:
    # pyshacl takes a tenth of a second to import: only once a value other than a number is compared.
    from reasoner.shacl._pyshacl import compare_literal

    return int(compare_literal(a, b))


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


def has_datatype(v: Node, dt: Node) -> bool:
    """Whether ``v`` is a literal of datatype ``dt``, by pyshacl's rules (an ill-typed literal is not)."""
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


def string_of(v: Node) -> str:
    """The string sh:minLength, sh:maxLength and sh:pattern read: a string literal's value, else the lexical form."""
    if isinstance(v, Literal) and v.value is not None and v.datatype in (None, RDF.langString, XSD.string):
        return str(v.value)
    return str(v)
