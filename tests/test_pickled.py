"""Pickles of graphs and prepared knowledge (reasoner/_rdf/pickled.py) give back rdflib's own terms, slot for slot."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
from decimal import Decimal
from types import MappingProxyType

import pytest
from rdflib import RDF, XSD, BNode, Graph, Literal, Namespace, URIRef

from reasoner._rdf import pickled
from reasoner._rdf.terms import INTERNED
from reasoner.vocab import GR

EX = Namespace("https://example.org/")

LITERALS = [
    Literal("hist-12", datatype=XSD.string),
    Literal("plain"),
    Literal("douleur", lang="fr"),
    Literal("caf\u00e9"),
    Literal(Decimal("40.0")),
    Literal("1E+2", datatype=XSD.decimal),
    Literal(17),
    Literal("017", datatype=XSD.integer),
    Literal(True),
    Literal(1.5),
    Literal(dt.date(2010, 1, 4)),
    Literal(dt.datetime(2020, 1, 2, 3, 4, 5)),
    Literal("2020-13-45", datatype=XSD.date),  # ill-typed
    Literal("P6M", datatype=XSD.duration),  # an isodate value: pickled as rdflib pickles it
    Literal("<b>x</b>", datatype=RDF.HTML),
]


@pytest.mark.parametrize("term", LITERALS, ids=[f"{i}-{t.datatype}" for i, t in enumerate(LITERALS)])
def test_a_literal_comes_back_slot_for_slot(term: Literal) -> None:
    back = pickled.loads(pickled.dumps(term))
    assert type(back) is Literal
    assert str(back) == str(term) and back == term and hash(back) == hash(term)
    assert back.language == term.language and back.datatype == term.datatype
    assert (back.ill_typed is True) is (term.ill_typed is True)  # None (not checked) and False read alike
    assert type(back.value) is type(term.value)
    if isinstance(term.value, (str, int, Decimal, dt.date, float)):
        assert back.value == term.value and back.eq(term)
    assert back.n3() == term.n3()


def test_terms_come_back_as_the_interned_objects() -> None:
    made = URIRef(str(GR.Criterion))  # another object with the same IRI
    assert made is not GR.Criterion or INTERNED.get(made) is GR.Criterion
    back = pickled.loads(pickled.dumps([made, made, BNode("b1")]))
    assert isinstance(back, list)
    assert back[0] is INTERNED[GR.Criterion] and back[0] is back[1]  # one object per term
    assert type(back[2]) is BNode and back[2] == BNode("b1")


def test_a_language_tag_comes_back_in_the_case_it_was_written() -> None:
    # rdflib finds "x"@DE equal to "x"@de: a reload that changed the tag's case must not get the old one back
    from reasoner.knowledge.preparing import interned

    upper = Literal("tag-case-probe", lang="DE")
    assert pickled.loads(pickled.dumps(upper)).language == "DE"  # type: ignore[attr-defined]
    lower = Literal("tag-case-probe", lang="de")
    back = pickled.loads(pickled.dumps(lower))
    assert back.language == "de" and INTERNED[lower].language == "de"  # type: ignore[attr-defined]
    g = Graph()
    g.add((URIRef("urn:s"), URIRef("urn:p"), Literal("tag-case-probe", lang="De")))
    assert {o.language for o in interned(g).objects()} == {"De"}  # type: ignore[attr-defined]


def test_a_graph_comes_back_with_its_triples_and_prefixes() -> None:
    g = Graph()
    g.bind("gr", GR)
    node = BNode()
    g.add((EX.x, EX.threshold, node))
    g.add((node, GR.value, Literal(Decimal("0.8"))))
    g.add((EX.x, RDF.type, GR.Criterion))
    back = pickled.loads(pickled.dumps(g))
    assert isinstance(back, Graph)
    assert set(back) == set(g) and len(back) == 3
    assert dict(back.namespaces())["gr"] == URIRef(str(GR))
    assert back.value(EX.x, EX.threshold) == node  # the store's indexes answer patterns
    assert set(back.subjects(RDF.type, GR.Criterion)) == {EX.x}


def test_a_read_only_mapping_stays_read_only() -> None:
    back = pickled.loads(pickled.dumps({"m": MappingProxyType({EX.a: 1})}))
    assert isinstance(back, dict)
    assert type(back["m"]) is MappingProxyType and back["m"][EX.a] == 1
    with pytest.raises(TypeError):
        back["m"][EX.b] = 2


def test_a_deferred_value_is_unpickled_once_when_first_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    g = Graph()
    g.add((EX.a, RDF.type, EX.Thing))
    made = pickled.Deferred(g)
    assert made.loaded and made.get() is g
    back = pickled.loads(pickled.dumps({"graph": made, "again": made}))
    assert isinstance(back, dict) and back["graph"] is back["again"]  # one holder, as pickled
    held = back["graph"]
    assert not held.loaded
    # Pickled again before it was read: its bytes go as they are, not unpickled and pickled anew.
    calls: list[bytes] = []
    real = pickled.loads
    monkeypatch.setattr(pickled, "loads", lambda data: calls.append(data) or real(data))
    _make, (data,) = held.__reduce_ex__(5)
    assert isinstance(data, pickle.PickleBuffer) and not calls and not held.loaded
    first = held.get()
    assert held.loaded and set(first) == set(g) and held.get() is first and len(calls) == 1


def test_a_deferred_values_bytes_are_read_where_they_lie() -> None:
    g = Graph()
    g.add((EX.a, RDF.type, EX.Thing))
    data = pickled.dumps([pickled.Deferred(g)])
    back = pickled.loads(data)
    assert isinstance(back, list)
    kept = back[0]._data  # a view of ``data``, not a copy of it
    assert isinstance(kept, memoryview) and kept.readonly and kept.obj is data
    assert set(back[0].get()) == set(g)
    # Pickled by any other pickler (protocol 4, no out-of-band buffers), it goes in band.
    again = pickle.loads(pickle.dumps(pickled.Deferred(g), protocol=4))
    assert set(again.get()) == set(g)


def test_loads_refuses_what_dumps_did_not_write() -> None:
    data = pickled.dumps({"a": 1})
    with pytest.raises(ValueError, match="not a pickle that dumps"):
        pickled.loads(data + b"x")
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the header's garbage makes
        pickled.loads(pickle.dumps({"a": 1}))


@dataclasses.dataclass(frozen=True, slots=True)
class _OwnReduce:
    path: str
    handle: object = None

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return _OwnReduce, (self.path,)  # the handle is not pickled


def test_a_slotted_dataclass_that_says_how_it_is_pickled_is_pickled_so() -> None:
    import threading

    back = pickled.loads(pickled.dumps(_OwnReduce("x", threading.Lock())))
    assert back == _OwnReduce("x") and back.handle is None
