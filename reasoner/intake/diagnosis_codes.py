"""The ICD-10-CM codes on a request, checked as a payer's intake checks them, against the release held.

A code the release in force on the request's date does not have is refused (a 422 naming it, with
the closest codes for a near miss). A category (``M47.8``) is a real item of ICD-10-CM but not a
code a claim may carry: the request is pended until a billable code is given. When the request's
date falls outside the fiscal year of the release held (reasoner/knowledge/icd10cm.py), a code that
release does not list cannot be checked: it pends too, rather than being refused for a code set
this service does not have.

Only the request's diagnoses are checked: a history was coded under the code set of its own dates.
The messages name the code (a value of a public code set, answered to the submitter only).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from rdflib import RDF, Graph, Literal
from rdflib.term import Node

from reasoner.knowledge import icd10cm
from reasoner.knowledge.entities import icd10cm_notation
from reasoner.vocab import CV, ICD10CM

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase

_SHOWN = 3  # billable codes named as examples under a category


@dataclass(frozen=True, slots=True)
class Pend:
    """Why a request pends on one of its codes: the item of information needed, and the reason in full."""

    code: str
    needed: str
    reason: str
    under: tuple[str, ...] = ()  # for a category: the billable codes under it


def held(kb: KnowledgeBase | None, code: str) -> str | None:
    """The official description of a billable code the knowledge base holds (read at preparation), else None.

    Such a code needs no look-up in the release: lint has checked it there (``code-exists``), so a
    request with only held codes never reads the index.
    """
    known = kb.codes.get(ICD10CM[code]) if kb is not None else None
    return known.official if known is not None else None


def refusal(code: str, when: date, kb: KnowledgeBase | None = None) -> str | None:
    """Why ``code`` cannot be a diagnosis on a request dated ``when`` (for a 422), or None when it can."""
    if held(kb, code):
        return None
    # A text longer than any code is no code of any year: refused whatever the date.
    if len(code) <= icd10cm.LONGEST and (code in icd10cm.release() or not icd10cm.in_force(when)):
        return None
    return icd10cm.absent(code, when)


def pend(code: str, when: date, kb: KnowledgeBase | None = None) -> Pend | None:
    """Why a request dated ``when`` pends on its diagnosis ``code``, or None when the code is billable."""
    if held(kb, code):
        return None
    release = icd10cm.release()
    item = release.get(code)
    if item is None:
        if icd10cm.in_force(when):
            return None  # refused at intake (refusal)
        year = icd10cm.fiscal_year(when)
        return Pend(
            code,
            f"An ICD-10-CM code that can be checked in place of {code}",
            f"{code} cannot be checked: ICD-10-CM FY{year} is in force on {when.isoformat()}, and this service "
            f"holds {icd10cm.RELEASE}, which does not list it.",
        )
    if item.billable:
        return None
    under = tuple(release.billable_under(code))
    some = ", ".join(under[:_SHOWN]) + (" ..." if len(under) > _SHOWN else "")
    return Pend(
        code,
        f"A billable ICD-10-CM code in place of {code} (a category)",
        f"A billable code is needed: {code} ({item.description}) is a category of ICD-10-CM, not a code a claim "
        f"may carry; {len(under)} billable codes fall under it ({some}).",
        under,
    )


def refused_diagnoses(graph: Graph, kb: KnowledgeBase) -> Iterator[tuple[Node, str]]:
    """Each diagnosis node on a case graph's request whose code :func:`refusal` refuses, with why.

    For a case given as a graph (Turtle, JSON-LD) that has passed the case shapes (one dated request).
    """
    for request in graph.subjects(RDF.type, CV.ServiceRequest):
        when = graph.value(request, CV.date)
        if not isinstance(when, Literal) or not isinstance(when.toPython(), date):
            continue
        for prop in (CV.primaryDiagnosis, CV.secondaryDiagnosis):
            for diagnosis in graph.objects(request, prop):
                notation = icd10cm_notation(graph.value(diagnosis, CV.code), kb.codes)
                if notation is not None and (why := refusal(notation, when.toPython(), kb)) is not None:
                    yield diagnosis, why
