"""A request's purpose: any the knowledge base declares, and criteria of a purpose the request leaves open.

A code whose class has purpose subclasses (a diagnostic or therapeutic SIJ injection, an initial or
continued PAP rental) gets the subclass of the purpose the request states. When the request states
none, the criteria of those subclasses are neither judged nor skipped: each is unknown, naming the
purposes that would bring it in, and the request pends (reasoner/knowledge/applicability.py,
``with_open_purposes``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from reasoner import KnowledgeBase, determine
from reasoner.errors import CaseSchemaError
from reasoner.model import Outcome, Status

from .conftest import ROOT

EXAMPLES = ROOT / "examples" / "cases"
THERAPEUTIC_ONLY = {"diagnostic-response", "therapeutic-frequency", "therapeutic-interval"}


def _case(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return loaded


def _decide(kb: KnowledgeBase, case: dict[str, Any]) -> Any:
    return determine(json.dumps(case).encode(), "json", kb)


def test_the_bundled_purposes_have_their_json_words(kb: KnowledgeBase) -> None:
    words = kb.purpose_words
    assert {"diagnostic", "therapeutic", "initial-rental", "continued-rental"} <= words.keys()
    assert str(words["continued-rental"]).endswith("#ContinuedRental")


def test_an_unstated_purpose_leaves_the_criteria_of_each_purpose_unknown(kb: KnowledgeBase) -> None:
    case = _case("evicore-therapeutic-injection")
    stated = _decide(kb, case)
    assert stated.outcome is Outcome.MEDICALLY_NECESSARY
    del case["request"]["purpose"]
    d = _decide(kb, case)
    assert d.outcome is Outcome.PENDED
    by_id = {c.id.split("/")[1]: c for c in d.criteria}
    unknown = {i for i, c in by_id.items() if c.status is Status.UNKNOWN}
    assert unknown == THERAPEUTIC_ONLY | {"diagnostic-limit"}  # the therapeutic ones and the diagnostic one
    assert "is therapeutic" in by_id["therapeutic-interval"].finding
    assert "is diagnostic" in by_id["diagnostic-limit"].finding
    wanted = "the purpose of the request for 27096 (diagnostic or therapeutic)"
    assert by_id["therapeutic-interval"].notStated == [wanted]
    assert d.missingInformation == [wanted]  # named once for the four criteria
    common = {c.id: c.status for c in stated.criteria if c.id.split("/")[1] not in THERAPEUTIC_ONLY}
    assert {c.id: c.status for c in d.criteria if c.id in common} == common  # the others as when stated


def test_a_stated_denial_still_denies_with_the_purpose_open(kb: KnowledgeBase) -> None:
    case = _case("sij-injection-duplicated-faber")  # three provocative tests required (Medicare), two positive
    assert _decide(kb, case).outcome is Outcome.NOT_MEDICALLY_NECESSARY
    case["request"].pop("purpose", None)
    d = _decide(kb, case)
    assert d.outcome is Outcome.NOT_MEDICALLY_NECESSARY  # not met on stated facts beats unknown
    assert any(c.status is Status.UNKNOWN and c.notStated for c in d.criteria)


def test_a_code_without_purpose_subclasses_needs_no_purpose(kb: KnowledgeBase) -> None:
    case = _case("sij-seed-neurectomy")
    case["request"].pop("purpose", None)
    d = _decide(kb, case)
    assert not any("purpose of the request" in m for m in d.missingInformation)


def test_a_purpose_the_knowledge_base_does_not_declare_is_refused(kb: KnowledgeBase) -> None:
    case = _case("evicore-therapeutic-injection")
    case["request"]["purpose"] = "palliative"
    with pytest.raises(CaseSchemaError) as caught:
        _decide(kb, case)
    where, why = caught.value.problems[0]
    assert where == "request.purpose"
    assert "not a purpose the knowledge base declares" in why and "continued-rental" in why


@pytest.mark.parametrize("word", ["Therapeutic", "thera peutic", "x" * 41])
def test_a_purpose_that_is_not_a_word_fails_the_schema(kb: KnowledgeBase, word: str) -> None:
    case = _case("evicore-therapeutic-injection")
    case["request"]["purpose"] = word
    with pytest.raises(CaseSchemaError) as caught:
        _decide(kb, case)
    assert any(where == "request.purpose" for where, _why in caught.value.problems)
