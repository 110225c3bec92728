"""Counting right (issue 24): sessions, not records; levels, not units or lines; distinct tests.

Each test changes a bundled example in one way and checks the outcome, the criterion's status and
that its finding names the facts: one bilateral session entered as a left and a right record is
one session (counts, frequency limits); a session is judged by its records on the sides the request
treats; a record without a date may share another's session, so a count it could change pends and
names the date; a request counts its stated levels, and codes and units only as a range when none
is stated; a provocative test recorded several times counts once.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from rdflib import RDF, BNode, Graph, Literal, URIRef

from reasoner import CriterionResult, Determination, KnowledgeBase, Status, determine
from reasoner.enrich.unstated import as_stated
from reasoner.shacl.reader import Reader
from reasoner.shacl.truth import Gap, Unknown
from reasoner.vocab import CV, GR

from .conftest import EXAMPLES
from .test_relevance import _with


def _case(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def _run(kb: KnowledgeBase, case: dict[str, Any], policy: str | None = None) -> Determination:
    return determine(json.dumps(case).encode(), "json", kb, policy=policy or case["policy"])


def _criterion(d: Determination, tail: str) -> CriterionResult:
    return next(c for c in d.criteria if c.id.endswith("/" + tail))


def _sided(record: dict[str, Any], *sides: str, relief: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    """The record entered once per side (with its own relief, when given)."""
    out = []
    for i, side in enumerate(sides):
        r = copy.deepcopy(record) | {"laterality": side}
        if relief:
            r["percentRelief"] = relief[i]
        out.append(r)
    return out


def _statuses(d: Determination) -> dict[str, Status]:
    return {c.id: c.status for c in d.criteria}


# --- sessions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("one_record", "left_and_right"),
    [
        ("facet-rfa-initial", "facet-rfa-blocks-left-right-records"),
        ("facet-rfa-one-bilateral-block", "facet-rfa-one-block-left-right-records"),
    ],
)
def test_a_bilateral_session_counts_once_however_it_is_entered(
    kb: KnowledgeBase, one_record: str, left_and_right: str
) -> None:
    a, b = _run(kb, _case(one_record)), _run(kb, _case(left_and_right))
    assert (a.outcome, _statuses(a)) == (b.outcome, _statuses(b))


def test_one_block_session_entered_twice_is_not_two_blocks(kb: KnowledgeBase) -> None:
    d = _run(kb, _case("facet-rfa-one-block-left-right-records"))
    assert d.outcome.value == "not-medically-necessary"
    blocks = _criterion(d, "rfa-diagnostic-blocks")
    assert blocks.status is Status.NOT_MET
    assert [f.assessment for f in blocks.facts] == ["qualifies", "qualifies"]
    assert blocks.finding.endswith(
        "(2 of 2 documented qualify; 1 session counts: the lumbar facet joint or medial branch injection of"
        " 2026-01-26 (procedure note mbb-1-note), left and right; at least 2 required.)"
    )


def test_one_bilateral_lateral_branch_block_session_is_not_the_pathways_two_blocks(kb: KnowledgeBase) -> None:
    d = _run(kb, _case("sij-rfa-one-bilateral-block-session"))
    assert d.outcome.value == "not-medically-necessary"
    lbb = _criterion(d, "lateral-branch-blocks")
    assert lbb.status is Status.NOT_MET
    assert d.rationale[0].startswith("Confirmatory lateral branch blocks [S]: Fewer qualifying sacral lateral branch")
    session = "the sacral lateral branch block of 2026-01-12 (procedure note lbb-note-2), left and right"
    assert f"1 session counts: {session}" in lbb.finding
    assert d.nextSteps[0].step == "Confirmatory sacral lateral branch blocks"


def _uneven(kb: KnowledgeBase, laterality: str | None, modifier: str | None) -> CriterionResult:
    """facet-rfa-initial with each block session 85 % on the left and 60 % on the right."""
    case = _case("facet-rfa-initial")
    case["priorProcedures"] = [r for p in case["priorProcedures"] for r in _sided(p, "left", "right", relief=(85, 60))]
    if laterality is None:
        del case["request"]["laterality"]
    else:
        case["request"]["laterality"] = laterality
    for line in case["request"]["codes"]:
        line["modifiers"] = [modifier] if modifier else []
    return _criterion(_run(kb, case), "rfa-diagnostic-blocks")


def test_a_session_is_judged_by_its_records_on_the_sides_the_request_treats(kb: KnowledgeBase) -> None:
    left = _uneven(kb, "left", "LT")
    assert left.status is Status.MET
    for laterality, modifier in (("bilateral", "50"), ("right", "RT")):
        found = _uneven(kb, laterality, modifier)
        assert found.status is Status.NOT_MET, laterality
        assert "0 sessions count" in found.finding
        assert "2026-01-26" in found.finding and "2026-02-23" in found.finding  # the blocks that fall short, named
        assert [f.assessment for f in found.facts].count("does not qualify") == 2


def test_a_request_without_a_side_leaves_an_uneven_session_undecided(kb: KnowledgeBase) -> None:
    found = _uneven(kb, None, None)
    assert found.status is Status.UNKNOWN
    assert any(n.startswith("laterality of the request") for n in found.notStated), found.notStated


def test_an_undated_block_beside_a_dated_one_may_be_the_same_session(kb: KnowledgeBase) -> None:
    case = _case("sij-rfa-two-blocks")
    first = next(p for p in case["priorProcedures"] if p.get("source") == "lbb-note")
    del first["date"]
    d = _run(kb, case)
    assert d.outcome.value == "pended-information-needed"
    lbb = _criterion(d, "lateral-branch-blocks")
    assert lbb.status is Status.UNKNOWN
    assert lbb.notStated == ["date of the sacral lateral branch block (procedure note lbb-note)"]
    assert d.missingInformation == lbb.notStated


def test_an_undated_block_alone_is_a_session_of_its_own(kb: KnowledgeBase) -> None:
    d = _run(kb, _case("sij-seed-neurectomy"))
    lbb = _criterion(d, "lateral-branch-blocks")
    assert lbb.status is Status.NOT_MET and "(1 of 1 documented qualifies; at least 2 required.)" in lbb.finding


def test_two_undated_blocks_may_be_one_session(kb: KnowledgeBase) -> None:
    case = _case("facet-rfa-initial")
    for p in case["priorProcedures"]:
        del p["date"]
    blocks = _criterion(_run(kb, case), "rfa-diagnostic-blocks")
    assert blocks.status is Status.UNKNOWN
    assert {n.split(" of ")[0] for n in blocks.notStated} == {"date"}


def test_a_bilateral_rfa_entered_twice_is_one_session_of_the_yearly_limit(kb: KnowledgeBase) -> None:
    case = _case("facet-rfa-third-in-year")
    rfas = [p for p in case["priorProcedures"] if p["code"] == "64635"]
    case["priorProcedures"] = [p for p in case["priorProcedures"] if p["code"] != "64635"]
    case["priorProcedures"] += _sided(rfas[1], "left", "right")
    assert _criterion(_run(kb, case), "rfa-frequency").status is Status.MET  # one earlier session and the request
    case["priorProcedures"] += [rfas[0]]
    limit = _criterion(_run(kb, case), "rfa-frequency")
    assert limit.status is Status.NOT_MET
    assert "2025-06-09 (procedure note rfa-note-1)" in limit.finding and "2025-11-10" in limit.finding


@pytest.mark.parametrize(
    ("example", "policy", "criterion"),
    [
        ("esi-fifth-session-in-year", "medicare-esi-lcd", "frequency"),  # E8
        ("evicore-third-diagnostic-injection", "evicore-sij", "diagnostic-limit"),
        ("evicore-third-diagnostic-injection", "medicare-sij-lcd", "diagnostic-limit"),  # S9
    ],
)
def test_limits_count_sessions_not_records(kb: KnowledgeBase, example: str, policy: str, criterion: str) -> None:
    case = _case(example)
    assert _criterion(_run(kb, case, policy), criterion).status is Status.NOT_MET
    first, second = case["priorProcedures"][:2]
    second["date"] = first["date"]  # the second record is the other side of the first session
    first["laterality"], second["laterality"] = "left", "right"
    assert _criterion(_run(kb, case, policy), criterion).status is Status.MET


def test_a_failed_rfa_entered_twice_is_one_attempt(kb: KnowledgeBase) -> None:
    case = _case("sij-neurectomy-after-failed-rfa")
    rfas = [p for p in case["priorProcedures"] if p["code"] == "64625"]
    assert len(rfas) == 2 and _criterion(_run(kb, case), "rfa-before-surgery").status is Status.MET
    rfas[1]["date"] = rfas[0]["date"]
    attempts = _criterion(_run(kb, case), "rfa-before-surgery")
    assert attempts.status is Status.NOT_MET
    assert "1 session counts" in attempts.finding


# --- levels --------------------------------------------------------------------------------------

CODINGS = {
    "medicare-facet-lcd/levels": [
        "facet-rfa-initial",
        "facet-rfa-bilateral-lt-rt-lines",
        "facet-rfa-bilateral-units-2",
    ],
    "medicare-esi-lcd/transforaminal-levels": [
        "esi-transforaminal-bilateral-50",
        "esi-transforaminal-bilateral-lt-rt-lines",
        "esi-transforaminal-bilateral-units-2",
    ],
}


@pytest.mark.parametrize("criterion", sorted(CODINGS))
def test_a_bilateral_two_level_request_counts_two_levels_however_it_is_coded(kb: KnowledgeBase, criterion: str) -> None:
    answers = [_run(kb, _case(name)) for name in CODINGS[criterion]]
    assert {d.outcome.value for d in answers} == {"medically-necessary"}
    assert {_statuses(d)[criterion] for d in answers} == {Status.MET}
    assert len({tuple(sorted(_statuses(d).items())) for d in answers}) == 1


def _levels(kb: KnowledgeBase, name: str, codes: list[dict[str, Any]], laterality: str | None) -> CriterionResult:
    case = _case(name)
    del case["request"]["levels"]
    case["request"]["codes"] = codes
    if laterality is None:
        case["request"].pop("laterality", None)
    else:
        case["request"]["laterality"] = laterality
    return next(c for c in _run(kb, case).criteria if c.id.endswith("levels"))  # the one that applies


def test_without_stated_levels_codes_give_a_range(kb: KnowledgeBase) -> None:
    sided = [{"code": c, "units": 1, "modifiers": [m]} for c in ("64483", "64484") for m in ("LT", "RT")]
    tf = _levels(kb, "esi-transforaminal-two-levels", sided, "bilateral")
    assert tf.id.endswith("transforaminal-levels") and tf.status is Status.UNKNOWN  # 2 levels, or up to 4
    assert tf.notStated == ["level of the request of 2026-03-02"]
    one_level = [{"code": "64483", "units": 1, "modifiers": [m]} for m in ("LT", "RT")]
    assert _levels(kb, "esi-transforaminal-two-levels", one_level, "bilateral").status is Status.MET  # 1 or 2
    fifty = [{"code": c, "units": 1, "modifiers": ["50"]} for c in ("64635", "64636")]
    assert _levels(kb, "facet-rfa-initial", fifty, "bilateral").status is Status.MET  # one level a unit


def test_units_on_one_stated_side_are_levels(kb: KnowledgeBase) -> None:
    three = [{"code": "64483", "units": 1, "modifiers": ["LT"]}, {"code": "64484", "units": 2, "modifiers": ["LT"]}]
    found = _levels(kb, "esi-transforaminal-two-levels", three, "left")
    assert found.id.endswith("transforaminal-levels") and found.status is Status.NOT_MET


def test_stated_levels_decide_whatever_the_units(kb: KnowledgeBase) -> None:
    case = _case("esi-transforaminal-bilateral-units-2")
    case["request"]["codes"] = [{"code": "64483", "units": 3}, {"code": "64484", "units": 3}]
    assert _criterion(_run(kb, case), "transforaminal-levels").status is Status.MET
    case["request"]["levels"] = ["L3-L4", "L4-L5", "L5-S1"]
    assert _criterion(_run(kb, case), "transforaminal-levels").status is Status.NOT_MET


# --- distinct tests ------------------------------------------------------------------------------


def test_a_test_recorded_three_times_counts_once(kb: KnowledgeBase) -> None:
    case = _case("sij-injection-duplicated-faber")
    # every eviCore figure is S: its criteria are advisory, and a failed one pends for clinician review
    expected = {"medicare-sij-lcd": "not-medically-necessary", "evicore-sij": "pended-clinician-review"}
    for policy, outcome in expected.items():
        d = _run(kb, case, policy)
        tests = _criterion(d, "provocative-tests")
        assert (d.outcome.value, tests.status) == (outcome, Status.NOT_MET), policy
        assert "2 distinct tests count: FABER (Patrick) test, recorded 3 times; Thigh thrust" in tests.finding
        assert "the compression test (physical examination sij-exam)" in tests.finding  # the test that does not count


def test_the_pathway_counts_standard_tests_by_test(kb: KnowledgeBase) -> None:
    case = _case("sij-rfa-two-blocks")
    faber = next(f for f in case["examFindings"] if f["test"] == "FaberTest")
    case["examFindings"] = _sided(faber, "left", "right", "left") + [
        f for f in case["examFindings"] if f["test"] == "ThighThrustTest"
    ]
    tests = _criterion(_run(kb, case), "provocative-tests")
    assert tests.status is Status.NOT_MET
    assert "2 distinct tests count" in tests.finding


def test_a_test_counts_when_one_of_its_findings_is_positive_and_pends_when_none_says(kb: KnowledgeBase) -> None:
    case = _case("medicare-therapeutic-injection")
    faber = next(f for f in case["examFindings"] if f["test"] == "FaberTest")
    case["examFindings"].append(faber | {"result": "negative", "laterality": "left"})
    assert _criterion(_run(kb, case), "provocative-tests").status is Status.MET
    for f in case["examFindings"]:
        if f["test"] == "FaberTest":
            f.pop("result")
    tests = _criterion(_run(kb, case), "provocative-tests")
    assert tests.status is Status.UNKNOWN
    assert all(n.startswith("result of the FABER") for n in tests.notStated), tests.notStated


# --- the enrich stage and the evaluator ----------------------------------------------------------


def test_sessions_are_derived_for_the_classes_a_policy_counts(kb: KnowledgeBase) -> None:
    named = {p: {str(c).rsplit("#", 1)[-1] for c in kb.session_classes_of(kb.policy(p).iri)} for p in kb.policies}
    facet = {"MedialBranchBlock", "FacetJointDenervation", "TherapeuticFacetJointInjection"}
    assert named["medicare-facet-lcd"] == facet
    assert named["sij-clinical-pathway"] >= {"SacralLateralBranchBlock", "SacroiliacRadiofrequencyAblation"}
    assert named["medicare-esi-lcd"] == {"EpiduralSteroidInjection"}


def test_a_possibility_names_the_gap_it_hangs_on() -> None:
    g = Graph()
    session, record, block, gap, statement = (BNode() for _ in range(5))
    g.add((session, GR.possibleType, GR.Session))
    g.add((session, GR.hangsOn, gap))
    g.add((gap, GR.gapFact, block))
    g.add((gap, GR.gapProperty, CV.date))
    other = URIRef("urn:x:session")
    for p, o in ((GR.possibleSubject, other), (GR.possiblePredicate, GR.sessionRecord), (GR.possibleObject, record)):
        g.add((statement, p, o))
    g.add((statement, GR.hangsOn, gap))
    g.add((statement, RDF.type, GR.PossibleStatement))
    g.add((block, CV.percentRelief, Literal(80)))
    reader = Reader(g)
    found = reader.is_instance(session, GR.Session)
    assert isinstance(found, Unknown) and found.gaps == frozenset({Gap(block, CV.date)})
    (value,) = reader.objects(other, GR.sessionRecord)
    assert value.node == record and value.gaps == frozenset({Gap(block, CV.date)})  # type: ignore[attr-defined]
    stated = as_stated(g)
    assert (None, GR.gapFact, None) not in stated and (None, GR.hangsOn, None) not in stated
    assert (block, CV.percentRelief, Literal(80)) in stated


def test_a_count_of_sessions_keeps_the_records_they_are_made_of(kb: KnowledgeBase) -> None:
    """The JSON intake leaves out history no shape can see: not the records of a class whose sessions are counted."""
    from reasoner.knowledge import relevance

    esi = kb.types_of([URIRef("https://w3id.org/guideline-reasoner/procedure#EpiduralSteroidInjection")])
    assert not relevance.for_policy(kb, kb.policy("medicare-facet-lcd")).needed(CV.priorProcedure, esi, 99)
    counted = _with(
        kb,
        "ex:Root sh:targetNode proc:EpiduralSteroidInjection ; sh:property [ sh:path [ sh:inversePath gr:sessionOf ] ;"
        " sh:qualifiedValueShape [ sh:class gr:Session ] ; sh:qualifiedMaxCount 4 ] .",
    )
    assert counted.needed(CV.priorProcedure, esi, 99)
    unknown = _with(  # sessions reached other than from the class they are of: every record is kept
        kb,
        "ex:Root sh:targetClass cv:Case ; sh:property [ sh:path ( cv:request [ sh:inversePath gr:sessionOf ] ) ;"
        " sh:maxCount 1 ] .",
    )
    assert CV.priorProcedure not in unknown.kinds
