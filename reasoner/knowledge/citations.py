"""References: one as a determination cites it, and everything in the knowledge base that cites it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from rdflib import URIRef

from reasoner._memo import per_knowledge_base
from reasoner.errors import NotFound
from reasoner.knowledge._index import local_id
from reasoner.model import ReferenceOut
from reasoner.vocab import GR

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


@per_knowledge_base(maxsize=1024)
def reference_out(kb: KnowledgeBase, iri: URIRef) -> ReferenceOut | None:
    """The reference as a determination lists it, with the grades of the recommendations resting on it."""
    r = kb.references.get(iri)
    if r is None:
        return None
    return ReferenceOut(
        id=r.id,
        label=r.label,
        publisher=r.publisher,
        year=r.year,
        identifiers=list(r.identifiers),
        verification=r.verification,
        verifiedContent=r.verified_content or None,
        grades=sorted(
            f"{rec.grade.notation} {rec.label}"
            for rec in kb.recommendations.values()
            if rec.grade is not None and rec.grade.iri != GR.NotGraded and iri in rec.references
        ),
    )


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CodeCitation(_View):
    """A code's coverage rule under a policy."""

    policy: str
    code: str


class ThresholdCitation(_View):
    """A threshold, and the criteria that use it."""

    id: str
    label: str
    criteria: list[str]


class StepCitation(_View):
    """A pathway step of a policy, through its recommendation."""

    policy: str
    id: str
    step: str


class CitedBy(_View):
    """What in the knowledge base cites a reference (a criterion or step also through its recommendation)."""

    policies: list[str]
    codes: list[CodeCitation]
    criteria: list[str]
    thresholds: list[ThresholdCitation]
    pathwaySteps: list[StepCitation]


class ReferenceView(ReferenceOut):
    """A reference and everything that cites it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    citedBy: CitedBy


def _recommended(kb: KnowledgeBase, recommendation: URIRef | None, iri: URIRef) -> bool:
    rec = kb.recommendations.get(recommendation) if recommendation else None
    return rec is not None and iri in rec.references


def cited_by(kb: KnowledgeBase, iri: URIRef) -> dict[str, Any]:
    """Policies, coverage rules, criteria, thresholds and pathway steps that cite the reference."""
    codes = sorted(
        (local_id(r.policy), kb.codes[r.code].notation)
        for r in kb.coverage.values()
        if iri in r.references and r.code in kb.codes
    )
    criteria = sorted(kb.criteria.values(), key=lambda c: (str(c.policy), c.order))
    return {
        "policies": sorted(p.id for p in kb.policies.values() if iri in p.references),
        "codes": [{"policy": p, "code": c} for p, c in codes],
        "criteria": [c.id for c in criteria if iri in c.references or _recommended(kb, c.recommendation, iri)],
        "thresholds": [
            {
                "id": local_id(t.iri),
                "label": t.label,
                "criteria": [c.id for c in criteria if t.iri in c.thresholds],
            }
            for t in sorted(kb.thresholds.values(), key=lambda t: str(t.iri))
            if iri in t.references
        ],
        "pathwaySteps": [
            {"policy": p.id, "id": local_id(s.iri), "step": s.label}
            for p in sorted(kb.policies.values(), key=lambda p: p.id)
            for s in kb.steps_of(p.iri)
            if _recommended(kb, s.recommendation, iri)
        ],
    }


def reference_view(kb: KnowledgeBase, reference_id: str) -> dict[str, Any]:
    """A reference by id (such as ``ref-lcd-l39240``) and what cites it.

    Raises:
        NotFound: no such reference.
    """
    for iri, r in kb.references.items():
        if r.id == reference_id:
            out = reference_out(kb, iri)
            assert out is not None
            return {**out.model_dump(), "citedBy": cited_by(kb, iri)}
    raise NotFound(f"no reference {reference_id!r}; a policy's page lists the references it cites")
