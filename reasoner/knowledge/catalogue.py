"""Read-only views of the knowledge base for people and apps: policies, procedures, criteria.

Each view is a plain dict (what the API and ``policies --format json`` send); the pydantic models
below are their schemas, which the HTTP API documents and checks each answer against.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from rdflib import URIRef

from reasoner._memo import per_knowledge_base
from reasoner.errors import NotFound
from reasoner.knowledge._index import local_id
from reasoner.model import Evidence
from reasoner.vocab import CPT, GR, HCPCS

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyListing(_View):
    """A policy in the list of policies."""

    id: str
    label: str
    publisher: str
    version: str
    effectiveDate: str
    codes: list[str]


class ThresholdView(_View):
    """A threshold a criterion uses, with its unit, sources and verification tag (V, V2, S, U)."""

    id: str
    label: str
    value: str
    unit: str
    verification: str
    references: list[str]


class CriterionView(_View):
    """One criterion: its statement with the thresholds filled in, evidence, and the shapes that check it."""

    id: str
    label: str
    policy: str
    category: str
    required: bool
    verification: str | None
    """The weakest tag of its own fact and its thresholds; a coverage criterion without a rule has none of
    its own and takes, in each determination, the tags of the coverage rules of the codes it judges."""
    advisory: bool
    """Required and tagged S or U without a stated reason to decide: not met, it pends for clinician review."""
    decidesBecause: str | None
    statement: str
    thresholds: list[ThresholdView]
    evidence: Evidence | None
    references: list[str]
    shapes: list[str]


class CodeCoverageView(_View):
    """A code the policy addresses and its coverage."""

    code: str
    system: str
    label: str
    coverage: str
    verification: str | None
    decidesBecause: str | None
    references: list[str]


class PathwayStepView(_View):
    """A step of the policy's pathway."""

    order: int
    id: str
    step: str
    action: str
    procedureClasses: list[str]
    requires: list[str]
    evidence: Evidence | None


class PolicyView(_View):
    """A policy with its coverage rules, criteria and pathway."""

    id: str
    label: str
    publisher: str
    version: str
    effectiveDate: str
    scopeNote: str
    references: list[str]
    procedures: list[CodeCoverageView]
    criteria: list[CriterionView]
    pathway: list[PathwayStepView]


class ProcedureStepView(_View):
    """A pathway step the procedure belongs to."""

    order: int
    id: str
    step: str
    evidence: Evidence | None


class ProcedurePolicyView(_View):
    """A procedure code under one policy."""

    policy: str
    coverage: str
    verification: str | None
    decidesBecause: str | None
    references: list[str]
    criteria: list[str]
    pathwaySteps: list[ProcedureStepView]


class ProcedureView(_View):
    """A procedure code: its class, and its coverage, criteria and pathway steps under every policy."""

    code: str
    system: str
    label: str
    procedureClass: str
    policies: list[ProcedurePolicyView]


def _refs(kb: KnowledgeBase, iris: tuple[URIRef, ...]) -> list[str]:
    return [kb.references[r].id for r in iris if r in kb.references]


def policy_summaries(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """Every policy with its version and the codes it addresses."""
    return [
        {
            "id": p.id,
            "label": p.label,
            "publisher": p.publisher,
            "version": p.version,
            "effectiveDate": p.effective_date,
            "codes": sorted(kb.codes[c].notation for (pol, c) in kb.coverage if pol == p.iri and c in kb.codes),
        }
        for p in sorted(kb.policies.values(), key=lambda p: p.id)
    ]


def criterion_view(kb: KnowledgeBase, iri: URIRef) -> dict[str, Any]:
    """One criterion: statement with thresholds filled in, thresholds with sources, evidence, shapes."""
    c = kb.criteria[iri]
    evidence = evidence_of(kb, c.recommendation)
    return {
        "id": c.id,
        "label": c.label,
        "policy": local_id(c.policy),
        "category": c.category,
        "required": c.required,
        "verification": c.tag.label if c.tag else None,
        "advisory": c.advisory(c.tag),
        "decidesBecause": c.decides_because or None,
        "statement": c.statement,
        "thresholds": [
            {
                "id": local_id(t.iri),
                "label": t.label,
                "value": t.display(),
                "unit": t.unit,
                "verification": t.verification,
                "references": _refs(kb, t.references),
            }
            for t in (kb.thresholds[i] for i in c.thresholds if i in kb.thresholds)
        ],
        "evidence": evidence.model_dump() if evidence else None,
        "references": _refs(kb, c.references),
        "shapes": sorted(str(s) for s, cs in kb.shape_index.checks.items() if iri in cs),
    }


def policy_view(kb: KnowledgeBase, policy_id: str) -> dict[str, Any]:
    """A policy with its coverage rules, criteria and pathway.

    Raises:
        UnknownPolicyError: listing the valid ids.
    """
    p = kb.policy(policy_id)
    coverage = sorted((r for (pol, _c), r in kb.coverage.items() if pol == p.iri), key=lambda r: str(r.code))
    return {
        "id": p.id,
        "label": p.label,
        "publisher": p.publisher,
        "version": p.version,
        "effectiveDate": p.effective_date,
        "scopeNote": p.scope_note,
        "references": _refs(kb, p.references),
        "procedures": [
            {
                "code": kb.codes[r.code].notation,
                "system": kb.codes[r.code].system,
                "label": kb.codes[r.code].label,
                "coverage": kb.label(r.status),
                "verification": r.tag.label if r.tag else None,
                "decidesBecause": r.decides_because or None,
                "references": _refs(kb, r.references),
            }
            for r in coverage
            if r.code in kb.codes
        ],
        "criteria": [
            criterion_view(kb, c.iri)
            for c in sorted((c for c in kb.criteria.values() if c.policy == p.iri), key=lambda c: c.order)
        ],
        "pathway": [
            {
                "order": s.order,
                "id": local_id(s.iri),
                "step": s.label,
                "action": s.action,
                "procedureClasses": sorted(kb.label(c) for c in s.procedure_classes),
                "requires": sorted(local_id(r) for r in s.requires),
                "evidence": (ev.model_dump() if (ev := evidence_of(kb, s.recommendation)) else None),
            }
            for s in kb.steps_of(p.iri)
        ],
    }


def procedure_view(kb: KnowledgeBase, code: str) -> dict[str, Any]:
    """A procedure code: coverage under each policy, criteria that apply, its place in each pathway.

    Raises:
        NotFound: the code is not in the knowledge base.
    """
    iri = HCPCS[code] if code[:1].isalpha() else CPT[code]
    info = kb.codes.get(iri)
    if info is None or info.denotes is None:
        raise NotFound(f"procedure code {code!r} is not in the knowledge base")
    classes = kb.types_of([info.denotes])
    out: dict[str, Any] = {
        "code": info.notation,
        "system": info.system,
        "label": info.label,
        "procedureClass": kb.label(info.denotes),
        "policies": [],
    }
    from reasoner.knowledge.applicability import resolve

    for p in sorted(kb.policies.values(), key=lambda p: p.id):
        rule = kb.coverage.get((p.iri, iri))
        applicable = resolve(kb, p, classes) if rule else None
        out["policies"].append(
            {
                "policy": p.id,
                "coverage": kb.label(rule.status) if rule else "not addressed",
                "verification": rule.tag.label if rule and rule.tag else None,
                "decidesBecause": (rule.decides_because or None) if rule else None,
                "references": _refs(kb, rule.references) if rule else [],
                "criteria": sorted(local_id(c) for c in applicable.criteria) if applicable else [],
                "pathwaySteps": [
                    {
                        "order": s.order,
                        "id": local_id(s.iri),
                        "step": s.label,
                        "evidence": (ev.model_dump() if (ev := evidence_of(kb, s.recommendation)) else None),
                    }
                    for s in kb.steps_of(p.iri)
                    if applicable and s.iri in applicable.requested_steps
                ],
            }
        )
    return out


def find_criterion(kb: KnowledgeBase, criterion_id: str) -> URIRef:
    """The IRI of a criterion id such as ``sij-clinical-pathway/lateral-branch-blocks``.

    Raises:
        NotFound: no such criterion.
    """
    for iri, c in kb.criteria.items():
        if c.id == criterion_id:
            return iri
    raise NotFound(f"no criterion {criterion_id!r}; criteria are listed under /policies/{{id}}")


@per_knowledge_base(maxsize=4096)
def evidence_of(kb: KnowledgeBase, recommendation: URIRef | None) -> Evidence | None:
    """The evidence grade behind a criterion or step, through its recommendation."""
    rec = kb.recommendations.get(recommendation) if recommendation else None
    if rec is None or rec.grade is None or rec.grade.iri == GR.NotGraded:
        return None
    return Evidence(grade=rec.grade.notation, scheme=rec.grade.scheme, recommendation=rec.label)
