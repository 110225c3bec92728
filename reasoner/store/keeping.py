"""Determine a case and say what to keep of it: the determination and the case as it was judged."""

from __future__ import annotations

from rdflib import Graph

from reasoner.intake.fhir.pas import read_pas
from reasoner.intake.json_case.load import load_json
from reasoner.intake.turtle import CaseFormat
from reasoner.interop.pas import judge
from reasoner.knowledge.base import KnowledgeBase
from reasoner.model import Determination
from reasoner.pipeline import determine_case, determine_parsed, parse_case
from reasoner.store.records import KeptCase

JSON_CASE = "application/json"


def determine_keeping(
    payload: bytes, fmt: CaseFormat, kb: KnowledgeBase, *, policy: str | None = None
) -> tuple[Determination, KeptCase | Graph]:
    """As ``reasoner.determine``, with the case to keep: a JSON or FHIR case as its JSON case form, else its graph.

    Raises:
        CaseError, FhirError: as ``determine`` and ``judge`` do.
    """
    if fmt == "json":
        case = load_json(payload)
        return determine_case(case, kb, policy=policy), KeptCase(JSON_CASE, case.model_dump_json())
    if fmt == "fhir":
        pas = read_pas(payload, kb)
        d = judge(pas, kb, policy=policy)  # raises when there is no case
        assert pas.case is not None
        return d, KeptCase(JSON_CASE, pas.case.model_dump_json())
    parsed = parse_case(payload, fmt, kb)
    return determine_parsed(parsed, kb, policy=policy), parsed.graph
