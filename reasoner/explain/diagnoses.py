"""The diagnoses on a request as the determination lists them: each code with its official description."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from reasoner.intake.diagnosis_codes import held
from reasoner.knowledge import icd10cm
from reasoner.knowledge.entities import icd10cm_notation
from reasoner.model import DiagnosisOut
from reasoner.vocab import CV

if TYPE_CHECKING:
    from reasoner.enrich.values import EnrichedCase
    from reasoner.knowledge.base import KnowledgeBase


def request_diagnoses(case: EnrichedCase, kb: KnowledgeBase) -> list[DiagnosisOut]:
    """The request's diagnoses, primary first, then the others in the order the case numbers them."""
    g = case.graph
    problems = {p.code: p.reason for p in case.pends}
    out = []
    for prop in (CV.primaryDiagnosis, CV.secondaryDiagnosis):
        nodes = list(g.objects(case.request, prop))
        for node in sorted(nodes, key=_numbered) if len(nodes) > 1 else nodes:
            notation = icd10cm_notation(g.value(node, CV.code), kb.codes)
            if notation is not None:
                official = held(kb, notation)
                out.append(_described(notation, prop == CV.primaryDiagnosis, problems.get(notation), official))
    return out


@functools.lru_cache(maxsize=4096)
def _described(notation: str, primary: bool, problem: str | None, official: str | None) -> DiagnosisOut:
    """One diagnosis as the release describes it (the same code is described once, not per request).

    ``official``: the description of a billable code the knowledge base holds, read at preparation.
    """
    item = None if official else icd10cm.release().get(notation)
    return DiagnosisOut.model_construct(  # its fields are the release's own: nothing to validate
        code=notation,
        system="ICD-10-CM",
        description=official or (item.description if item else None),
        billable=True if official else (item.billable if item else None),
        primary=primary,
        problem=problem,
    )


def _numbered(node: object) -> tuple[int, str]:
    """``request-diagnosis-10`` after ``request-diagnosis-9``: by the number the IRI ends with, then by the IRI."""
    text = str(node)
    found = re.search(r"(\d+)$", text)
    return (int(found.group(1)) if found else 0, text)
