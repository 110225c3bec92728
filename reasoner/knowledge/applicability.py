"""Which criteria and pathway steps of a policy apply to the requested procedure classes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdflib import URIRef

from reasoner._memo import per_knowledge_base
from reasoner.knowledge.entities import Policy

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


@dataclass(frozen=True, slots=True)
class Applicable:
    """Criteria that apply, the steps requested, and every step those require (transitively)."""

    criteria: frozenset[URIRef]
    requested_steps: frozenset[URIRef]
    prerequisite_steps: frozenset[URIRef]


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
