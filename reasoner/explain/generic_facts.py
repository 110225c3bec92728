"""Plain-language descriptions of the generic case facts: observations, treatments, devices, usage series."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import Graph, URIRef
from rdflib.term import Node

from reasoner.explain.words import _code, _label, _num, _value, derived_value
from reasoner.knowledge.classes import denoted
from reasoner.vocab import CV

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


def _kind_name(g: Graph, kb: KnowledgeBase, node: Node) -> str:
    """An observation's or series' kind in words: its kind's label, else its code."""
    kind = _value(g, node, CV.observationKind)
    if isinstance(kind, URIRef):
        return kb.label(kind)
    code = _value(g, node, CV.code)
    class_ = denoted(kb, code) if isinstance(code, URIRef) else None
    return kb.label(class_) if class_ else _any_code(kb, code)


def _any_code(kb: KnowledgeBase, iri: Node | None) -> str:
    """A code in words, its system named from its IRI when the knowledge base does not hold it ("HCPCS E0601")."""
    text = _code(kb, iri) or "no code"
    if isinstance(iri, URIRef) and iri not in kb.codes and "/code/" in str(iri):
        text = f"{str(iri).rsplit('/', 2)[-2].upper()} {text}"
    return text


def _observed(g: Graph, kb: KnowledgeBase, node: Node) -> str:
    """``BMI 41.2 kg/m2``, ``review: none found``, ``supplier performed the test: no``."""
    name = _kind_name(g, kb, node)
    if (v := _value(g, node, CV.value)) is not None:
        unit = _label(g, kb, node, CV.unit)
        return f"{name} {_num(v)}" + (f" {unit}" if unit else "")
    for p in (CV.valueCode, CV.valueBoolean):  # a coded value's label, or yes or no
        if (v := _value(g, node, p)) is not None:
            return f"{name}: {derived_value(v, kb)}"
    return name


def _period(g: Graph, node: Node, started: str = "from") -> list[str]:
    start, end = _value(g, node, CV.start), _value(g, node, CV.end)
    return [f"{started} {start}"] * (start is not None) + [f"until {end}"] * (end is not None)


def _observation(g: Graph, kb: KnowledgeBase, node: Node, types: set[Node]) -> list[str]:
    first = _observed(g, kb, node)
    if (d := _value(g, node, CV.date)) is not None:
        first += f" on {d}"
    parts = [first, *_period(g, node)]
    method = _value(g, node, CV.method)
    if isinstance(method, URIRef):
        parts.append(f"by {_any_code(kb, method) if '/code/' in str(method) else kb.label(method)}")
    parts += [_observed(g, kb, c) for c in sorted(g.objects(node, CV.component), key=str)]
    return parts


def _treatment(g: Graph, kb: KnowledgeBase, node: Node, types: set[Node]) -> list[str]:
    kind = _value(g, node, CV.treatmentKind)
    parts = [kb.label(kind) if isinstance(kind, URIRef) else _any_code(kb, _value(g, node, CV.code))]
    parts += _period(g, node)
    if (lab := _label(g, kb, node, CV.outcome)) is not None:
        parts.append(f"result {lab}")
    return parts


def _device(g: Graph, kb: KnowledgeBase, node: Node, types: set[Node]) -> list[str]:
    code = _value(g, node, CV.code)
    known = kb.codes.get(code) if isinstance(code, URIRef) else None
    parts = [f"device {_any_code(kb, code)}" + (f" ({known.label})" if known and known.label else "")]
    parts += _period(g, node, "set up")
    if (lab := _label(g, kb, node, CV.outcome)) is not None:
        parts.append(f"result {lab}")
    return parts


def _usage_series(g: Graph, kb: KnowledgeBase, node: Node, types: set[Node]) -> list[str]:
    samples = list(g.objects(node, CV.sample))
    valued = sum(1 for s in samples if (s, CV.value, None) in g)
    unit = _label(g, kb, node, CV.unit)
    parts = [_kind_name(g, kb, node) + (f" ({unit})" if unit else ""), f"{valued} of {len(samples)} days recorded"]
    parts += _period(g, node)
    device = _value(g, node, CV.forDevice)
    if device is not None:
        parts.append(f"from device {_any_code(kb, _value(g, device, CV.code))}")
    return parts
