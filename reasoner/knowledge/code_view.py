"""What the service knows about one code (``GET /codes/{system}/{code}``).

An ICD-10-CM code is answered from the release the engine carries (reasoner/knowledge/icd10cm.py)
and the knowledge base: its official description, whether a claim may carry it, where it sits in
the classification, what it denotes (as a code held, or through a code family), the diagnosis
lists that hold it, and the criteria that read the class it denotes. A CPT or HCPCS code is
answered from the knowledge base alone: its short label of our own (CPT descriptors are AMA
copyright; a licensed user's own, reasoner/knowledge/cpt_descriptors.py, where plugged in), its
class and the policies that have a coverage rule for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict
from rdflib import URIRef

from reasoner.errors import NotFound
from reasoner.knowledge import icd10cm
from reasoner.knowledge._index import local_id
from reasoner.knowledge.classes import denoted
from reasoner.knowledge.cpt_descriptors import descriptor
from reasoner.knowledge.rules.rule import local_name
from reasoner.vocab import CPT, GR, HCPCS, ICD10CM

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase

#: The code systems by the name a path gives them, with the name they are shown by.
SYSTEMS = {"icd10cm": "ICD-10-CM", "cpt": "CPT", "hcpcs": "HCPCS"}
Kind = Literal["code", "category", "block", "chapter"]


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClassifiedItem(_View):
    """An item of ICD-10-CM above a code: a category, a block or a chapter."""

    code: str
    description: str
    kind: Kind


class FamilyOf(_View):
    """A code family of the knowledge base that holds the code."""

    id: str
    label: str
    denotes: str


class ListOf(_View):
    """A policy's diagnosis list that holds the code."""

    id: str
    label: str
    policy: str


class CodeView(_View):
    """One code as the service knows it."""

    system: str
    code: str
    release: str | None = None
    description: str | None
    label: str | None = None  # our short label, where a licensed CPT descriptor is the description
    billable: bool | None = None
    kind: Kind
    ancestors: list[ClassifiedItem] = []
    billableCodesUnder: int = 0
    heldByKnowledgeBase: bool
    deletedOn: str | None = None
    denotes: str | None = None
    denotedBy: str | None = None
    spinalRegion: str | None = None  # a procedure code's, stated or entailed from the class it denotes
    families: list[FamilyOf] = []
    diagnosisLists: list[ListOf] = []
    policies: list[str] = []
    criteria: list[str] = []


def code_view(kb: KnowledgeBase, system: str, code: str) -> dict[str, object]:
    """What the service knows about ``code`` of ``system`` (``icd10cm``, ``cpt`` or ``hcpcs``).

    Raises:
        NotFound: no such system, an ICD-10-CM code neither the release nor the knowledge base
            has (naming the closest codes), or a CPT or HCPCS code the knowledge base does not hold.
    """
    name = system.lower()
    if name not in SYSTEMS:
        raise NotFound(f"no code system {system!r}; the systems are {', '.join(SYSTEMS)}")
    if name == "icd10cm":
        return _icd10cm(kb, code.upper())
    iri = (CPT if name == "cpt" else HCPCS)[code.upper()]
    held = kb.codes.get(iri)
    if held is None:
        raise NotFound(
            f"{SYSTEMS[name]} {code} is not in the knowledge base: the service knows the procedure codes its "
            "policies use, each with a short label of its own (CPT descriptors are AMA copyright)"
        )
    policies = sorted(p.id for p in kb.policies.values() if (p.iri, iri) in kb.coverage)
    licensed = descriptor(held.notation) if name == "cpt" else None
    return {
        "system": SYSTEMS[name],
        "code": held.notation,
        "description": licensed or held.label,
        "label": held.label if licensed else None,
        "kind": "code",
        "heldByKnowledgeBase": True,
        "denotes": kb.label(held.denotes) if held.denotes else None,
        "denotedBy": "code" if held.denotes else None,
        "spinalRegion": kb.label(held.region) if held.region else None,
        "policies": policies,
    }


def _icd10cm(kb: KnowledgeBase, code: str) -> dict[str, object]:
    release = icd10cm.release()
    item = release.get(code)
    iri = ICD10CM[code]
    held = kb.codes.get(iri)
    if item is None and held is None:
        raise NotFound(icd10cm.absent(code))
    class_ = denoted(kb, iri)
    families = [f for f in kb.code_families if f.holds(code)]
    classes = kb.types_of([class_]) if class_ else frozenset()
    considering = sorted((c for c in kb.criteria.values() if not classes.isdisjoint(c.considers)), key=lambda c: c.id)
    lists = sorted(kb.lists_holding(code)) if item is not None and item.billable else []
    return {
        "system": "ICD-10-CM",
        "code": code,
        "release": icd10cm.RELEASE,
        "description": item.description if item else None,
        "billable": item.billable if item else None,
        "kind": _kind(code, item.billable if item else True),
        "ancestors": [
            {"code": a, "description": release.get(a).description, "kind": _kind(a, False)}  # type: ignore[union-attr]
            for a in release.ancestors(code)
        ],
        "billableCodesUnder": len(release.billable_under(code)) if item is not None and not item.billable else 0,
        "heldByKnowledgeBase": held is not None,
        "deletedOn": held.deleted_on if held else None,
        "denotes": kb.label(class_) if class_ else None,
        "denotedBy": None if class_ is None else "code" if held else local_name(families[0].iri),
        "families": [{"id": local_name(f.iri), "label": f.label, "denotes": kb.label(f.denotes)} for f in families],
        "diagnosisLists": [_list_of(kb, lst) for lst in lists],
        "policies": sorted(
            {p for p in (_policy_of(kb, lst) for lst in lists) if p} | {local_id(c.policy) for c in considering}
        ),
        "criteria": [c.id for c in considering],
    }


def _kind(code: str, billable: bool) -> Kind:
    if code.isdigit():
        return "chapter"
    if "-" in code:
        return "block"
    return "code" if billable else "category"


def _policy_of(kb: KnowledgeBase, listed: URIRef) -> str | None:
    policy = kb.ontology.value(listed, GR.policy)
    return local_id(policy) if isinstance(policy, URIRef) else None


def _list_of(kb: KnowledgeBase, listed: URIRef) -> dict[str, object]:
    return {"id": local_id(listed), "label": kb.label(listed), "policy": _policy_of(kb, listed) or ""}
