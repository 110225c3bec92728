"""A compiled shape, and the results it gives.

:class:`Shape` holds what the compiler (reasoner/shacl/compiled.py) made of one shape: its
targets, its path and its checks (reasoner/shacl/checks.py), and answers conformance and results
for a focus node through a :class:`~reasoner.shacl.reader.Reader`. A result of an unknown
constraint carries ``undecided`` (the gaps), and no value.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Collection as Collection_
from typing import NamedTuple

from rdflib.term import Node

from reasoner.shacl.reader import Reader
from reasoner.shacl.truth import Gap, Truth, Uncertain, Value, kleene_and, surely


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
        self.targets: tuple[tuple[Node, ...], ...] = (
            (),
            (),
            (),
            (),
        )  # sh:targetNode, targetClass, targetSubjectsOf, targetObjectsOf
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
            found = surely(self.conforms(reader, focus.node), focus.gaps)
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
