"""The sieve: which facts of one JSON case's history the intake leaves out under a policy (``Sieve``).

Request-time, fact by fact, from what the policy can see of a history: a
:class:`~reasoner.knowledge.relevance.Relevance`, worked out from the knowledge base's shapes
once per policy (reasoner/knowledge/relevance.py says how, and when a fact can be left out).
Facts left out cannot change the determination; they still count in the determination id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rdflib import URIRef

from reasoner.knowledge.classes import classes_for, possible_classes_of
from reasoner.knowledge.relevance import KINDS, NOTHING_SKIPPED, Relevance
from reasoner.vocab import CV

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase

__all__ = ["Sieve"]

# The properties by which enrichment classifies a fact (those the knowledge base declares
# gr:ClassifyingProperty): a fact's classes decide whether a policy can see it.
_CLASSIFYING = (
    *(CV.code, CV.procedure, CV.careKind, CV.test, CV.findingKind),
    *(CV.observationKind, CV.treatmentKind, CV.conditionKind, CV.method),
)


class Sieve:
    """What one JSON case's graph leaves out under a policy, fact by fact (None: nothing).

    Facts are classified exactly as enrichment will classify them: by their classifying values
    and purposes (those stated and those the injectate implies, given as one set). Enrichment
    also marks an imaging finding addressed when the history holds a procedure of a class that
    addresses it, so every procedure that could address a finding kept is kept: give the
    findings' kinds, in order, when the sieve is made.
    """

    def __init__(self, kb: KnowledgeBase, relevance: Relevance | None, finding_kinds: Iterable[URIRef]) -> None:
        self._kb = kb
        self._classifying = {p for p in _CLASSIFYING if p in kb.classifying}
        known = len(self._classifying) == len(kb.classifying)  # else a fact's classes cannot be worked out here
        self._relevance = relevance if relevance is not None and known else NOTHING_SKIPPED
        self._classes: dict[tuple[object, ...], frozenset[URIRef]] = {}
        self._decided: dict[tuple[object, ...], bool] = {}
        self._addressing: set[URIRef] = set()
        if CV.priorProcedure in self._relevance.kinds:
            for i, kind in enumerate(finding_kinds):
                values = ((CV.findingKind, kind),)
                if self._matters(CV.imagingFinding, i, frozenset(), values):
                    for t in self._classes_of(CV.imagingFinding, frozenset(), values):
                        self._addressing |= kb.addressed_by.get(t, frozenset())

    def keeps(
        self, link: URIRef, i: int, purposes: frozenset[URIRef] | None, values: tuple[tuple[URIRef, URIRef], ...]
    ) -> bool:
        """Whether the ``i``-th fact linked by ``link`` matters; ``values`` are its (predicate, IRI) pairs."""
        purposes = purposes or frozenset()
        if self._matters(link, i, purposes, values):
            return True
        return link == CV.priorProcedure and not self._classes_of(link, purposes, values).isdisjoint(self._addressing)

    def keeps_document(self, kind: URIRef, i: int, cited: bool) -> bool:
        """Whether the ``i``-th document, of this kind, matters (``cited``: a fact kept names it)."""
        return self._relevance.document_needed(kind, i, cited)

    def _matters(
        self, link: URIRef, i: int, purposes: frozenset[URIRef], values: tuple[tuple[URIRef, URIRef], ...]
    ) -> bool:
        kind = self._relevance.kinds.get(link)
        if kind is None or i < kind.first:
            return True
        key = (link, purposes, *values)
        found = self._decided.get(key)
        if found is None:
            classes = self._classes_of(link, purposes, values)
            found = self._decided[key] = self._relevance.needed(link, classes, kind.first)
        return found

    def _classes_of(
        self, link: URIRef, purposes: frozenset[URIRef], values: tuple[tuple[URIRef, URIRef], ...]
    ) -> frozenset[URIRef]:
        key = (link, purposes, *values)
        found = self._classes.get(key)
        if found is None:
            kb = self._kb
            made = set(kb.types_of([KINDS[link][0]]))
            for p, v in values:
                if p in self._classifying:
                    # Purposes unstated: every class a purpose could give (the fact may count).
                    made |= classes_for(kb, v, purposes) if purposes else possible_classes_of(kb, v)
            found = self._classes[key] = frozenset(made)
        return found
