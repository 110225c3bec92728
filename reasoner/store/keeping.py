"""Determine a case and keep it: the determination and the case as it was judged."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from reasoner.intake.json_case.load import load_json
from reasoner.intake.turtle import CaseFormat
from reasoner.interop.pas import judge
from reasoner.knowledge.base import KnowledgeBase
from reasoner.model import Determination
from reasoner.pipeline import determine_case, determine_parsed, parse_case
from reasoner.store.location import open_store
from reasoner.store.records import KeptCase, Stored


def determine_keeping(
    payload: bytes, fmt: CaseFormat, kb: KnowledgeBase, *, policy: str | None = None
) -> tuple[Determination, KeptCase | Graph]:
    """As ``reasoner.determine``, with the case to keep: a JSON or FHIR case as its JSON case form, else its graph.

    Raises:
        CaseError, FhirError: as ``determine`` and ``judge`` do.
    """
    if fmt == "json":
        case = load_json(payload)
        return determine_case(case, kb, policy=policy), KeptCase.of(case)
    if fmt == "fhir":
        from reasoner.intake.fhir.pas import read_pas  # fhir.resources: imported for the first FHIR case only

        pas = read_pas(payload, kb)
        d = judge(pas, kb, policy=policy)  # raises when there is no case
        assert pas.case is not None
        return d, KeptCase.of(pas.case)
    parsed = parse_case(payload, fmt, kb)
    return determine_parsed(parsed, kb, policy=policy), parsed.graph


def determine_and_keep(
    payload: bytes, fmt: CaseFormat, kb: KnowledgeBase, *, policy: str | None, where: str | Path | None, by: str
) -> tuple[Determination, Stored]:
    """Determine the case and keep it in the store at ``where`` (see ``open_store``), asked for by ``by``.

    Raises:
        CaseError, FhirError: as ``determine`` does; StoreError: the store cannot be opened or written.
    """
    d, case = determine_keeping(payload, fmt, kb, policy=policy)
    store = open_store(where)
    try:
        return d, store.put(d, case, by=by)
    finally:
        store.close()
