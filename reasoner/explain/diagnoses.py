"""The diagnoses on a request as the determination lists them: each code with its official description."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from reasoner.enrich.access import first_of, reader
from reasoner.knowledge import icd10cm
from reasoner.knowledge.entities import icd10cm_notation
from reasoner.model import DiagnosisOut
from reasoner.vocab import CV

if TYPE_CHECKING:
    from reasoner.enrich.values import EnrichedCase
    from reasoner.knowledge.base import KnowledgeBase


def request_diagnoses(case: EnrichedCase, kb: KnowledgeBase) -> list[DiagnosisOut]:
    """The request's diagnoses, primary first, then the others in the order the case numbers them."""
    objs = reader(case.graph)
    problems = {p.code: p.reason for p in case.pends}
    release = icd10cm.release()
    out = []
    for prop in (CV.primaryDiagnosis, CV.secondaryDiagnosis):
        for node in sorted(objs(case.request, prop), key=_numbered):
            notation = icd10cm_notation(first_of(objs(node, CV.code)), kb.codes)
            if notation is None:
                continue
            item = release.get(notation)
            out.append(
                DiagnosisOut(
                    code=notation,
                    description=item.description if item else None,
                    billable=item.billable if item else None,
                    primary=prop == CV.primaryDiagnosis,
                    problem=problems.get(notation),
                )
            )
    return out


def _numbered(node: object) -> tuple[int, str]:
    """``request-diagnosis-10`` after ``request-diagnosis-9``: by the number the IRI ends with, then by the IRI."""
    text = str(node)
    found = re.search(r"(\d+)$", text)
    return (int(found.group(1)) if found else 0, text)
