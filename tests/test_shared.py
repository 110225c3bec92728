"""Equal values are one object in what a prepared knowledge base pickles (reasoner/_rdf/shared.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from rdflib import Literal, URIRef

from reasoner._rdf.shared import shared
from reasoner.knowledge.entities import Criterion


@dataclass(frozen=True, slots=True)
class _Slotted:
    names: frozenset[URIRef]
    order: tuple[str, ...]
    value: object = None


@dataclass(frozen=True)
class _Plain:
    words: str
    more: dict[str, object] = field(default_factory=dict)


def _text(s: str) -> str:
    return "".join(list(s))  # an equal string, another object


def test_equal_strings_iris_and_their_containers_become_one_object() -> None:
    a, b = URIRef("urn:a"), URIRef(_text("urn:a"))
    assert a is not b
    value = {
        "x": _Slotted(frozenset({a}), (_text("one"), "two")),
        "y": _Slotted(frozenset({b}), (_text("one"), "two")),
        "z": MappingProxyType({_text("k"): [_text("one")]}),
    }
    copy = shared(value)
    assert copy == value and copy is not value
    x, y = copy["x"], copy["y"]
    assert x.names is y.names and x.order is y.order and copy["z"]["k"][0] is x.order[0]
    assert value["x"].names is not value["y"].names  # the original is not changed


def test_values_equal_but_told_apart_are_never_shared() -> None:
    value = [
        (1,), (True,), (1.0,),  # 1 == True == 1.0
        (Decimal("1.0"),), (Decimal("1"),),
        frozenset({Literal("x", lang="DE")}), frozenset({Literal("x", lang="de")}),
    ]  # fmt: skip
    copy = shared(value)
    assert [type(v[0]) if isinstance(v, tuple) else None for v in copy] == [
        int, bool, float, Decimal, Decimal, None, None
    ]  # fmt: skip
    assert str(copy[3][0]) == "1.0" and str(copy[4][0]) == "1"
    assert {next(iter(copy[5])).language, next(iter(copy[6])).language} == {"DE", "de"}
    assert len({id(v) for v in copy}) == len(copy)


def test_one_object_stays_one_object_and_dataclasses_keep_their_type() -> None:
    inner = {"k": "v"}
    plain = _Plain(_text("w"), inner)
    copy = shared({"a": plain, "b": plain, "c": inner})
    assert type(copy["a"]) is _Plain and copy["a"] == plain
    assert copy["a"] is copy["b"] and copy["a"].more is copy["c"]


def test_a_criterion_comes_back_equal() -> None:
    iri = URIRef("urn:c")
    made = Criterion(
        iri, "c", iri, "label", "statement", "not met", "", "category", iri, True, 1,
        frozenset({iri}), (iri,), frozenset(), (iri,), frozenset(), None, (),
    )  # fmt: skip
    copy = shared([made, made])
    assert copy[0] == made and copy[0] is copy[1] and copy[0] is not made
