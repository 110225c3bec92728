"""Small readers shared by the fact describers: a value, a label, a code, a number in words."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import XSD, Graph, Literal, URIRef
from rdflib.term import Node

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


def _value(g: Graph, node: Node, p: URIRef) -> Node | None:
    return g.value(node, p)


def _label(g: Graph, kb: KnowledgeBase, node: Node, p: URIRef) -> str | None:
    v = g.value(node, p)
    return kb.label(v) if isinstance(v, URIRef) else None


def _code(kb: KnowledgeBase, iri: Node | None) -> str | None:
    if not isinstance(iri, URIRef):
        return None
    code = kb.codes.get(iri)
    return f"{code.system} {code.notation}" if code else str(iri).rsplit("/", 1)[-1]


def _num(value: Node) -> str:
    text = str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def derived_value(value: Node, kb: KnowledgeBase) -> str:
    """A selected value in words: a number as written, yes or no, or a coded value's label."""
    if isinstance(value, Literal) and value.datatype == XSD.boolean:
        return "yes" if value.toPython() is True else "no"
    if isinstance(value, URIRef):
        return kb.label(value)
    return _num(value)
