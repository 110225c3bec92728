"""Generic case facts (issue 17): observations, treatments, devices and usage series, from JSON, FHIR and Turtle.

A copy of the bundled knowledge base with tests/fixtures/facts/observations.ttl added declares the
observation kinds these cases use: BMI (and its LOINC code), apnea-hypopnea index, recording time,
a yes-or-no finding, a coded review, nightly PAP use, a treatment kind and a condition kind.
"""

from __future__ import annotations

import copy
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rdflib import RDF, Graph, Literal, URIRef
from typer.testing import CliRunner

from api.cli import app as cli
from reasoner import FhirError, KnowledgeBase, determine
from reasoner.errors import CaseSchemaError
from reasoner.explain.facts import describe
from reasoner.intake.fhir.pas import read_pas
from reasoner.intake.json_case.schema import CaseIn, digest
from reasoner.intake.json_case.to_rdf import to_graph
from reasoner.intake.jsonld import vendored_context
from reasoner.knowledge import relevance
from reasoner.knowledge.measures import convert
from reasoner.vocab import CASE_DATA, CV, OBS, UNIT

from .conftest import FIXTURES, ROOT

SEED_PAS = ROOT / "examples" / "fhir" / "sij-seed-neurectomy.pas.json"
CASE: dict[str, Any] = {
    "id": "facts-1",
    "request": {"date": "2026-11-02", "codes": [{"code": "64772"}]},
    "documents": [{"id": "note", "kind": "clinic-note"}],
    "conditions": [
        {"code": "E11.9", "status": "active", "onset": "2019-04-01", "source": "note"},
        {"kind": "ExcessiveDaytimeSleepiness", "status": "absent", "source": "note"},
    ],
    "observations": [
        {"code": "39156-5", "value": 41.2, "unit": "kg/m2", "date": "2026-10-02", "source": "note"},
        {
            "code": "ApneaHypopneaIndex",
            "value": 22,
            "unit": "{events}/h",
            "method": "G0399",
            "date": "2026-09-14",
            "source": "note",
            "components": [
                {"code": "RecordingTime", "value": 330, "unit": "min"},
                {"code": "HstPerformedByDmeSupplier", "valueBoolean": False},
            ],
        },
        {"code": "ObesityComorbidityReview", "valueCode": "NoneFound", "date": "2026-10-02", "source": "note"},
        {"code": "12345-6", "value": 3, "unit": "mg", "date": "2026-10-02", "source": "note"},
    ],
    "treatments": [
        {
            "kind": "SupervisedWeightManagement",
            "start": "2025-06-01",
            "end": "2026-01-31",
            "outcome": "failed",
            "source": "note",
        }
    ],
    "devices": [{"id": "cpap-1", "code": "E0601", "start": "2026-01-05", "source": "note"}],
    "usageSeries": [
        {
            "device": "cpap-1",
            "code": "PapNightlyUse",
            "unit": "h",
            "start": "2026-01-05",
            "values": [5.2, 6.1, 0, None, 4.4],
            "source": "note",
        }
    ],
}


def facts_kb(root: Path) -> Path:
    """A copy of the bundled knowledge base under ``root``, with the fixture's observation kinds added."""
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(ROOT / "shapes", root / "shapes")
    shutil.copyfile(FIXTURES / "facts" / "observations.ttl", root / "ontology" / "test-observations.ttl")
    return root


@pytest.fixture(scope="module")
def facts_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return facts_kb(tmp_path_factory.mktemp("facts-kb"))


@pytest.fixture(scope="module")
def fkb(facts_root: Path) -> KnowledgeBase:
    return KnowledgeBase.load(facts_root)


def _graph(case: dict[str, Any], kb: KnowledgeBase) -> Graph:
    return to_graph(CaseIn.model_validate(case), kb)


def _node(name: str, case_id: str = "facts-1") -> URIRef:
    return URIRef(f"{CASE_DATA}{case_id}/{name}")


def _problems(case: dict[str, Any], kb: KnowledgeBase) -> dict[str, str]:
    with pytest.raises(CaseSchemaError) as exc:
        _graph(case, kb)
    return dict(exc.value.problems)


def test_units_convert_exactly(kb: KnowledgeBase) -> None:
    units = kb.units
    assert convert(Decimal(330), units["min"], units["h"]) == Decimal("5.5")
    assert str(convert(Decimal(330), units["min"], units["h"])) == "5.5"
    assert convert(Decimal(200), units["[lb_av]"], units["kg"]) == Decimal("90.718474")
    assert convert(Decimal(70), units["[in_i]"], units["cm"]) == Decimal("177.8")
    assert convert(Decimal(2), units["wk"], units["d"]) == Decimal(14)


def test_a_json_case_gives_the_generic_facts(fkb: KnowledgeBase) -> None:
    g = _graph(CASE, fkb)
    bmi, ahi, recording = _node("observation-1"), _node("observation-2"), _node("observation-2-c-1")
    assert g.value(bmi, CV.value) == Literal(Decimal("41.2"))
    assert g.value(bmi, CV.unit) == UNIT.KilogramPerSquareMetre
    assert g.value(recording, CV.value).toPython() == Decimal("5.5")  # 330 min, in hours
    assert g.value(recording, CV.unit) == UNIT.Hour
    assert g.value(ahi, CV.observationKind) == OBS.ApneaHypopneaIndex
    assert (ahi, CV.component, _node("observation-2-c-2")) in g
    assert g.value(_node("observation-2-c-2"), CV.valueBoolean).toPython() is False
    assert g.value(_node("observation-3"), CV.valueCode) == OBS.NoneFound
    unknown = _node("observation-4")  # a LOINC code the knowledge base does not know: its code only
    assert {p for p, _ in g.predicate_objects(unknown)} == {RDF.type, CV.code, CV.date, CV.source}
    assert g.value(_node("condition-2"), CV.clinicalStatus) == CV.Absent
    assert g.value(_node("series-1"), CV.forDevice) == _node("device-1")
    assert g.value(_node("series-1-day-4"), CV.value) is None  # no data that day: not a zero
    assert g.value(_node("series-1-day-3"), CV.value).toPython() == 0


def test_the_new_facts_read_in_plain_words(fkb: KnowledgeBase) -> None:
    g = _graph(CASE, fkb)
    assert describe(g, _node("observation-1"), fkb) == "Body mass index 41.2 kg/m2 on 2026-10-02"
    ahi = describe(g, _node("observation-2"), fkb)
    assert ahi.startswith("Apnea-hypopnea index 22 events/h on 2026-09-14, by HCPCS G0399")
    assert "Sleep or recording time 5.5 hours" in ahi and "Home sleep test performed by the DME supplier: no" in ahi
    assert describe(g, _node("observation-3"), fkb) == "Obesity comorbidity review: none found on 2026-10-02"
    assert describe(g, _node("treatment-1"), fkb) == (
        "Supervised weight-management programme, from 2025-06-01, until 2026-01-31, result failed"
    )
    assert describe(g, _node("series-1"), fkb).startswith("Nightly PAP use (hours), 4 of 5 days recorded")
    assert describe(g, _node("condition-2"), fkb).startswith("Excessive daytime sleepiness, condition in the history")


@pytest.mark.parametrize(
    ("path", "change", "where", "words"),
    [
        (("observations", 0, "unit"), "kg", "observations.0.unit", "does not convert to kg/m2"),
        (("observations", 0, "value"), 812, "observations.0.value", "outside 10 to 150 kg/m2"),
        (("observations", 2, "valueCode"), "Maybe", "observations.2.valueCode", "one of NoneFound, Present"),
        (("usageSeries", 0, "unit"), "mg", "usageSeries.0.unit", "does not convert to hours"),
        (("usageSeries", 0, "values"), [5, 30], "usageSeries.0.values.1", "outside 0 to 24 hours"),
    ],
)
def test_a_bad_unit_or_value_names_the_field_not_the_value(
    fkb: KnowledgeBase, path: tuple[Any, ...], change: object, where: str, words: str
) -> None:
    case = copy.deepcopy(CASE)
    target: Any = case
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = change
    problems = _problems(case, fkb)
    assert list(problems) == [where]
    assert words in problems[where]
    assert "812" not in problems[where] and "Maybe" not in problems[where]


def test_the_digest_of_a_case_without_the_new_fields_is_unchanged(seed_json: bytes) -> None:
    # The seed's digest before the generic facts were added: its determination id stays the same.
    seed = "84af8c7d2bd1ebba64651409073b4ce055f1cbd45f0feca556aeffcf1927e549"
    assert digest(CaseIn.model_validate_json(seed_json)) == seed
    with_onset = json.loads(seed_json)
    with_onset["conditions"] = [{"code": "E11.9", "onset": "2019-04-01"}]
    assert digest(CaseIn.model_validate(with_onset)) != seed


def _pas(resources: list[dict[str, Any]]) -> bytes:
    """The seed PAS Bundle with its history replaced by ``resources``."""
    bundle = json.loads(SEED_PAS.read_text())
    keep = {"Claim", "Patient", "Organization", "Coverage"}
    entries = [e for e in bundle["entry"] if e["resource"]["resourceType"] in keep]
    claim = entries[0]["resource"]
    claim["supportingInfo"] = [s for s in claim.get("supportingInfo", []) if "valueReference" not in s]
    bundle["entry"] = entries + [
        {"fullUrl": f"urn:uuid:{i:08d}-0000-4000-8000-000000000000", "resource": r} for i, r in enumerate(resources)
    ]
    return json.dumps(bundle).encode()


def _quantity(value: float, code: str) -> dict[str, Any]:
    return {"value": value, "unit": code, "system": "http://unitsofmeasure.org", "code": code}


OURS = "https://w3id.org/guideline-reasoner/"


def _ours(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": OURS + system, "code": code}]}


FHIR_HISTORY: list[dict[str, Any]] = [
    {
        "resourceType": "Observation",
        "id": "bmi",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "39156-5"}]},
        "subject": {"reference": "Patient/patient-0001"},
        "effectiveDateTime": "2026-10-02",
        "valueQuantity": _quantity(41.2, "kg/m2"),
    },
    {
        "resourceType": "Observation",
        "id": "hst",
        "status": "final",
        "code": _ours("observation", "ApneaHypopneaIndex"),
        "subject": {"reference": "Patient/patient-0001"},
        "effectiveDateTime": "2026-09-14",
        "method": {"coding": [{"system": "urn:oid:2.16.840.1.113883.6.285", "code": "G0399"}]},
        "valueQuantity": _quantity(22, "{events}/h"),
        "component": [
            {
                "code": _ours("observation", "RecordingTime"),
                "valueQuantity": _quantity(330, "min"),
            },
            {"code": _ours("observation", "HstPerformedByDmeSupplier"), "valueBoolean": False},
        ],
    },
    {
        "resourceType": "Condition",
        "id": "eds",
        "verificationStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "refuted"}]
        },
        "code": _ours("condition", "ExcessiveDaytimeSleepiness"),
        "subject": {"reference": "Patient/patient-0001"},
    },
    {
        "resourceType": "Procedure",
        "id": "wm",
        "status": "completed",
        "code": _ours("procedure", "SupervisedWeightManagement"),
        "subject": {"reference": "Patient/patient-0001"},
        "performedPeriod": {"start": "2025-06-01", "end": "2026-01-31"},
        "outcome": _ours("case", "failed"),
    },
    {
        "resourceType": "Device",
        "id": "cpap-1",
        "type": {"coding": [{"system": "urn:oid:2.16.840.1.113883.6.285", "code": "E0601"}]},
    },
    {
        "resourceType": "DeviceUseStatement",
        "id": "cpap-use",
        "status": "active",
        "subject": {"reference": "Patient/patient-0001"},
        "device": {"reference": "Device/cpap-1"},
        "timingPeriod": {"start": "2026-01-05"},
    },
    *[
        {
            "resourceType": "Observation",
            "id": f"night-{day}",
            "status": "final",
            "code": _ours("observation", "PapNightlyUse"),
            "subject": {"reference": "Patient/patient-0001"},
            "device": {"reference": "Device/cpap-1"},
            "effectiveDateTime": f"2026-01-0{day}",
            "valueQuantity": _quantity(hours, "h"),
        }
        for day, hours in ((5, 5.2), (6, 6.1), (7, 0), (9, 4.4))
    ],
]


def _facts(g: Graph) -> dict[str, frozenset[tuple[str, str]]]:
    """Each generic fact of a case graph by its local name: its statements, source and case id aside."""
    out = {}
    for s in set(g.subjects()):
        name = str(s).rsplit("/", 1)[-1]
        if not name.startswith(("observation-", "series-", "device-", "treatment-")):
            continue
        out[name] = frozenset(
            (str(p), str(o).rsplit("/", 1)[-1] if str(o).startswith(str(CASE_DATA)) else str(o))
            for p, o in g.predicate_objects(s)
            if p != CV.source
        )
    return out


def test_fhir_gives_the_same_facts_as_json(fkb: KnowledgeBase) -> None:
    pas = read_pas(_pas(FHIR_HISTORY), fkb)
    from_fhir = _facts(to_graph(pas.case, fkb))
    case = copy.deepcopy(CASE)
    case["observations"] = case["observations"][:2]
    case["usageSeries"][0].pop("values")
    case["usageSeries"][0].pop("start")
    case["usageSeries"][0]["samples"] = [
        {"date": d, "value": v}
        for d, v in (("2026-01-05", 5.2), ("2026-01-06", 6.1), ("2026-01-07", 0), ("2026-01-09", 4.4))
    ]
    from_json = _facts(_graph(case, fkb))
    assert from_fhir == from_json
    assert pas.case.conditions[-1].status == "absent" and pas.case.treatments[0].outcome == "failed"


def test_fhir_keeps_a_coded_value_and_an_unknown_loinc_code_as_json_does(fkb: KnowledgeBase) -> None:
    """A coded value (our observation system) is the valueCode; an Observation whose LOINC code the
    knowledge base does not declare is kept by its code, date and source, its value unread, as the
    JSON form keeps one (it was skipped and counted before)."""
    review = {
        "resourceType": "Observation",
        "id": "review",
        "status": "final",
        "code": _ours("observation", "ObesityComorbidityReview"),
        "subject": {"reference": "Patient/patient-0001"},
        "effectiveDateTime": "2026-10-02",
        "valueCodeableConcept": _ours("observation", "NoneFound"),
    }
    unknown = {**review, "id": "unknown", "code": {"coding": [{"system": "http://loinc.org", "code": "12345-6"}]}}
    unknown.pop("valueCodeableConcept")
    unknown["valueQuantity"] = _quantity(3, "mg")
    pas = read_pas(_pas([FHIR_HISTORY[0], review, unknown]), fkb)
    assert pas.case is not None and "Observation (code not read)" not in pas.skipped
    assert [(o.code, o.valueCode, o.value) for o in pas.case.observations] == [
        ("39156-5", None, Decimal("41.2")),
        ("ObesityComorbidityReview", "NoneFound", None),
        ("12345-6", None, None),
    ]
    case = copy.deepcopy(CASE)
    for key in ("conditions", "treatments", "devices", "usageSeries"):
        case.pop(key)
    case["observations"] = [case["observations"][i] for i in (0, 2, 3)]  # the BMI, the review, the unknown code
    assert _facts(to_graph(pas.case, fkb)) == _facts(_graph(case, fkb))


def test_an_unknown_loinc_code_in_a_series_or_outside_loinc_is_still_skipped(fkb: KnowledgeBase) -> None:
    sample = {**FHIR_HISTORY[-1], "code": {"coding": [{"system": "http://loinc.org", "code": "12345-6"}]}}
    local = {**FHIR_HISTORY[0], "id": "local", "code": {"coding": [{"system": "http://example.org/x", "code": "1"}]}}
    pas = read_pas(_pas([FHIR_HISTORY[4], sample, local]), fkb)
    assert pas.skipped["Observation (code not read)"] == 2
    assert pas.case is not None and pas.case.observations == [] and pas.case.usageSeries == []


def test_a_bad_unit_in_fhir_is_a_422_naming_the_element(fkb: KnowledgeBase) -> None:
    history = copy.deepcopy(FHIR_HISTORY)
    history[1]["component"][0]["valueQuantity"] = _quantity(330, "kg")
    with pytest.raises(FhirError) as exc:
        read_pas(_pas(history), fkb)
    assert exc.value.status == 422
    [(code, where, words)] = exc.value.issues
    assert where.endswith(".resource.component[0].valueQuantity.code") and "does not convert to hours" in words


def test_a_turtle_or_json_ld_case_may_use_the_new_vocabulary(fkb: KnowledgeBase) -> None:
    g = _graph(CASE, fkb)
    from_json = determine(json.dumps(CASE).encode(), "json", fkb, policy="sij-clinical-pathway")
    turtle = determine(g.serialize(format="turtle").encode(), "turtle", fkb, policy="sij-clinical-pathway")
    compact = g.serialize(format="json-ld", context=vendored_context())
    assert '"value": "41.2"' in compact or '"value": 41.2' in compact  # the context's terms are used
    linked = determine(compact.encode(), "json-ld", fkb, policy="sij-clinical-pathway")
    assert turtle.outcome == linked.outcome == from_json.outcome


@pytest.mark.parametrize(("field", "value", "where"), [("unit", "kg", "unit"), ("value", 812, "value")])
def test_the_cli_refuses_a_bad_unit_or_value(
    facts_root: Path, tmp_path: Path, field: str, value: object, where: str
) -> None:
    case = copy.deepcopy(CASE)
    case["observations"][0][field] = value
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    res = CliRunner().invoke(cli, ["determine", str(path), "--kb", str(facts_root)])
    assert res.exit_code != 0 and f"observations.0.{where}" in res.stderr and "812" not in res.stderr


def test_the_sieve_keeps_the_observations_a_policy_reads(fkb: KnowledgeBase) -> None:
    shapes = Graph()
    for triple in fkb.shapes:
        shapes.add(triple)
    shapes.parse(
        format="turtle",
        data="""
        PREFIX cv: <https://w3id.org/guideline-reasoner/case#>
        PREFIX obs: <https://w3id.org/guideline-reasoner/observation#>
        PREFIX sh: <http://www.w3.org/ns/shacl#>
        <urn:facts:Root> sh:targetClass cv:Case ; sh:property [ sh:path cv:observation ;
            sh:qualifiedValueShape [ sh:class obs:BodyMassIndex ] ; sh:qualifiedMinCount 1 ] .
        """,
    )
    roots, seen = relevance.inputs(fkb, fkb.policy("medicare-facet-lcd").iri)
    reads_bmi = relevance.analyse(shapes, roots | {URIRef("urn:facts:Root")}, seen, lambda c: fkb.types_of([c]))
    assert CV.observation in reads_bmi.kinds
    case = copy.deepcopy(CASE)
    case["observations"] = [case["observations"][1]] * 3 + [case["observations"][0]]  # the BMI last
    g = to_graph(CaseIn.model_validate(case), fkb, reads_bmi)
    kept = set(g.objects(_node("case"), CV.observation))
    assert _node("observation-4") in kept  # by its LOINC code's class
    assert len(kept) < 4  # AHI observations the policy cannot see are left out
