"""GET views of the knowledge base: policies, procedures, criteria."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from reasoner import UnknownPolicyError
from reasoner.knowledge.catalogue import (
    CriterionView,
    PolicyListing,
    PolicyView,
    ProcedureView,
    criterion_view,
    find_criterion,
    policy_summaries,
    policy_view,
    procedure_view,
)
from reasoner.render.pathway import policy_pathway_svg

from ..deps import KnowledgeBaseDep
from ..problems import PROBLEM, Problem
from ..web.pages import HTML, page, wants_html

router = APIRouter(tags=["knowledge"])
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    200: {"content": {HTML: {"schema": {"type": "string"}}}},  # and JSON, the response model: a browser gets the page
    404: {"description": "No such resource", "content": {PROBLEM: {}}},
}


@router.get("/policies", summary="List policies", response_model=list[PolicyListing])
def list_policies(kb: KnowledgeBaseDep) -> list[dict[str, Any]]:
    """Every policy with its version and the codes it addresses."""
    return policy_summaries(kb)


@router.get(
    "/policies/{policy_id}",
    summary="One policy: procedures, criteria, pathway",
    response_model=PolicyView,
    responses=_NOT_FOUND,
)
def get_policy(policy_id: str, kb: KnowledgeBaseDep, request: Request) -> Any:
    """A policy with its coverage rules, criteria (with thresholds and sources) and pathway."""
    try:
        view = policy_view(kb, policy_id)
    except UnknownPolicyError as exc:
        raise Problem(404, "not-found", "No such policy", exc.message, validPolicies=exc.valid) from None
    if not wants_html(request):
        return view
    steps = {s["id"]: s["step"] for s in view["pathway"]}
    svg = policy_pathway_svg(kb, view["id"])
    return page("policy.html.j2", kb, p=view, steps=steps, pathway_svg=svg, section="knowledge")


@router.get(
    "/procedures/{code}",
    summary="A procedure code under every policy",
    response_model=ProcedureView,
    responses=_NOT_FOUND,
)
def get_procedure(code: str, kb: KnowledgeBaseDep) -> dict[str, Any]:
    """Coverage under each policy, the criteria that apply, and the code's place in each pathway."""
    return procedure_view(kb, code)


@router.get(
    "/criteria/{criterion_id:path}", summary="One criterion", response_model=CriterionView, responses=_NOT_FOUND
)
def get_criterion(criterion_id: str, kb: KnowledgeBaseDep) -> dict[str, Any]:
    """A criterion by id (``policy/criterion``), with thresholds, evidence and the shapes that check it."""
    return criterion_view(kb, find_criterion(kb, criterion_id))
