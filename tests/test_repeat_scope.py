"""Issue 24: repeat rules scoped to the site the facts name, the functional alternative, F4 and S4.

Repeat rules (F7, F11, F15 b, S10, E9) read only the last earlier procedure of their class at the
requested levels and side; an unstated date, level or side makes that unknown, never a denial,
and the letter names the value (of whichever procedure it is). F11, F15 b, S10 and E9 accept 50 %
better function for 50 % relief. F4's synovial cyst excuses only a radiculopathy, and only at a
requested level; S4 counts only the causes it names. The example cases carry the end-to-end
answers (examples/cases/*.expected.json); these tests vary them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rdflib import RDF, BNode, Graph, Literal, URIRef

from reasoner import KnowledgeBase, determine, parse_case
from reasoner.enrich.sites import level_key
from reasoner.enrich.stage import enrich
from reasoner.enrich.unstated import as_stated
from reasoner.knowledge.rules import rule_problems
from reasoner.model import Determination
from reasoner.shacl.reader import Reader
from reasoner.shacl.truth import Gap, Uncertain
from reasoner.vocab import CV, GR, KB

from .conftest import EXAMPLES


def _case(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def _run(kb: KnowledgeBase, case: dict[str, Any]) -> Determination:
    return determine(json.dumps(case).encode(), "json", kb)


def _criterion(d: Determination, name: str) -> Any:
    return next(c for c in d.criteria if c.id.endswith("/" + name))


def _status(d: Determination, name: str) -> str:
    return _criterion(d, name).status.value


def _prior(case: dict[str, Any], source: str) -> dict[str, Any]:
    return next(p for p in case["priorProcedures"] if p["source"] == source)


def _assessed(kb: KnowledgeBase, case: dict[str, Any], name: str) -> tuple[str, dict[str, str | None]]:
    """The criterion's status, and each fact listed under it by date: its assessment."""
    c = _criterion(_run(kb, case), name)
    return c.status.value, {f.text.split(",")[1].strip(): f.assessment for f in c.facts}


# --- the examples, fact by fact ------------------------------------------------------------------


def test_an_rfa_at_other_levels_is_not_counted_against_a_repeat(kb: KnowledgeBase) -> None:
    d = _run(kb, _case("facet-repeat-rfa-new-levels"))
    c = _criterion(d, "repeat-rfa")
    assert d.outcome.value == "medically-necessary" and c.status.value == "met"
    assert c.finding == "Met. (none counted.)"
    assert _assessed(kb, _case("facet-repeat-rfa-new-levels"), "repeat-rfa") == ("met", {"2023-03-13": "not counted"})


def test_the_last_injection_of_the_joint_decides_a_repeat(kb: KnowledgeBase) -> None:
    case = _case("medicare-repeat-therapeutic-after-poor-then-good")
    assert _assessed(kb, case, "repeat-therapeutic") == (
        "met",
        {"2022-03-07": "not counted", "2025-09-08": "qualifies"},
    )
    old, recent = _prior(case, "ther-2022-note"), _prior(case, "ther-2025-note")
    old["date"], recent["date"] = recent["date"], old["date"]  # the poor one is now the last
    d = _run(kb, case)
    c = _criterion(d, "repeat-therapeutic")
    assert d.outcome.value == "not-medically-necessary" and c.status.value == "not-met"
    assert "the therapeutic intra-articular SIJ steroid injection of 2025-09-08 (procedure note ther-2022-note)" in (
        c.finding
    )


def test_a_block_at_other_levels_is_not_the_first_block_of_a_confirmatory_one(kb: KnowledgeBase) -> None:
    case = _case("facet-confirmatory-block-after-negative-elsewhere")
    assert _assessed(kb, case, "confirmatory-block") == (
        "met",
        {"2026-01-26": "qualifies", "2024-05-13": "not counted"},
    )
    _prior(case, "mbb-2024-note")["levels"] = ["L4-5"]  # the same level, however it is spelt
    _prior(case, "mbb-2024-note")["date"] = "2026-02-02"  # and now the last block there
    d = _run(kb, case)
    assert _status(d, "confirmatory-block") == "not-met"


def test_a_tfesi_on_the_other_side_and_level_does_not_bar_a_new_one(kb: KnowledgeBase) -> None:
    case = _case("esi-repeat-other-side-level")
    assert _status(_run(kb, case), "repeat") == "met"
    case["priorProcedures"][0]["laterality"] = "right"  # same side, still another level
    assert _status(_run(kb, case), "repeat") == "met"
    case["priorProcedures"][0]["levels"] = ["L4-L5"]  # same side and level, and it failed
    c = _criterion(_run(kb, case), "repeat")
    assert c.status.value == "not-met"
    assert c.finding.startswith("The last ESI at the requested levels and side gave neither")


def test_each_side_of_a_bilateral_repeat_has_its_own_last_procedure(kb: KnowledgeBase) -> None:
    case = _case("facet-repeat-rfa-function-only")
    rfa = next(p for p in case["priorProcedures"] if p["code"] == "64635")
    left = {**rfa, "laterality": "left", "date": "2024-02-05", "percentRelief": 20, "functionalImprovement": 10}
    right = {**rfa, "laterality": "right", "date": "2025-06-02"}
    case["priorProcedures"] = [p for p in case["priorProcedures"] if p is not rfa] + [left, right]
    assert _status(_run(kb, case), "repeat-rfa") == "not-met"  # the left joints' last RFA failed
    case["request"]["laterality"] = "right"
    case["request"]["codes"] = [{**line, "modifiers": ["RT"]} for line in case["request"]["codes"]]
    assert _status(_run(kb, case), "repeat-rfa") == "met"  # the right joints' last RFA qualifies


# --- three-valued: an unstated date, level or side pends, naming it ------------------------------


@pytest.mark.parametrize(
    ("source", "field", "named"),
    [
        ("ther-2025-note", "date", "date of the therapeutic intra-articular SIJ steroid injection (procedure note "),
        ("ther-2022-note", "date", "date of the therapeutic intra-articular SIJ steroid injection (procedure note "),
        ("ther-2025-note", "laterality", "laterality of the therapeutic intra-articular SIJ steroid injection of "),
    ],
)
def test_whether_an_earlier_injection_is_the_last_may_be_unknown(
    kb: KnowledgeBase, source: str, field: str, named: str
) -> None:
    case = _case("medicare-repeat-therapeutic-after-poor-then-good")
    del _prior(case, source)[field]
    d = _run(kb, case)
    c = _criterion(d, "repeat-therapeutic")
    assert d.outcome.value == "pended-information-needed" and c.status.value == "unknown"
    assert c.notStated == [next(n for n in c.notStated if n.startswith(named))] and source in c.notStated[0]


def test_an_earlier_rfa_without_levels_may_be_at_the_site(kb: KnowledgeBase) -> None:
    case = _case("facet-repeat-rfa-new-levels")
    del _prior(case, "rfa-2023-note")["levels"]
    c = _criterion(_run(kb, case), "repeat-rfa")
    assert c.status.value == "unknown"
    assert c.notStated == ["level of the facet joint denervation of 2023-03-13 (procedure note rfa-2023-note)"]


def test_the_request_side_unstated_still_decides_what_either_side_would(kb: KnowledgeBase) -> None:
    case = _case("medicare-repeat-therapeutic-after-poor-then-good")
    del case["request"]["laterality"]
    case["request"]["codes"] = [
        {k: v for k, v in line.items() if k != "modifiers"} for line in case["request"]["codes"]
    ]
    assert _status(_run(kb, case), "repeat-therapeutic") == "met"  # the 2022 one is superseded wherever it was


def test_the_latest_at_site_is_a_possible_statement_naming_another_procedures_date(kb: KnowledgeBase) -> None:
    case = _case("medicare-repeat-therapeutic-after-poor-then-good")
    del _prior(case, "ther-2025-note")["date"]
    e = enrich(parse_case(json.dumps(case).encode(), "json", kb).graph, kb, kb.policy("medicare-sij-lcd"))
    g, criterion = e.graph, KB["medicare-sij-lcd/repeat-therapeutic"]
    old = next(p for p in g.objects(e.case, CV.priorProcedure) if (p, CV.date, None) in g and "procedure-1" in str(p))
    recent = next(p for p in g.objects(e.case, CV.priorProcedure) if (p, CV.date, None) not in g)
    assert (old, GR.latestAtSite, criterion) not in g
    value = next(v for v in Reader(g).objects(old, GR.latestAtSite) if type(v) is Uncertain)
    assert value.node == criterion and value.gaps == frozenset({Gap(recent, CV.date)})
    stated = as_stated(g)  # pyshacl's reading: no possible statement, nor what it hangs on
    assert not set(stated.subjects(RDF.type, GR.PossibleStatement)) and not set(stated.subjects(GR.gapFact, None))


# --- the functional alternative ----------------------------------------------------------------------


@pytest.mark.parametrize(("function", "status"), [(60, "met"), (30, "not-met"), (None, "unknown")])
def test_a_repeat_rfa_qualifies_by_function(kb: KnowledgeBase, function: int | None, status: str) -> None:
    case = _case("facet-repeat-rfa-function-only")
    rfa = next(p for p in case["priorProcedures"] if p["code"] == "64635")
    assert rfa["percentRelief"] < 50  # relief alone does not qualify it
    rfa.pop("functionalImprovement")
    if function is not None:
        rfa["functionalImprovement"] = function
    c = _criterion(_run(kb, case), "repeat-rfa")
    assert c.status.value == status
    if status == "unknown":
        assert c.notStated == [
            "functional improvement of the facet joint denervation of 2025-06-02 (procedure note rfa-note)"
        ]
        assert [f.assessment for f in c.facts] == ["may qualify"]


def test_relief_and_function_both_unstated_is_unknown_either_met_is_met(kb: KnowledgeBase) -> None:
    case = _case("facet-repeat-rfa-function-only")
    rfa = next(p for p in case["priorProcedures"] if p["code"] == "64635")
    del rfa["percentRelief"], rfa["functionalImprovement"]
    assert _status(_run(kb, case), "repeat-rfa") == "unknown"
    rfa["functionalImprovement"] = 55
    assert _status(_run(kb, case), "repeat-rfa") == "met"


@pytest.mark.parametrize(("months", "status"), [(4, "met"), (1, "not-met"), (None, "unknown")])
def test_sij_and_esi_function_must_last_as_long_as_relief(kb: KnowledgeBase, months: int | None, status: str) -> None:
    for name, source in (
        ("medicare-repeat-therapeutic-short-relief", "ther-injection-note"),
        ("esi-repeat-short-relief", "esi-note"),
    ):
        case = _case(name)
        prior = _prior(case, source)
        prior["functionalImprovement"] = 60
        prior.pop("functionalImprovementMonths")
        if months is not None:
            prior["functionalImprovementMonths"] = months
        d = _run(kb, case)
        c = _criterion(d, "repeat-therapeutic" if name.startswith("medicare") else "repeat")
        assert c.status.value == status, name
        if status == "unknown":
            assert c.notStated[0].startswith("months of functional improvement of the ")


def test_the_functional_improvement_is_read_from_fhir(kb: KnowledgeBase) -> None:
    from reasoner.intake.fhir.history import _relief

    ours = "https://w3id.org/guideline-reasoner/observation"
    observations = [
        {"code": {"coding": [{"system": ours, "code": code}]}, "valueQuantity": {"value": value}}
        for code, value in (("functional-improvement", 60), ("functional-improvement-duration", 4))
    ]
    assert _relief(observations, lambda _o: "Observation") == {
        "functionalImprovement": 60,
        "functionalImprovementMonths": 4,
    }


# --- F4: the synovial cyst excuses a radiculopathy at a treated level --------------------------------


def test_a_cyst_at_another_level_or_with_claudication_excuses_nothing(kb: KnowledgeBase) -> None:
    other = _criterion(_run(kb, _case("facet-rfa-cyst-other-level")), "no-radiculopathy")
    assert other.status.value == "not-met" and "the lumbar radiculopathy (clinic note spine-clinic)" in other.finding
    claudication = _criterion(_run(kb, _case("facet-rfa-claudication-with-cyst")), "no-radiculopathy")
    assert claudication.status.value == "not-met"
    assert "the lumbar spinal stenosis with neurogenic claudication (clinic note spine-clinic)" in claudication.finding
    assert _status(_run(kb, _case("facet-rfa-radiculopathy-from-cyst")), "no-radiculopathy") == "met"


def test_a_cyst_without_levels_may_be_at_the_treated_level(kb: KnowledgeBase) -> None:
    case = _case("facet-rfa-cyst-other-level")
    cyst = next(f for f in case["imagingFindings"] if f["kind"] == "FacetSynovialCyst")
    del cyst["levels"]
    d = _run(kb, case)
    c = _criterion(d, "no-radiculopathy")
    assert d.outcome.value == "pended-information-needed" and c.status.value == "unknown"
    assert c.notStated == ["level of the facet synovial cyst (imaging report lumbar-mri)"]


# --- S4: only the causes it names --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("finding", "character", "condition", "status"),
    [
        ("DiscHerniation", "axial", None, "met"),  # a herniation without radicular pain is incidental
        ("DiscHerniation", "radicular", None, "not-met"),
        ("ForaminalStenosis", "mixed", None, "not-met"),
        ("DiscHerniation", None, None, "unknown"),  # the pain character decides it
        ("CentralStenosis", "axial", None, "met"),
        ("CentralStenosis", "axial", "M48.062", "not-met"),  # with neurogenic claudication
        ("Fracture", "axial", None, "not-met"),
        ("HardwareComplication", "axial", None, "not-met"),
        ("Spondylolisthesis", "axial", None, "met"),  # not a cause S4 names
        (None, "axial", "M96.0", "not-met"),  # pseudarthrosis
    ],
)
def test_s4_counts_only_the_causes_it_names(
    kb: KnowledgeBase, finding: str | None, character: str | None, condition: str | None, status: str
) -> None:
    case = _case("medicare-sij-incidental-degeneration")
    if finding is not None:
        case["imagingFindings"].append({"kind": finding, "levels": ["L5-S1"], "source": "lumbar-mri"})
    case["painHistory"].pop("character")
    if character is not None:
        case["painHistory"]["character"] = character
    if condition is not None:
        case["conditions"] = [{"code": condition, "status": "active", "source": "clinic-notes"}]
    c = _criterion(_run(kb, case), "other-causes")
    assert c.status.value == status, c.finding
    if status == "not-met":
        assert c.finding.startswith("The record points to another cause of the pain that the LCD names")
    if status == "unknown":
        assert c.notStated == ["pain character of the pain history (clinic note clinic-notes)"]


def test_an_addressed_cause_does_not_count(kb: KnowledgeBase) -> None:
    case = _case("medicare-sij-incidental-degeneration")
    case["imagingFindings"].append({"kind": "Fracture", "levels": ["L1"], "addressed": True, "source": "lumbar-mri"})
    assert _status(_run(kb, case), "other-causes") == "met"


# --- the pieces -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "key"),
    [("L4-L5", "L4-5"), ("l4-5", "L4-5"), ("L4/5", "L4-5"), ("L5-S1", "L5-S1"), ("S1", "S1"), ("C5 - C6", "C5-6")],
)
def test_one_level_however_it_is_spelt(written: str, key: str) -> None:
    assert level_key(written) == key


def test_the_scoped_rules_are_declared(kb: KnowledgeBase) -> None:
    scopes = {str(c).rsplit("/", 1)[-1]: (s.region, s.level, s.side) for c, s in kb.site_scopes.items()}
    assert scopes == {
        "confirmatory-block": (True, True, True),
        "repeat-rfa": (True, True, True),
        "therapeutic-repeat": (True, True, True),
        "repeat": (True, True, True),
        "repeat-therapeutic": (False, False, True),
    }
    for criterion in kb.site_scopes:
        assert kb.criteria[criterion].scope_shapes  # the facts each leaves out are listed as not counted


_PREFIXES = """
PREFIX dx:     <https://w3id.org/guideline-reasoner/condition#>
PREFIX find:   <https://w3id.org/guideline-reasoner/finding#>
PREFIX gr:     <https://w3id.org/guideline-reasoner/core#>
PREFIX mfacet: <https://w3id.org/guideline-reasoner/kb/medicare-facet-lcd/>
PREFIX proc:   <https://w3id.org/guideline-reasoner/procedure#>
"""


def _problems(kb: KnowledgeBase, rule: str) -> list[str]:
    g = Graph()
    g.parse(data=f"{_PREFIXES}\n<{KB}medicare-facet-lcd/x> gr:rule {rule} .", format="turtle")
    for t in kb.ontology.subjects(RDF.type, GR.Threshold):
        for triple in kb.ontology.triples((t, None, None)):
            g.add(triple)
    return [message for _c, message in rule_problems(g)]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "[ a gr:RepeatRequiresResponse ; gr:procedureClass proc:FacetJointDenervation ;"
            " gr:minRelief mfacet:repeat-rfa-min-relief ;"
            " gr:minFunctionalImprovementDuration mfacet:repeat-rfa-min-months ]",
            "gr:minFunctionalImprovementDuration needs gr:minFunctionalImprovement",
        ),
        (
            "[ a gr:RepeatRequiresResponse ; gr:procedureClass proc:FacetJointDenervation ;"
            " gr:minRelief mfacet:repeat-rfa-min-relief ; gr:minFunctionalImprovement mfacet:repeat-rfa-min-months ]",
            "repeat-rfa-min-months must be in percent",
        ),
        (
            "[ a gr:Exclusion ; gr:excludedClass dx:Radiculopathy ; gr:exceptionLifts dx:Radiculopathy ]",
            "qualify a gr:exceptClass",
        ),
        (
            "[ a gr:Exclusion ; gr:excludedClass dx:Radiculopathy ; gr:exceptClass find:FacetSynovialCyst ;"
            " gr:exceptionLifts dx:NeurogenicClaudication ]",
            "gr:exceptionLifts must name a gr:excludedClass",
        ),
        (
            "[ a gr:Exclusion ; gr:conditionalExclusion [ gr:excludedClass find:DiscHerniation ] ]",
            "needs a gr:excludedClass and a gr:onlyWith",
        ),
    ],
)
def test_a_scope_the_expansion_cannot_write_is_named(kb: KnowledgeBase, rule: str, message: str) -> None:
    problems = _problems(kb, rule)
    assert len(problems) == 1 and message in problems[0], problems


def test_a_well_formed_scoped_rule_expands(kb: KnowledgeBase) -> None:
    rule = (
        "[ a gr:RepeatRequiresResponse ; gr:procedureClass proc:FacetJointDenervation ;"
        " gr:minRelief mfacet:repeat-rfa-min-relief ; gr:window mfacet:window-months ;"
        " gr:sameLevel true ; gr:sameSide true ; gr:mostRecentOnly true ]"
    )
    assert _problems(kb, rule) == []


def test_a_possible_statement_names_the_values_it_hangs_on() -> None:
    g = Graph()
    fact, other, statement, because = URIRef("urn:x:p"), URIRef("urn:x:q"), BNode(), BNode()
    g.add((statement, RDF.type, GR.PossibleStatement))
    g.add((statement, GR.possibleSubject, fact))
    g.add((statement, GR.possiblePredicate, GR.latestAtSite))
    g.add((statement, GR.possibleObject, Literal("c")))
    g.add((statement, GR.hangsOn, because))
    g.add((because, GR.gapFact, other))
    g.add((because, GR.gapProperty, CV.date))
    (value,) = Reader(g).objects(fact, GR.latestAtSite)
    assert type(value) is Uncertain and value.node == Literal("c") and value.gaps == frozenset({Gap(other, CV.date)})
