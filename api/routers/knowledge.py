"""GET views of the knowledge base: policies, procedures, criteria, references."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from reasoner import UnknownPolicyError
from reasoner.authoring.examples import CriterionPage, criterion_page
from reasoner.errors import NotFound
from reasoner.knowledge.base import KnowledgeBase
from reasoner.knowledge.catalogue import (
    PolicyListing,
    PolicyView,
    ProcedureView,
    policy_summaries,
    policy_view,
    procedure_view,
)
from reasoner.knowledge.citations import ReferenceView, reference_view
from reasoner.knowledge.code_view import CodeView, code_view
from reasoner.render.pathway import policy_pathway_svg

from ..deps import KnowledgeBaseDep
from ..problems import PROBLEM, Problem
from ..web.pages import HTML, not_found, page, wants_html
from . import examples

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
def get_procedure(code: str, kb: KnowledgeBaseDep, request: Request) -> Any:
    """Coverage under each policy, the criteria that apply, and the code's place in each pathway."""
    return _view_or_page(
        request,
        kb,
        lambda: procedure_view(kb, code),
        "No such procedure code",
        lambda view: page(
            "procedure.html.j2", kb, v=view, policies=_policy_labels(kb), criteria=_criterion_labels(kb),
            section="knowledge",
        ),
    )  # fmt: skip


@router.get(
    "/codes/{system}/{code}",
    summary="What the service knows about a code",
    response_model=CodeView,
    response_model_exclude_none=True,
    responses={404: _NOT_FOUND[404]},
)
def get_code(system: str, code: str, kb: KnowledgeBaseDep) -> dict[str, Any]:
    """A code of ICD-10-CM (``icd10cm``), CPT (``cpt``) or HCPCS (``hcpcs``), as the service knows it.

    An ICD-10-CM code: its official description, whether a claim may carry it, its place in the
    classification, what it denotes, and the lists, criteria and policies that read it. A CPT or
    HCPCS code: our short label, its class and the policies with a coverage rule for it.
    """
    return code_view(kb, system, code)


@router.get(
    "/criteria/{criterion_id:path}", summary="One criterion", response_model=CriterionPage, responses=_NOT_FOUND
)
def get_criterion(criterion_id: str, kb: KnowledgeBaseDep, folder: examples.ExamplesDep, request: Request) -> Any:
    """A criterion by id (``policy/criterion``): thresholds, evidence, its shapes (and as Turtle), its examples."""
    return _view_or_page(
        request,
        kb,
        lambda: criterion_page(kb, folder, criterion_id),
        "No such criterion",
        lambda view: page(
            "criterion.html.j2", kb, c=view, policy_label=_policy_labels(kb)[view["policy"]], section="knowledge"
        ),
    )


@router.get("/references/{reference_id}", summary="One reference", response_model=ReferenceView, responses=_NOT_FOUND)
def get_reference(reference_id: str, kb: KnowledgeBaseDep, request: Request) -> Any:
    """A cited source, its verification and grades, and everything in the knowledge base that cites it."""
    return _view_or_page(
        request,
        kb,
        lambda: reference_view(kb, reference_id),
        "No such reference",
        lambda view: page(
            "reference.html.j2", kb, r=view, policies=_policy_labels(kb), criteria=_criterion_labels(kb),
            section="knowledge",
        ),
    )  # fmt: skip


def _view_or_page(
    request: Request, kb: KnowledgeBase, view: Callable[[], Any], missing: str, html: Callable[[Any], Any]
) -> Any:
    """The view for an API client (its NotFound a 404 problem); for a browser, its page or the not-found page."""
    if not wants_html(request):
        return view()
    try:
        found = view()
    except NotFound as exc:
        return not_found(kb, missing, exc.message)
    return html(found)


def _policy_labels(kb: KnowledgeBase) -> dict[str, str]:
    return {p.id: p.label for p in kb.policies.values()}


def _criterion_labels(kb: KnowledgeBase) -> dict[str, str]:
    return {c.id: c.label for c in kb.criteria.values()}


router.include_router(examples.router)  # the bundled examples, which a criterion's page links to
