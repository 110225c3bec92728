"""Covered diagnoses per policy, and the V/V2 facts of issue 24 (F5, F6, F19, S7, S13, E1, E3, E6, E7, fusion).

Each test changes one thing in an example case and asserts the outcome, the criterion's status and
what its finding names; the example cases themselves are checked by tests/test_examples.py.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from rdflib import Graph, URIRef

from reasoner import KnowledgeBase, determine
from reasoner.intake.fhir.pas import read_pas
from reasoner.intake.json_case.to_rdf import to_graph
from reasoner.knowledge.entities import DiagnosisEntry
from reasoner.pipeline import determine_graph
from reasoner.vocab import GR

from .conftest import EXAMPLES, ROOT

FACET_RFA = "facet-rfa-initial"
NO_DIAGNOSIS = "The diagnosis (ICD-10-CM code) the procedure is requested for."


def _case(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def _determine(kb: KnowledgeBase, case: dict[str, Any], policy: str | None = None):  # type: ignore[no-untyped-def]
    return determine(json.dumps(case).encode(), "json", kb, policy=policy)


def _criterion(d, suffix: str):  # type: ignore[no-untyped-def]
    return next(c for c in d.criteria if c.id.endswith("/" + suffix))


# --- covered diagnoses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("diagnoses", "status", "outcome", "named"),
    [
        (["M47.816"], "met", "medically-necessary", None),
        (["M47.812"], "met", "medically-necessary", None),  # in the V range, a code the KB does not hold
        (["M54.50", "M48.15"], "met", "medically-necessary", None),  # a secondary diagnosis in an S range
        # a code the KB does not hold, named as ICD-10-CM describes it
        (["S72.001A"], "not-met", "not-medically-necessary", "ICD-10-CM S72.001A Fracture of unspecified part of neck"),
        (["M47.818"], "not-met", "not-medically-necessary", "M47.818"),  # just outside the range
        (["M54.16"], "not-met", "not-medically-necessary", "lumbar radiculopathy"),
        (  # deleted as a code, kept as a category: the request pends for a billable code (tests/test_request_codes.py)
            ["M54.5"],
            "not-met",
            "pended-information-needed",
            "ICD-10-CM M54.5, deleted from ICD-10-CM on 2021-10-01 and not a valid code (replaced by M54.50, M54.51"
            " and M54.59)",
        ),
    ],
)
def test_a_facet_request_needs_a_diagnosis_on_the_articles_list(
    kb: KnowledgeBase, diagnoses: list[str], status: str, outcome: str, named: str | None
) -> None:
    case = _case(FACET_RFA)
    case["request"]["diagnoses"] = diagnoses
    d = _determine(kb, case)
    c = _criterion(d, "covered-diagnosis")
    assert (c.status.value, d.outcome.value) == (status, outcome)
    if named is not None:
        assert c.finding.startswith("No diagnosis on the request is on the billing and coding article's list")
        assert named in c.finding
        assert "CPT 64635" in c.finding
        assert any(r.startswith("Covered diagnosis (billing and coding article) [V2]:") for r in d.rationale)
    assessments = {f.text.split(",")[0]: f.assessment for f in c.facts}
    assert len(assessments) == len(diagnoses)


def test_a_request_without_a_diagnosis_is_pended_under_every_policy(kb: KnowledgeBase) -> None:
    for name, criterion in (
        (FACET_RFA, "covered-diagnosis"),
        ("esi-transforaminal-two-levels", "diagnosis-stated"),
        ("medicare-therapeutic-injection", "diagnosis-stated"),
        ("evicore-therapeutic-injection", "diagnosis-stated"),
        ("sij-rfa-two-blocks", "sij-diagnosis"),
    ):
        case = _case(name)
        del case["request"]["diagnoses"]
        d = _determine(kb, case)
        c = _criterion(d, criterion)
        assert c.status.value == "unknown", name
        assert d.outcome.value == "pended-information-needed", name
        assert NO_DIAGNOSIS in d.missingInformation, name


def test_a_deleted_code_was_valid_before_its_deletion(kb: KnowledgeBase) -> None:
    """Matching reads the request date: M54.5 on a request of 2021 is simply not on the facet list."""
    case = _case(FACET_RFA)
    case["request"]["diagnoses"] = ["M54.5"]
    case["request"]["date"] = "2021-09-01"
    d = _determine(kb, case)
    assert _criterion(d, "covered-diagnosis").status.value == "not-met"


def test_a_turtle_request_without_a_primary_diagnosis_is_accepted_and_pended(kb: KnowledgeBase) -> None:
    text = (EXAMPLES / "sij-seed-neurectomy.ttl").read_text()
    g = Graph().parse(data=text, format="turtle")
    request = next(g.subjects(URIRef("https://w3id.org/guideline-reasoner/case#primaryDiagnosis"), None))
    g.remove((request, URIRef("https://w3id.org/guideline-reasoner/case#primaryDiagnosis"), None))
    g.remove((request, URIRef("https://w3id.org/guideline-reasoner/case#secondaryDiagnosis"), None))
    d = determine(g.serialize(format="turtle").encode(), "turtle", kb, policy="sij-clinical-pathway")
    assert _criterion(d, "sij-diagnosis").status.value == "unknown"
    assert NO_DIAGNOSIS in d.missingInformation


@pytest.mark.parametrize(
    ("entry", "inside", "outside"),
    [
        (
            DiagnosisEntry(URIRef("urn:x:r"), first="M47.812", last="M47.817"),
            ["M47.812", "M47.815"],
            ["M47.81", "M47.8123", "M47.818"],
        ),
        (DiagnosisEntry(URIRef("urn:x:p"), prefix="M47.81"), ["M47.811", "M47.819"], ["M47.8", "M47.891"]),
        (DiagnosisEntry(URIRef("urn:x:c"), code="M53.3"), ["M53.3"], ["M53.31", "M53.2X8"]),
    ],
)
def test_entries_hold_codes_by_notation(entry: DiagnosisEntry, inside: list[str], outside: list[str]) -> None:
    assert all(entry.holds(code) for code in inside)
    assert not any(entry.holds(code) for code in outside)


def test_the_lists_say_where_the_sources_give_none(kb: KnowledgeBase) -> None:
    lists = {str(k).rsplit("/", 2)[-2]: v for k, v in kb.diagnosis_lists.items()}
    assert len(lists["medicare-facet-lcd"]) == 4
    for policy in ("medicare-sij-lcd", "medicare-esi-lcd", "evicore-sij"):
        assert lists[policy] == ()
        listed = next(k for k in kb.diagnosis_lists if f"/{policy}/" in str(k))
        assert "no" in str(kb.ontology.value(listed, GR.sourceNote))


# --- E7: cervical and thoracic transforaminal injections ---------------------------------------------


def test_a_cervical_transforaminal_request_is_judged_by_the_esi_lcd(kb: KnowledgeBase) -> None:
    case = _case("esi-cervical-transforaminal")
    d = _determine(kb, case)
    assert d.outcome.value == "medically-necessary"
    assert [(r.code, r.coverage) for r in d.requested] == [("64479", "covered"), ("64480", "covered")]
    three = copy.deepcopy(case)
    three["request"]["levels"] = ["C4-C5", "C5-C6", "C6-C7"]
    three["request"]["codes"][1]["units"] = 2
    d = _determine(kb, three)
    assert _criterion(d, "transforaminal-levels").status.value == "not-met"
    alone = copy.deepcopy(case)
    alone["request"]["codes"] = alone["request"]["codes"][1:]
    d = _determine(kb, alone)
    assert _criterion(d, "add-on-primary").status.value == "not-met"
    assert "CPT 64480" in _criterion(d, "add-on-primary").finding


def test_g0259_is_held_but_addressed_by_no_policy(kb: KnowledgeBase) -> None:
    case = _case("medicare-therapeutic-injection")
    case["request"]["codes"] = [{"code": "G0259"}]
    for policy in ("medicare-sij-lcd", "sij-clinical-pathway", "evicore-sij"):
        d = _determine(kb, case, policy)
        assert d.outcome.value == "no-applicable-guideline"
        assert d.requested[0].label == "SIJ injection for arthrography"


# --- E1, E3, E6: ESI indications and contrast ----------------------------------------------------------


@pytest.mark.parametrize("code", ["M96.1", "B02.9"])
def test_post_laminectomy_and_zoster_are_esi_indications(kb: KnowledgeBase, code: str) -> None:
    case = _case("esi-axial-pain")
    before = _criterion(_determine(kb, case), "indication").status.value
    case["conditions"] = [{"code": code, "source": case["painHistory"]["source"]}]
    d = _determine(kb, case)
    assert (before, _criterion(d, "indication").status.value) == ("not-met", "met")


def test_acute_zoster_lifts_the_minimum_duration(kb: KnowledgeBase) -> None:
    case = _case("esi-transforaminal-two-levels")
    case["painHistory"]["durationMonths"] = 0.5
    assert _criterion(_determine(kb, case), "pain-duration").status.value == "not-met"
    case["conditions"].append({"code": "B02.9", "source": "spine-clinic"})
    assert _criterion(_determine(kb, case), "pain-duration").status.value == "met"
    case["conditions"][-1]["status"] = "resolved"
    assert _criterion(_determine(kb, case), "pain-duration").status.value == "not-met"


@pytest.mark.parametrize(("allergy", "status"), [(False, "not-met"), (True, "met")])
def test_esi_contrast_unless_contraindicated(kb: KnowledgeBase, allergy: bool, status: str) -> None:
    case = _case("esi-transforaminal-two-levels")
    case["request"]["contrast"] = False
    if allergy:
        case["conditions"].append({"code": "Z91.041", "source": "spine-clinic"})
    d = _determine(kb, case)
    assert _criterion(d, "image-guidance").status.value == status


# --- S7, S13: the SIJ LCD's ultrasound exception and biologic injectates ------------------------------


@pytest.mark.parametrize(
    ("conditions", "guidance", "contrast", "status"),
    [
        (["Z91.041"], "ultrasound", None, "met"),
        (["Z33.1"], "ultrasound", None, "met"),
        ([], "ultrasound", None, "not-met"),
        (["Z91.041"], "fluoroscopy", False, "not-met"),  # S7 allows ultrasound, not fluoroscopy without contrast
        (["Z91.041"], "fluoroscopy", None, "unknown"),
        ([], "fluoroscopy", True, "met"),
    ],
)
def test_sij_ultrasound_only_for_contrast_allergy_or_pregnancy(
    kb: KnowledgeBase, conditions: list[str], guidance: str, contrast: bool | None, status: str
) -> None:
    case = _case("medicare-diagnostic-ultrasound-contrast-allergy")
    case["conditions"] = [{"code": c, "source": "allergy-record"} for c in conditions]
    case["request"]["imageGuidance"] = guidance
    if contrast is not None:
        case["request"]["contrast"] = contrast
    d = _determine(kb, case)
    c = _criterion(d, "image-guidance")
    assert c.status.value == status
    if status == "not-met":
        assert c.finding.startswith("The planned image guidance for CPT 27096 is not CT or fluoroscopy with contrast")
    if status == "unknown":
        assert d.missingInformation == ["contrast of the request of 2026-03-09"]


@pytest.mark.parametrize("agent", ["PlateletRichPlasmaInjection", "StemCellInjection", "AmnioticTissueInjection"])
def test_a_biologic_sij_injection_is_not_covered(kb: KnowledgeBase, agent: str) -> None:
    """Not met; S13 carries S (tagged S/V2), so the criterion is advisory: pended for clinician review."""
    case = _case("medicare-biologic-sij-injection")
    case["request"]["codes"][0]["procedure"] = agent
    d = _determine(kb, case)
    c = _criterion(d, "no-biologics")
    assert (c.status.value, c.advisory, d.outcome.value) == ("not-met", True, "pended-clinician-review")
    assert c.finding == "The request is for the injection of a biologic agent, which the LCD does not cover: CPT 27096."


# --- F5, F6, F19: facet ------------------------------------------------------------------------------------


def test_a_significant_deformity_is_a_non_facet_cause(kb: KnowledgeBase) -> None:
    case = _case(FACET_RFA)
    case["imagingFindings"].append({"kind": "SignificantSpinalDeformity", "source": "lumbar-mri"})
    d = _determine(kb, case)
    c = _criterion(d, "no-other-cause")
    assert c.status.value == "not-met"
    assert c.finding.endswith(
        "that has not been addressed: the significant spinal deformity (imaging report lumbar-mri)."
    )
    case["imagingFindings"][-1]["addressed"] = True
    assert _criterion(_determine(kb, case), "no-other-cause").status.value == "met"


def test_a_disability_scale_at_baseline_is_asked_for(kb: KnowledgeBase) -> None:
    case = _case(FACET_RFA)
    del case["painHistory"]["disabilityScore"]
    d = _determine(kb, case)
    c = _criterion(d, "baseline-measured")
    assert (c.status.value, d.outcome.value) == ("unknown", "pended-information-needed")
    assert d.missingInformation == ["disability score of the pain history (clinic note spine-clinic)"]


def _with_rfa(case: dict[str, Any], **fields: Any) -> dict[str, Any]:
    rfa = {"code": "64635", "date": "2025-01-10", "laterality": "bilateral", "source": "spine-clinic"} | fields
    case["priorProcedures"].append(rfa)
    return case


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"levels": ["L4-L5"], "percentRelief": 80}, "not-met"),
        ({"levels": ["L4-L5"], "outcome": "effective"}, "not-met"),
        ({"levels": ["L4-L5"], "laterality": "left", "percentRelief": 80}, "not-met"),  # the request is bilateral
        ({"levels": ["L4-L5"], "percentRelief": 30, "outcome": "failed"}, "met"),
        ({"levels": ["L2-L3"], "percentRelief": 80}, "met"),
        ({"levels": ["L4-L5"]}, "unknown"),
        ({"percentRelief": 80}, "unknown"),
    ],
)
def test_no_diagnostic_block_at_a_level_with_a_successful_rfa(
    kb: KnowledgeBase, fields: dict[str, Any], status: str
) -> None:
    case = _with_rfa(_case("facet-first-diagnostic-block"), **fields)
    d = _determine(kb, case)
    c = _criterion(d, "no-block-after-successful-rfa")
    assert c.status.value == status
    if status == "not-met":
        assert (
            "an earlier RFA succeeded: the facet joint denervation of 2025-01-10 (clinic note spine-clinic)"
            in c.finding
        )
    if status == "unknown":
        assert d.outcome.value == "pended-information-needed"


@pytest.mark.parametrize(("justified", "status"), [(None, "unknown"), (False, "not-met"), (True, "met")])
def test_different_blocks_on_the_same_day_need_a_documented_reason(
    kb: KnowledgeBase, justified: bool | None, status: str
) -> None:
    case = _case("facet-first-diagnostic-block")
    assert _criterion(_determine(kb, case), "same-day-blocks").status.value == "met"
    case["request"]["codes"].append({"code": "64483"})
    if justified is not None:
        case["request"]["sameDayBlocksJustified"] = justified
    d = _determine(kb, case)
    c = _criterion(d, "same-day-blocks")
    assert c.status.value == status
    if status == "not-met":
        assert "(CPT 64483)" in c.finding
    if status == "unknown":
        assert "same-day blocks justified of the request of 2026-01-26" in d.missingInformation


# --- SIJ fusion -------------------------------------------------------------------------------------------


def test_a_fusion_meeting_mp_555_is_medically_necessary(kb: KnowledgeBase) -> None:
    case = _case("sij-fusion-two-weeks-of-care")
    case["conservativeCare"][0]["weeks"] = 26
    d = _determine(kb, case)
    assert d.outcome.value == "medically-necessary", [(c.id, c.status.value) for c in d.criteria]


@pytest.mark.parametrize(
    ("edit", "criterion", "status"),
    [
        (lambda c: c["painHistory"].__setitem__("score", 4), "fusion-pain-severity", "not-met"),
        (lambda c: c["painHistory"].__delitem__("score"), "fusion-pain-severity", "unknown"),
        (lambda c: c["painHistory"].__setitem__("location", "lumbar-above-l5"), "fusion-pain-location", "not-met"),
        (lambda c: c["examFindings"].pop(), "fusion-fortin", "not-met"),
        (lambda c: c["examFindings"][-1].__delitem__("result"), "fusion-fortin", "unknown"),
        (lambda c: c["imagingFindings"][1].__delitem__("addressed"), "fusion-imaging", "not-met"),
        (lambda c: c.__setitem__("priorProcedures", c["priorProcedures"][:-1]), "rfa-before-surgery", "not-met"),
    ],
)
def test_each_fusion_criterion_decides(kb: KnowledgeBase, edit: Any, criterion: str, status: str) -> None:
    case = _case("sij-fusion-two-weeks-of-care")
    case["conservativeCare"][0]["weeks"] = 26
    edit(case)
    d = _determine(kb, case)
    assert _criterion(d, criterion).status.value == status
    outcomes = {"unknown": "pended-information-needed", "not-met": "not-medically-necessary"}
    if criterion == "rfa-before-surgery":  # resting on S facts: advisory, it pends for clinician review
        outcomes["not-met"] = "pended-clinician-review"
    assert d.outcome.value == outcomes[status]


def test_open_fusion_is_judged_like_percutaneous(kb: KnowledgeBase) -> None:
    case = _case("sij-fusion-two-weeks-of-care")
    case["request"]["codes"] = [{"code": "27280", "modifiers": ["LT"]}]
    d = _determine(kb, case)
    assert _criterion(d, "fusion-conservative-care").status.value == "not-met"
    assert d.outcome.value == "not-medically-necessary"


# --- FHIR: the new fields ----------------------------------------------------------------------------------


def test_pas_reads_the_disability_score_and_same_day_reason(kb: KnowledgeBase) -> None:
    bundle = json.loads((ROOT / "examples" / "fhir" / "sij-seed-neurectomy.pas.json").read_text())
    claim = bundle["entry"][0]["resource"]
    ours = "https://w3id.org/guideline-reasoner/case"
    claim["supportingInfo"].append(
        {
            "sequence": 99,
            "category": {"coding": [{"system": ours, "code": "same-day-blocks-justified"}]},
            "valueBoolean": True,
        }
    )
    bundle["entry"].append(
        {
            "fullUrl": "urn:uuid:0d1e5c1a-8c2e-4f55-9f0e-5b1c6a7e0001",
            "resource": {
                "resourceType": "Observation",
                "id": "odi-baseline",
                "status": "final",
                "code": {
                    "coding": [
                        {"system": "https://w3id.org/guideline-reasoner/observation", "code": "disability-score"}
                    ]
                },
                "subject": {"reference": "Patient/patient-0001"},
                "effectiveDateTime": "2025-09-01",
                "valueQuantity": {"value": 38, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
            },
        }
    )
    pas = read_pas(json.dumps(bundle).encode(), kb)
    assert pas.case is not None
    assert pas.case.request.sameDayBlocksJustified is True
    assert pas.case.painHistory is not None and pas.case.painHistory.disabilityScore == 38
    d = determine_graph(to_graph(pas.case, kb), kb, policy="sij-clinical-pathway")
    assert d.outcome.value == "not-medically-necessary"
