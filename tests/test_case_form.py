"""The case form of issue 14: orthogonal facts, several purposes, "not stated" apart from "no".

Image guidance is a modality and contrast a boolean of its own, in the JSON form, the Turtle
vocabulary and the FHIR mapping; the compound values of the form before 2026-12 are still read;
a prior procedure may have several purposes, stated or implied by its injectate (declared in
Turtle), and gets the classes of each; an exam finding may leave its result unstated; the
expected documentation (gr:expectedOn) and the inputs of derived values (gr:derivedFrom) are
declared in the knowledge base.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from rdflib import RDF, RDFS, Graph, Literal, URIRef

from reasoner import CaseSchemaError, KnowledgeBase, determine, parse_case
from reasoner.enrich.stage import enrich
from reasoner.errors import CaseShapeError, FhirError
from reasoner.intake.fhir.hooks import read_hook
from reasoner.intake.fhir.pas import read_pas
from reasoner.intake.json_case.load import load_json
from reasoner.intake.json_case.schema import digest
from reasoner.vocab import CV, GR, PROC

from .conftest import EXAMPLES, ROOT

FHIR = ROOT / "examples" / "fhir"
OURS = "https://w3id.org/guideline-reasoner/case"
CONTRAST_ITEM = "contrast of the request of 2026-03-02"  # each unstated value is named: what, of which fact


def _case(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def _determine(case: dict[str, Any], policy: str | None = None):  # type: ignore[no-untyped-def]
    return determine(json.dumps(case).encode(), "json", _KB, policy=policy)


def _statuses(d) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {c.id.split("/", 1)[1]: c.status.value for c in d.criteria}


def _problems(case: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(CaseSchemaError) as info:
        load_json(json.dumps(case).encode())
    return info.value.problems


_KB: KnowledgeBase


@pytest.fixture(autouse=True)
def _kb(kb: KnowledgeBase) -> None:
    global _KB
    _KB = kb


# --- the JSON form: guidance modality and contrast -------------------------------------------------


def _guided(guidance: str | None, contrast: bool | None, name: str = "esi-transforaminal-two-levels") -> dict:  # type: ignore[type-arg]
    case = _case(name)
    request = case["request"]
    request.pop("contrast", None)
    request.pop("imageGuidance", None)
    if guidance is not None:
        request["imageGuidance"] = guidance
    if contrast is not None:
        request["contrast"] = contrast
    return case


@pytest.mark.parametrize(
    ("old", "modality"), [("fluoroscopy-with-contrast", "fluoroscopy"), ("ct-with-contrast", "ct")]
)
def test_a_compound_guidance_is_read_as_its_modality_with_contrast(old: str, modality: str) -> None:
    before, after = _guided(old, None), _guided(modality, True)
    read = load_json(json.dumps(before).encode())
    assert (read.request.imageGuidance, read.request.contrast) == (modality, True)
    assert digest(read) == digest(load_json(json.dumps(after).encode()))
    # with contrast also stated true it is the same case; the determination is the same, id included
    also = _guided(old, True)
    assert _determine(also).determinationId == _determine(after).determinationId == _determine(before).determinationId


def test_a_compound_guidance_with_contrast_false_is_refused_naming_request_contrast() -> None:
    problems = _problems(_guided("fluoroscopy-with-contrast", False))
    assert [where for where, _ in problems] == ["request.contrast"]
    assert "request.imageGuidance" in problems[0][1] and "contrast" in problems[0][1]


def test_contrast_under_no_guidance_is_refused_naming_request_contrast() -> None:
    assert [where for where, _ in _problems(_guided("none", True))] == ["request.contrast"]
    load_json(json.dumps(_guided("none", False)).encode())  # stating "no contrast" is fine


@pytest.mark.parametrize("value", ["ct-without-contrast", "fluoroscopy with contrast", "Fluoroscopy", {}, ["ct"], 1])
def test_an_unknown_guidance_names_the_field_not_the_value(value: object) -> None:
    case = _guided("ct", None)
    case["request"]["imageGuidance"] = value
    problems = _problems(case)
    assert [where for where, _ in problems] == ["request.imageGuidance"]
    if isinstance(value, str):
        assert value not in " ".join(what for _, what in problems)


def test_contrast_is_a_boolean_in_the_graph_and_absent_when_not_stated() -> None:
    for contrast in (True, False, None):
        graph = parse_case(json.dumps(_guided("fluoroscopy", contrast)).encode(), "json", _KB).graph
        request = next(graph.subjects(RDF.type, CV.ServiceRequest))
        assert list(graph.objects(request, CV.contrast)) == ([] if contrast is None else [Literal(contrast)])
        assert list(graph.objects(request, CV.imageGuidance)) == [CV.Fluoroscopy]


# --- the ESI contrast criterion (E6) and the Medicare SIJ one (S7) --------------------------------------


@pytest.mark.parametrize(
    ("guidance", "contrast", "status", "outcome"),
    [
        ("fluoroscopy", True, "met", "medically-necessary"),
        ("ct", True, "met", "medically-necessary"),
        ("fluoroscopy", False, "not-met", "not-medically-necessary"),
        ("ct", False, "not-met", "not-medically-necessary"),
        ("fluoroscopy", None, "unknown", "pended-information-needed"),
        ("ultrasound", None, "not-met", "not-medically-necessary"),
        ("ultrasound", True, "not-met", "not-medically-necessary"),
        ("none", None, "not-met", "not-medically-necessary"),
    ],
)
def test_esi_requires_contrast_stated_true(guidance: str, contrast: bool | None, status: str, outcome: str) -> None:
    d = _determine(_guided(guidance, contrast))
    assert _statuses(d)["image-guidance"] == status
    assert d.outcome.value == outcome
    assert (CONTRAST_ITEM in d.missingInformation) == (status == "unknown")


def test_esi_without_guidance_asks_for_guidance_and_contrast() -> None:
    d = _determine(_guided(None, None))
    assert _statuses(d)["image-guidance"] == "unknown"
    assert {"image guidance of the request of 2026-03-02", CONTRAST_ITEM} <= set(d.missingInformation)


@pytest.mark.parametrize(
    ("guidance", "contrast", "status"),
    [
        ("fluoroscopy", True, "met"),
        ("fluoroscopy", False, "not-met"),
        ("fluoroscopy", None, "unknown"),
        (None, None, "unknown"),
    ],
)
def test_medicare_sij_image_guidance_reads_modality_and_contrast_apart(
    guidance: str | None, contrast: bool | None, status: str
) -> None:
    d = _determine(_guided(guidance, contrast, "medicare-therapeutic-injection"))
    assert _statuses(d)["image-guidance"] == status


def test_policies_without_a_contrast_requirement_ignore_it() -> None:
    for contrast in (True, False, None):
        d = _determine(_guided("fluoroscopy", contrast, "evicore-therapeutic-injection"))
        assert _statuses(d)["image-guidance"] == "met"
        assert CONTRAST_ITEM not in d.missingInformation


# --- several purposes, and the injectate ---------------------------------------------------------------


def _combined(**edit: object) -> dict:  # type: ignore[type-arg]
    case = _case("sij-rfa-combined-injection")
    injection = case["priorProcedures"][0]
    assert injection["code"] == "27096"
    for key in ("injectate", "purpose"):
        injection.pop(key, None)
    injection.update(edit)
    return case


PATHWAY_STEPS = ("diagnostic-injection", "therapeutic-injection")


@pytest.mark.parametrize(
    ("edit", "met"),
    [
        pytest.param(
            {"injectate": ["anaesthetic", "steroid"]}, {"diagnostic-injection", "therapeutic-injection"}, id="injectate"
        ),
        pytest.param(
            {"purpose": ["diagnostic", "therapeutic"]}, {"diagnostic-injection", "therapeutic-injection"}, id="purposes"
        ),
        pytest.param(
            {"purpose": "therapeutic", "injectate": ["anaesthetic"]},
            {"diagnostic-injection", "therapeutic-injection"},
            id="stated-and-implied",
        ),
        pytest.param({"injectate": ["anaesthetic"]}, {"diagnostic-injection"}, id="anaesthetic-only"),
        pytest.param({"purpose": "diagnostic"}, {"diagnostic-injection"}, id="diagnostic-only"),
        pytest.param({"injectate": ["steroid"]}, {"therapeutic-injection"}, id="steroid-only"),
    ],
)
def test_one_injection_of_anaesthetic_and_steroid_does_both_pathway_steps(edit: dict, met: set[str]) -> None:  # type: ignore[type-arg]
    d = _determine(_combined(**edit), "sij-clinical-pathway")
    statuses = _statuses(d)
    assert {s for s in PATHWAY_STEPS if statuses[s] == "met"} == met
    assert d.outcome.value == ("medically-necessary" if met == set(PATHWAY_STEPS) else "not-medically-necessary")


def test_the_combined_injection_gets_the_classes_of_both_purposes() -> None:
    graph = parse_case(json.dumps(_combined(injectate=["steroid", "anaesthetic"])).encode(), "json", _KB).graph
    enriched = enrich(graph, _KB, _KB.policy("sij-clinical-pathway")).graph
    [injection] = set(enriched.subjects(CV.injectate, None))
    types = set(enriched.objects(injection, RDF.type))
    assert {PROC.DiagnosticSacroiliacJointInjection, PROC.TherapeuticSacroiliacJointInjection} <= types
    assert set(enriched.objects(injection, CV.injectate)) == {URIRef(f"{OURS}#Anaesthetic"), URIRef(f"{OURS}#Steroid")}
    assert not set(enriched.objects(injection, CV.purpose))  # implied purposes are not written as stated ones


def test_the_purposes_an_injectate_implies_are_knowledge() -> None:
    assert _KB.implied_purposes == {
        URIRef(f"{OURS}#Anaesthetic"): frozenset({URIRef(f"{OURS}#Diagnostic")}),
        URIRef(f"{OURS}#Steroid"): frozenset({URIRef(f"{OURS}#Therapeutic")}),
    }
    for agent in _KB.implied_purposes:
        assert (agent, RDFS.label, None) in _KB.ontology


def test_the_medicare_repeat_rule_reads_the_combined_injection_as_therapeutic() -> None:
    case = _case("medicare-therapeutic-after-combined-injection")
    assert _statuses(_determine(case))["repeat-therapeutic"] == "met"
    case["priorProcedures"][0]["reliefMonths"] = 1  # its relief did not last: a repeat only if function did
    assert _statuses(_determine(case))["repeat-therapeutic"] == "unknown"
    case["priorProcedures"][0]["functionalImprovement"] = 20  # nor did function improve enough: no repeat
    d = _determine(case)
    assert _statuses(d)["repeat-therapeutic"] == "not-met" and _statuses(d)["diagnostic-response"] == "met"


def test_a_single_purpose_string_is_a_list_of_one_and_order_does_not_count() -> None:
    one, listed = _combined(purpose="diagnostic"), _combined(purpose=["diagnostic"])
    assert load_json(json.dumps(one).encode()).priorProcedures[0].purpose == ["diagnostic"]
    assert _determine(one).determinationId == _determine(listed).determinationId
    both, reversed_ = _combined(purpose=["therapeutic", "diagnostic"]), _combined(purpose=["diagnostic", "therapeutic"])
    assert _determine(both).determinationId == _determine(reversed_).determinationId


def test_outcomes_are_one_per_axis() -> None:
    case = _combined(injectate=["anaesthetic", "steroid"])
    case["priorProcedures"][0]["outcome"] = "positive"  # the old single string
    assert load_json(json.dumps(case).encode()).priorProcedures[0].outcome == ["positive"]
    for contradictory in (["positive", "negative"], ["effective", "failed"]):
        case["priorProcedures"][0]["outcome"] = contradictory
        assert [where for where, _ in _problems(case)] == ["priorProcedures.0.outcome"]


@pytest.mark.parametrize("field", ["purpose", "injectate"])
def test_an_unknown_purpose_or_agent_is_named(field: str) -> None:
    case = _combined(**{field: ["CANARY-PHI-123"]})
    problems = _problems(case)
    assert [where for where, _ in problems] == [f"priorProcedures.0.{field}.0"]
    assert "CANARY" not in repr(problems)


# --- an exam finding whose result is not recorded ------------------------------------------------------


def test_an_exam_finding_may_leave_its_result_unstated() -> None:
    case = _case("medicare-therapeutic-injection")
    del case["examFindings"][0]["result"]
    graph = parse_case(json.dumps(case).encode(), "json", _KB).graph
    exams = list(graph.subjects(RDF.type, CV.ExamFinding))
    assert sum(1 for e in exams if (e, CV.result, None) in graph) == len(exams) - 1
    d = _determine(case)
    tests = next(c for c in d.criteria if c.id.endswith("/provocative-tests"))
    assert any(f.text.endswith(": result not recorded, right") for f in tests.facts)


# --- the Turtle vocabulary --------------------------------------------------------------------------


def _turtle(case: dict[str, Any], edit: Any = None) -> bytes:  # type: ignore[misc]
    graph = Graph()
    for triple in parse_case(json.dumps(case).encode(), "json", _KB).graph:
        graph.add(triple)
    if edit is not None:
        edit(graph, next(graph.subjects(RDF.type, CV.ServiceRequest)))
    out = graph.serialize(format="turtle", encoding="utf-8")
    assert isinstance(out, bytes)
    return out


def _set(prop: URIRef, *values: Any) -> Any:  # type: ignore[misc]
    def edit(graph: Graph, request: URIRef) -> None:
        graph.remove((request, prop, None))
        for v in values:
            graph.add((request, prop, v))

    return edit


COMPOUND = URIRef(f"{OURS}#FluoroscopyWithContrast")


@pytest.mark.parametrize("contrast", [True, False, None])
def test_turtle_states_contrast_as_the_json_form_does(contrast: bool | None) -> None:
    case = _guided("fluoroscopy", contrast)
    from_turtle = determine(_turtle(case), "turtle", _KB)
    from_json = _determine(case)
    assert from_turtle.outcome == from_json.outcome
    assert _statuses(from_turtle) == _statuses(from_json)


def test_turtle_compound_guidance_is_its_modality_with_contrast() -> None:
    case = _guided("fluoroscopy", None)
    old = determine(_turtle(case, _set(CV.imageGuidance, COMPOUND)), "turtle", _KB)
    new = determine(_turtle(_guided("fluoroscopy", True)), "turtle", _KB)
    assert _statuses(old)["image-guidance"] == "met" and old.determinationId == new.determinationId
    with pytest.raises(CaseShapeError) as info:
        determine(_turtle(_guided("fluoroscopy", False), _set(CV.imageGuidance, COMPOUND)), "turtle", _KB)
    assert "cv:contrast" in str(info.value)


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(_set(CV.contrast, Literal("CANARY-PHI-123")), id="not-a-boolean"),
        pytest.param(_set(CV.contrast, Literal(True), Literal(False)), id="two-values"),
        pytest.param(_set(CV.imageGuidance, CV.NoGuidance), id="contrast-without-guidance"),
    ],
)
def test_turtle_contrast_is_checked_by_the_case_shapes(edit: Any) -> None:  # type: ignore[misc]
    with pytest.raises(CaseShapeError) as info:
        determine(_turtle(_guided("fluoroscopy", True), edit), "turtle", _KB)
    assert "cv:contrast" in str(info.value) and "CANARY" not in str(info.value)


def test_turtle_injectate_gives_the_classes_of_its_purposes() -> None:
    case = _combined(injectate=["anaesthetic", "steroid"])
    from_turtle = determine(_turtle(case), "turtle", _KB, policy="sij-clinical-pathway")
    assert {s: _statuses(from_turtle)[s] for s in PATHWAY_STEPS} == dict.fromkeys(PATHWAY_STEPS, "met")


# --- expected documentation and derived values, declared in Turtle --------------------------------------

EXPECTED_ON = {
    ("percentRelief", "PriorProcedure"),
    ("reliefMonths", "PriorProcedure"),
    ("functionalImprovement", "PriorProcedure"),
    ("functionalImprovementMonths", "PriorProcedure"),
    ("purpose", "PriorProcedure"),
    ("purpose", "ServiceRequest"),
    ("date", "PriorProcedure"),
    ("level", "PriorProcedure"),
    ("level", "ServiceRequest"),
    ("laterality", "PriorProcedure"),
    ("laterality", "ServiceRequest"),
    ("outcome", "PriorProcedure"),
    ("outcome", "ConservativeCare"),
    ("weeks", "ConservativeCare"),
    ("result", "ExamFinding"),
    ("durationMonths", "PainHistory"),
    ("painScore", "PainHistory"),
    ("painCharacter", "PainHistory"),
    ("painLocation", "PainHistory"),
    ("imageGuidance", "ServiceRequest"),
    ("contrast", "ServiceRequest"),
    ("disabilityScore", "PainHistory"),
    ("sameDayBlocksJustified", "ServiceRequest"),
    ("value", "Observation"),
    ("value", "UsageSample"),
    ("date", "Observation"),
    ("date", "UsageSample"),
    ("start", "Treatment"),
    ("start", "Device"),
    ("outcome", "Treatment"),
    ("outcome", "Device"),
}


def test_expected_documentation_is_declared_on_the_case_vocabulary() -> None:
    declared = {
        (str(p).rsplit("#", 1)[-1], str(c).rsplit("#", 1)[-1])
        for p, c in _KB.ontology.subject_objects(GR.expectedOn)
        if str(p).startswith(str(CV))
    }
    assert declared == EXPECTED_ON
    for p, c in _KB.ontology.subject_objects(GR.expectedOn):  # a derived value is expected where it is derived
        assert str(p).startswith(str(CV)) or (p, GR.derivedFrom, None) in _KB.ontology, (p, c)
        assert str(c).startswith(str(CV)) or c == GR.DerivedValue, (p, c)  # or a derived node (issue 17)


def test_every_property_the_enrich_stage_derives_names_its_inputs() -> None:
    derived: set[URIRef] = set()
    for path in sorted(EXAMPLES.glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        case = json.loads(path.read_text())
        graph = parse_case(path.read_bytes(), "json", _KB).graph
        before = set(graph)
        enriched = enrich(graph, _KB, _KB.policy(case.get("policy") or "sij-clinical-pathway")).graph
        marks = {RDF.type, GR.unstated, GR.possibleType, GR.uncertainBecause}  # what the case leaves unstated
        marks |= {GR.possibleSubject, GR.possiblePredicate, GR.possibleObject}
        marks |= {GR.hangsOn, GR.gapFact, GR.gapProperty}  # and the gaps a possibility hangs on
        marks |= {GR.derivation}  # a derived node's link to its declaration (issue 17), not a value
        derived |= {p for _, p, _ in set(enriched) - before if p not in marks}  # type: ignore[misc]
    assert {GR.weeksBeforeRequest, GR.durationWeeks, GR.sameSideAsRequest} <= derived
    for p in derived:
        inputs = set(_KB.ontology.objects(p, GR.derivedFrom))
        assert inputs, f"{p} is derived but declares no gr:derivedFrom"
        assert all(str(i).startswith(str(CV)) and (i, RDFS.label, None) in _KB.ontology for i in inputs)
    assert (GR.weeksBeforeRequest, GR.derivedFrom, CV.date) in _KB.ontology
    assert (GR.durationWeeks, GR.derivedFrom, CV.durationMonths) in _KB.ontology


# --- FHIR ----------------------------------------------------------------------------------------------


def _pas() -> dict[str, Any]:
    return json.loads((FHIR / "sij-seed-neurectomy.pas.json").read_text())


def _support(category: str, code: str | None = None, boolean: bool | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {"sequence": 9, "category": {"coding": [{"system": OURS, "code": category}]}}
    if code is not None:
        info["code"] = {"coding": [{"system": OURS, "code": code}]}
    if boolean is not None:
        info["valueBoolean"] = boolean
    return info


def _read_pas(bundle: dict[str, Any]):  # type: ignore[no-untyped-def]
    pas = read_pas(json.dumps(bundle).encode(), _KB)
    assert pas.case is not None
    return pas.case


def _with_guidance(*infos: dict[str, Any]) -> dict[str, Any]:
    bundle = _pas()
    claim = bundle["entry"][0]["resource"]
    claim["supportingInfo"] = [i for i in claim["supportingInfo"] if "valueReference" in i] + list(infos)
    return bundle


@pytest.mark.parametrize(
    ("infos", "guidance", "contrast"),
    [
        pytest.param(
            [_support("image-guidance", "fluoroscopy"), _support("contrast", boolean=True)],
            "fluoroscopy",
            True,
            id="boolean-true",
        ),
        pytest.param(
            [_support("image-guidance", "ct"), _support("contrast", boolean=False)], "ct", False, id="boolean-false"
        ),
        pytest.param(
            [_support("image-guidance", "ct"), _support("contrast", "without-contrast")], "ct", False, id="code"
        ),
        pytest.param([_support("image-guidance", "fluoroscopy")], "fluoroscopy", None, id="not-stated"),
        pytest.param([_support("image-guidance", "fluoroscopy-with-contrast")], "fluoroscopy", True, id="compound"),
    ],
)
def test_pas_reads_modality_and_contrast(infos: list[dict[str, Any]], guidance: str, contrast: bool | None) -> None:
    request = _read_pas(_with_guidance(*infos)).request
    assert (request.imageGuidance, request.contrast) == (guidance, contrast)


def test_pas_compound_guidance_with_contrast_false_is_refused_naming_the_field() -> None:
    bundle = _with_guidance(
        _support("image-guidance", "fluoroscopy-with-contrast"), _support("contrast", boolean=False)
    )
    with pytest.raises(FhirError) as info:
        read_pas(json.dumps(bundle).encode(), _KB)
    assert [where for _, where, _ in info.value.issues] == ["case.request.contrast"]


def test_an_order_detail_states_modality_and_contrast() -> None:
    call = json.loads((FHIR / "sij-seed-neurectomy.order-sign.json").read_text())
    for entry in call["context"]["draftOrders"]["entry"]:
        entry["resource"]["orderDetail"] = [
            {"coding": [{"system": OURS, "code": "without-contrast"}]},
            {"coding": [{"system": OURS, "code": "fluoroscopy"}]},
        ]
    read = read_hook(json.dumps(call).encode(), _KB, service_hook="order-sign")
    assert read.case is not None
    assert (read.case.request.imageGuidance, read.case.request.contrast) == ("fluoroscopy", False)


def _procedure(bundle: dict[str, Any], ident: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"].get("id") == ident)


def test_a_procedure_states_its_injectate_purposes_and_outcomes() -> None:
    bundle = _pas()
    diagnostic = _procedure(bundle, "sij-injection-diagnostic")
    diagnostic["usedCode"] = [
        {"coding": [{"system": OURS, "code": "anaesthetic"}]},
        {"coding": [{"system": OURS, "code": "steroid"}]},
    ]
    diagnostic["outcome"]["coding"].append({"system": OURS, "code": "short-term-relief"})
    therapeutic = _procedure(bundle, "sij-injection-therapeutic")
    therapeutic["category"]["coding"].append({"system": OURS, "code": "diagnostic"})
    case = _read_pas(bundle)
    by_source = {p.source: p for p in case.priorProcedures}
    combined = by_source["Procedure-sij-injection-diagnostic"]
    assert combined.injectate == ["anaesthetic", "steroid"] and combined.purpose == ["diagnostic"]
    assert combined.outcome == ["positive", "short-term-relief"]
    assert by_source["Procedure-sij-injection-therapeutic"].purpose == ["diagnostic", "therapeutic"]


def test_a_provocative_test_without_a_result_is_documented_and_a_cancelled_one_skipped() -> None:
    bundle = _pas()
    faber = _procedure(bundle, "exam-faber")
    del faber["valueCodeableConcept"]
    faber["dataAbsentReason"] = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown"}]
    }
    thrust = _procedure(bundle, "exam-thigh-thrust")
    thrust["status"] = "cancelled"
    pas = read_pas(json.dumps(bundle).encode(), _KB)
    assert pas.case is not None
    tests = {e.test: e.result for e in pas.case.examFindings}
    assert tests["FaberTest"] is None and "ThighThrustTest" not in tests
    assert pas.skipped["Observation (cancelled)"] == 1


def test_the_seed_pas_bundle_reads_as_before() -> None:
    seed = copy.deepcopy(_read_pas(_pas()))
    assert seed.request.imageGuidance == "direct-visualization" and seed.request.contrast is None
    assert [p.purpose for p in seed.priorProcedures if p.code == "27096"] == [["diagnostic"], ["therapeutic"]]


def test_the_published_jsonld_context_names_contrast_and_injectate() -> None:
    from reasoner.intake.jsonld import CONTEXT_URL

    doc = {
        "@context": CONTEXT_URL,
        "@id": "urn:x:case",
        "@type": "Case",
        "request": {
            "@id": "urn:x:request",
            "@type": "ServiceRequest",
            "date": "2026-02-02",
            "imageGuidance": "Fluoroscopy",
            "contrast": False,
            "line": {"@id": "urn:x:line", "@type": "RequestLine", "code": "cpt:64625", "units": 1},
            "primaryDiagnosis": {"@id": "urn:x:dx", "@type": "Condition", "code": "icd10cm:M53.3"},
        },
        "priorProcedure": {
            "@id": "urn:x:injection",
            "@type": "PriorProcedure",
            "code": "cpt:27096",
            "injectate": ["Anaesthetic", "Steroid"],
            "source": {"@id": "urn:x:note", "@type": "SourceDocument", "documentKind": "ProcedureNote"},
        },
    }
    graph = parse_case(json.dumps(doc).encode(), "json-ld", _KB).graph
    assert (URIRef("urn:x:request"), CV.contrast, Literal(False)) in graph
    agents = set(graph.objects(URIRef("urn:x:injection"), CV.injectate))
    assert agents == {URIRef(f"{OURS}#Anaesthetic"), URIRef(f"{OURS}#Steroid")}
