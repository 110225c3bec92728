"""Which criteria and pathway steps of a policy apply to the requested procedure classes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rdflib import URIRef

from reasoner._memo import per_knowledge_base
from reasoner.knowledge.classes import purpose_classes
from reasoner.knowledge.entities import Policy

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


@dataclass(frozen=True, slots=True)
class Applicable:
    """Criteria that apply, the steps requested, and every step those require (transitively)."""

    criteria: frozenset[URIRef]
    requested_steps: frozenset[URIRef]
    prerequisite_steps: frozenset[URIRef]
    #: Criteria that apply only if a requested line has a purpose the request does not state (a
    #: diagnostic or a therapeutic injection, an initial or a continued rental), each with the
    #: purposes that would make it apply and the lines in doubt: unknown, never skipped.
    if_purpose: tuple[PurposeOpen, ...] = ()


@dataclass(frozen=True, slots=True)
class PurposeOpen:
    """A criterion that applies if the request states one of ``purposes`` for ``codes``.

    ``choices`` are all the purposes those codes can have (what the request is asked to say).
    """

    criterion: URIRef
    purposes: frozenset[URIRef]
    codes: frozenset[URIRef]
    choices: frozenset[URIRef]


@per_knowledge_base(maxsize=1024)  # the same few requests, over and over: a pure function of read-only data
def resolve(kb: KnowledgeBase, policy: Policy, requested_classes: frozenset[URIRef]) -> Applicable:
    """Criteria whose gr:appliesTo class is requested, plus completion criteria of prerequisite steps."""
    steps = {s.iri: s for s in kb.steps_of(policy.iri)}
    requested = frozenset(i for i, s in steps.items() if s.procedure_classes & requested_classes)
    prerequisites: set[URIRef] = set()
    frontier = [r for i in requested for r in steps[i].requires]
    while frontier:
        step = frontier.pop()
        if step not in prerequisites and step in steps:
            prerequisites.add(step)
            frontier.extend(steps[step].requires)
    criteria = {c.iri for c in kb.criteria.values() if c.policy == policy.iri and c.applies_to & requested_classes}
    criteria |= {done for s in prerequisites if (done := steps[s].completion_criterion) is not None}
    return Applicable(frozenset(criteria), requested, frozenset(prerequisites))


def with_open_purposes(
    kb: KnowledgeBase, policy: Policy, applicable: Applicable, open_lines: Iterable[tuple[URIRef, frozenset[URIRef]]]
) -> Applicable:
    """``applicable`` with the criteria each open line would bring under a purpose it does not state.

    ``open_lines`` holds (code, classes) for each addressed line whose code has purpose
    specialisations (``gr:purpose``) of which the request states none. A criterion of such a
    purpose cannot be judged (the line is not of its class) and must not be skipped either: it
    is left unknown, naming the purposes that would bring it in.
    """
    found: dict[URIRef, tuple[set[URIRef], set[URIRef]]] = {}
    choices: dict[URIRef, frozenset[URIRef]] = {}
    for code, classes in open_lines:
        offered = purpose_classes(kb, code)
        choices[code] = frozenset(offered)
        for purpose, extra in sorted(offered.items()):
            for criterion in resolve(kb, policy, classes | extra).criteria - applicable.criteria:
                purposes, codes = found.setdefault(criterion, (set(), set()))
                purposes.add(purpose)
                codes.add(code)
    if not found:
        return applicable
    opened = tuple(
        PurposeOpen(c, frozenset(p), frozenset(k), frozenset().union(*(choices[code] for code in k)))
        for c, (p, k) in sorted(found.items())
    )
    return replace(applicable, if_purpose=opened)
