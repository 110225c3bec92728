"""The classes a case fact gets from a classifying value (a code or a class) and its purposes.

Functions of the knowledge base alone: the enrich stage types each fact with them, and intake's
sieve asks them which history a policy can see.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from rdflib import URIRef
from rdflib.term import Node

from reasoner._memo import per_knowledge_base
from reasoner.knowledge.entities import icd10cm_notation

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


@per_knowledge_base(maxsize=4096)
def denoted(kb: KnowledgeBase, term: URIRef) -> URIRef | None:
    """The class a code denotes: a code the knowledge base holds says; else the narrowest code family holding it.

    A code held as deleted (no ``gr:denotes``) denotes nothing, whatever family it is in.
    """
    code = kb.codes.get(term)
    if code is not None:
        return code.denotes
    notation = icd10cm_notation(term, kb.codes) if kb.code_families else None
    return next((f.denotes for f in kb.code_families if f.holds(notation)), None) if notation else None


def classes_of(kb: KnowledgeBase, term: URIRef, purpose: Node | None) -> frozenset[URIRef]:
    """The classes (superclasses included) a case node gets for a classifying value ``term``."""
    class_ = denoted(kb, term)
    named = [class_] if class_ else [term] if term in kb.superclasses else []
    base = kb.types_of(named)
    if purpose is None:
        return base
    # Only the nearest class with purpose subclasses is specialised: farther ones hold other
    # branches (a diagnostic SIJ injection is not a medial branch block though both are injections).
    with_purposes = [c for c in base if kb.purposes.get(c)]
    if not with_purposes:
        return base
    nearest = max(with_purposes, key=lambda c: (len(kb.superclasses.get(c, ())), str(c)))
    special = [sub for p, sub in kb.purposes[nearest] if p == purpose]
    return base | kb.types_of(special)


def classes_for(kb: KnowledgeBase, term: URIRef, purposes: frozenset[URIRef]) -> frozenset[URIRef]:
    """The classes a case node gets for ``term`` with any number of purposes: those of each purpose."""
    if len(purposes) < 2:
        return classes_of(kb, term, next(iter(purposes), None))
    return frozenset().union(*(classes_of(kb, term, purpose) for purpose in purposes))


@per_knowledge_base(maxsize=4096)
def purpose_classes(kb: KnowledgeBase, term: URIRef) -> Mapping[URIRef, frozenset[URIRef]]:
    """For each purpose that specialises the classes of ``term``: the classes it adds to them."""
    base = classes_of(kb, term, None)
    out: dict[URIRef, frozenset[URIRef]] = {}
    for cls in base:
        for purpose, _sub in kb.purposes.get(cls, ()):
            if extra := classes_of(kb, term, purpose) - base:
                out[purpose] = out.get(purpose, frozenset()) | extra
    return MappingProxyType(out)


@per_knowledge_base(maxsize=4096)
def possible_classes_of(kb: KnowledgeBase, term: URIRef) -> frozenset[URIRef]:
    """The classes a fact with the classifying value ``term`` has for some purpose (its purpose unstated)."""
    return classes_of(kb, term, None).union(*purpose_classes(kb, term).values())
