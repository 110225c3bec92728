"""Kleene's three truth values, and the value nodes the case does not state.

Three-valued (Kleene): a value the case does not state is not an absent value. The enrich stage
marks them (``gr:unstated``: a fact's expected property without a value; ``gr:possibleType``: a
class the fact belongs to under some value of an unstated property), and the reader gives such a
value as an :class:`Uncertain` node. Every constraint then answers True, False or
:class:`Unknown` (naming the unstated values it hangs on): a value test on an unknown value is
unknown; a count is a range, from the values that surely count to those that may; ``sh:not``,
``sh:and``, ``sh:or``, ``sh:node`` and qualified counts combine by Kleene's rules.

The truth values, the :class:`Gap` an unknown hangs on, the :class:`Uncertain` value node and
the Kleene connectives; no graph is read here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple, final

from rdflib.term import Node


class Gap(NamedTuple):
    """A value the case does not state: the property of one fact."""

    fact: Node
    prop: Node


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


def surely(t: Truth, gaps: frozenset[Gap]) -> Truth:
    """What a test on a value that may not be there says: True stays, anything else is unknown."""
    return True if t is True else Unknown(gaps | gaps_of(t))


def plain(node: Value) -> Node:
    """A node a result can name: an uncertain value's node, or the fact whose value is unstated."""
    if type(node) is Uncertain:
        return node.node if node.node is not None else min(node.gaps, key=str).fact
    return node


def kleene_any(truths: Iterable[Truth]) -> Truth:
    """Kleene's OR, stopping at the first True."""
    result: Truth = False
    for t in truths:
        if t is True:
            return True
        result = kleene_or(result, t)
    return result


def kleene_all(truths: Iterable[Truth]) -> Truth:
    """Kleene's AND, stopping at the first False."""
    result: Truth = True
    for t in truths:
        if t is False:
            return False
        result = kleene_and(result, t)
    return result
