"""A value the case does not state is never a reason to deny (issue 14): every single deletion, checked.

For every example whose expected outcome is medically necessary, each value the case states that
the case form lets it leave out (every optional field of the request, the history facts and the
pain history, found from the pydantic models, not listed by hand) is deleted in turn and the
case determined again. The answer may pend or stay; it must never be "not medically necessary",
and every criterion whose status changed must now be unknown, naming what is not stated.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from reasoner import CaseSchemaError, KnowledgeBase, Status, determine
from reasoner.intake.json_case.schema import CaseIn

from .conftest import EXAMPLES

# A JSON field and the words a named unstated value uses for it, where the two differ.
_WORDS = {"levels": "level", "character": "pain character", "location": "pain location", "score": "pain score"}
_WORDS |= {"durationMonths": "duration", "percentRelief": "percent relief", "reliefMonths": "relief"}
_WORDS |= {"imageGuidance": "guidance", "laterality": "laterality", "purpose": "purpose", "outcome": "outcome"}
_WORDS |= {"injectate": "purpose"}  # the purposes it implies
_WORDS |= {"diagnoses": "diagnosis", "disabilityScore": "disability score"}
_WORDS |= {"functionalImprovement": "functional improvement", "functionalImprovementMonths": "functional improvement"}
_WORDS |= {"valueBoolean": "whether"}  # a yes-or-no finding is asked for as "whether ..."
_WORDS |= {"values": "no data for", "samples": "no data for"}  # a usage series names its days without data


def _approved() -> list[tuple[Path, str]]:
    out = []
    for path in sorted(EXAMPLES.glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        case = json.loads(path.read_text())
        expected = json.loads((EXAMPLES / f"{path.stem}.expected.json").read_text())["expectations"]
        for e in expected:
            if e["outcome"] == "medically-necessary" and e["policy"] in (None, case.get("policy")):
                out.append((path, e["policy"]))
                break
    return out


def _optional(model: type[BaseModel]) -> dict[str, type[BaseModel] | None]:
    """The fields a case may leave out, each with its model when it is a nested one (or a list of them)."""
    out: dict[str, type[BaseModel] | None] = {}
    for name, field in model.model_fields.items():
        if field.is_required():
            continue
        nested = None
        for arg in (field.annotation, *getattr(field.annotation, "__args__", ())):
            for inner in (arg, *getattr(arg, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    nested = inner
        out[name] = nested
    return out


def deletions(case: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every case with one stated value left out, named by its path."""

    def walk(part: Any, model: type[BaseModel], where: list[Any]) -> Iterator[list[Any]]:
        for name, nested in _optional(model).items():
            if name not in part or part[name] in (None, [], ""):
                continue
            value = part[name]
            if nested is not None and isinstance(value, list):  # a list of facts: walk each, never drop them all
                for i, item in enumerate(value):
                    yield from walk(item, nested, [*where, name, i])
            elif nested is not None and isinstance(value, dict):
                yield from walk(value, nested, [*where, name])
            else:
                yield [*where, name]
        for name, field in model.model_fields.items():  # required parts hold optional values too
            if field.is_required() and isinstance(part.get(name), dict):
                nested = next(iter(_optional_models(field.annotation)), None)
                if nested is not None:
                    yield from walk(part[name], nested, [*where, name])

    for path in walk(case, CaseIn, []):
        if path[0] in ("policy", "patient", "documents"):
            continue  # not facts of the case (the policy is given explicitly; documents are where facts come from)
        changed = copy.deepcopy(case)
        part = changed
        for step in path[:-1]:
            part = part[step]
        del part[path[-1]]
        yield ".".join(map(str, path)), changed


def _optional_models(annotation: Any) -> Iterator[type[BaseModel]]:
    for arg in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            yield arg


APPROVED = _approved()
# What a fact is (its code or kind) and the unit its value is in: without them it cannot be read.
_IDENTITY = frozenset({"code", "kind", "unit", "procedure", "test"})


def test_there_are_approved_examples_to_delete_from() -> None:
    assert len(APPROVED) >= 8


@pytest.fixture(scope="module")
def tried() -> list[str]:
    return []


@pytest.mark.parametrize(("path", "policy"), APPROVED, ids=[p.name for p, _ in APPROVED])
def test_no_single_deletion_turns_an_approval_into_a_denial(
    path: Path, policy: str, kb: KnowledgeBase, tried: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    case = json.loads(path.read_text())
    before = determine(json.dumps(case).encode(), "json", kb, policy=policy)
    assert before.outcome.value == "medically-necessary"
    statuses = {c.id: c.status for c in before.criteria}
    count = refused = 0
    for where, changed in deletions(case):
        count += 1
        try:
            after = determine(json.dumps(changed).encode(), "json", kb, policy=policy)
        except CaseSchemaError as exc:  # a fact that no longer says what it is, or in what unit: refused, naming it
            refused += 1
            if where.endswith(".id"):  # an id another fact names: the refusal names that reference
                assert "names no" in exc.message, (where, exc.message)
                continue
            assert where.rsplit(".", 1)[0] in exc.message, (where, exc.message)
            # a series' start dates its values, as a unit reads a value
            identity = where.rsplit(".", 1)[-1] in _IDENTITY or re.fullmatch(r"usageSeries\.\d+\.start", where)
            assert identity, (where, "a value left out must be unknown, not refused")
            continue
        assert after.outcome.value != "not-medically-necessary", (where, [c.id for c in after.criteria])
        field = where.rsplit(".", 1)[-1]
        for c in after.criteria:
            if statuses.get(c.id, c.status) is c.status:
                continue
            assert c.status is Status.UNKNOWN, (where, c.id, c.status)
            named = " ".join(c.notStated) or c.finding
            assert _WORDS.get(field, field).lower() in named.lower(), (where, c.id, named)
        if after.outcome.value.startswith("pended"):
            assert after.missingInformation, where
    tried.append(f"{path.name}: {count}")
    with capsys.disabled():
        print(f"\n{path.name}: {count} single deletions tried, none denied ({refused} refused as incomplete facts)")
    assert count >= 5 and refused < count


def test_deletions_are_found_from_the_case_form() -> None:
    """The generator finds nested values (a block's relief, the pain's duration) and never a required one."""
    case = json.loads((EXAMPLES / "sij-rfa-two-blocks.json").read_text())
    found = dict(deletions(case))
    assert "priorProcedures.2.percentRelief" in found and "painHistory.character" in found
    assert "request.imageGuidance" not in found or "imageGuidance" not in found["request.imageGuidance"]["request"]
    assert not any(w.endswith(".source") or w.endswith(".code") and "priorProcedures" not in w for w in found)
    assert sum(1 for _ in deletions(case)) >= 20


RELIEF = "percent relief of the sacral lateral branch block of 2026-01-12 (procedure note lbb-note-2)"


@pytest.fixture(scope="module")
def pended(kb: KnowledgeBase) -> Any:
    """The two-block SIJ RFA with the second block's relief left out: pended, the relief named."""
    case = json.loads((EXAMPLES / "sij-rfa-two-blocks.json").read_text())
    del case["priorProcedures"][5]["percentRelief"]
    return determine(json.dumps(case).encode(), "json", kb, policy="sij-clinical-pathway")


def test_the_letter_names_the_unstated_value_once(pended: Any) -> None:
    from reasoner import render

    assert pended.outcome.value == "pended-information-needed"
    lbb = next(c for c in pended.criteria if c.id.endswith("/lateral-branch-blocks"))
    assert (lbb.status, lbb.notStated) == (Status.UNKNOWN, [RELIEF])
    assert [f.assessment for f in lbb.facts] == ["qualifies", "may qualify"]
    assert lbb.facts[1].notStated == [RELIEF]
    assert pended.missingInformation == [RELIEF]
    for form in ("markdown", "html"):
        assert RELIEF in render(pended, form)  # type: ignore[arg-type]


def test_pas_and_cds_hooks_carry_the_unstated_value(pended: Any, kb: KnowledgeBase) -> None:
    from datetime import UTC, datetime

    from reasoner.intake.fhir.pas import read_pas
    from reasoner.interop.cds_hooks import card
    from reasoner.interop.pas import claim_response_bundle

    pas = read_pas((EXAMPLES.parent / "fhir" / "sij-seed-neurectomy.pas.json").read_bytes(), kb)
    bundle = claim_response_bundle(pas, pended, now=datetime(2026, 3, 10, tzinfo=UTC))
    response = bundle["entry"][0]["resource"]
    assert RELIEF in [note["text"] for note in response["processNote"]]
    codes = [
        c["code"]
        for item in response["item"]
        for a in item["adjudication"]
        for e in a["extension"]
        for sub in e["extension"]
        if "valueCodeableConcept" in sub
        for c in sub["valueCodeableConcept"]["coding"]
    ]
    assert codes == ["A4"] * len(response["item"])  # pended, for review
    shown = card(pended, policy_url="http://localhost/policies/sij-clinical-pathway", order_reference="x")
    assert RELIEF in shown["detail"]


@pytest.mark.parametrize(("relief", "outcome"), [(80, "medically-necessary"), (20, "not-medically-necessary")])
def test_stating_the_value_decides_the_pended_case(relief: int, outcome: str, kb: KnowledgeBase) -> None:
    """The converse: what the letter asks for, once stated, decides the request either way."""
    case = json.loads((EXAMPLES / "sij-rfa-two-blocks.json").read_text())
    case["priorProcedures"][5]["percentRelief"] = relief
    d = determine(json.dumps(case).encode(), "json", kb, policy="sij-clinical-pathway")
    assert d.outcome.value == outcome
    assert not any(c.notStated for c in d.criteria)


@pytest.mark.parametrize(("relief", "status"), [(90, "met"), (10, "not-met")])
def test_stating_the_values_a_pended_example_asks_for_decides_it(relief: int, status: str, kb: KnowledgeBase) -> None:
    """facet-rfa-results-missing pends for a block's relief (and the pain score): stating the relief decides that."""
    case = json.loads((EXAMPLES / "facet-rfa-results-missing.json").read_text())
    before = determine(json.dumps(case).encode(), "json", kb)
    blocks = next(c for c in before.criteria if c.id.endswith("/rfa-diagnostic-blocks"))
    assert blocks.status is Status.UNKNOWN and any("percent relief" in v for v in blocks.notStated)
    for p in case["priorProcedures"]:
        if "percentRelief" not in p and p.get("procedure", "").endswith("Block") or p.get("code") in ("64493", "64494"):
            p.setdefault("percentRelief", relief)
    after = determine(json.dumps(case).encode(), "json", kb)
    decided = next(c for c in after.criteria if c.id.endswith("/rfa-diagnostic-blocks"))
    assert decided.status.value == status and decided.notStated == []
