"""queries/*.rq: each runs over the knowledge base (ontology closure plus shapes, as the endpoint serves
it) and gives the answers the Turtle states."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

from reasoner import KnowledgeBase
from reasoner.sparql.vetting import vet
from reasoner.sparql.worker import queryable

from .conftest import ROOT

QUERIES = ROOT / "queries"
GR = "https://w3id.org/guideline-reasoner/core#"
GRK = "https://w3id.org/guideline-reasoner/kb/"
CPT = "https://w3id.org/guideline-reasoner/code/cpt/"
Row = dict[str, object]


@pytest.fixture(scope="module")
def dataset(kb: KnowledgeBase) -> Graph:
    """What the SPARQL endpoint serves: the closed ontology and the shapes in one graph."""
    return queryable(kb)


def _value(term: object) -> object:
    if term is None:
        return None
    if isinstance(term, Literal):
        return term.toPython()
    return str(term)


def run(graph: Graph, text: str) -> list[Row]:
    result = graph.query(text)
    names = [str(v) for v in result.vars or []]
    return [{name: _value(row[i]) for i, name in enumerate(names)} for row in result]  # type: ignore[index]


def query(name: str) -> str:
    return (QUERIES / name).read_text(encoding="utf-8")


def test_every_query_file_is_documented_and_accepted_by_the_endpoint() -> None:
    files = sorted(QUERIES.glob("*.rq"))
    assert len(files) >= 5
    readme = (QUERIES / "README.md").read_text(encoding="utf-8")
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("#"), f"{path.name} has no comment header"
        assert path.name in readme, f"{path.name} is not listed in queries/README.md"
        assert vet(text) == "SELECT"  # no SERVICE, no FROM: the endpoint would run it


@pytest.mark.parametrize("path", sorted(QUERIES.glob("*.rq")), ids=lambda p: p.name)
def test_every_query_runs_and_answers(dataset: Graph, path: Path) -> None:
    assert run(dataset, path.read_text(encoding="utf-8")), f"{path.name} gave no rows"


def test_a_codes_that_require_rfa_first(dataset: Graph) -> None:
    rows = run(dataset, query("rfa-prerequisite-procedures.rq"))
    notations = {r["notation"] for r in rows}
    assert notations == {"64772", "27279", "27280"}
    assert "27096" not in notations and "64625" not in notations  # an earlier injection; RFA itself
    assert {r["step"] for r in rows} == {GRK + "sij-clinical-pathway/step-surgery"}
    assert {r["rfaStep"] for r in rows} == {GRK + "sij-clinical-pathway/step-cooled-rfa"}
    assert {r["policy"] for r in rows} == {GRK + "sij-clinical-pathway"}
    assert [r["notation"] for r in rows] == sorted(r["notation"] for r in rows)  # type: ignore[type-var]


def test_b_criteria_with_grades_default_policy(dataset: Graph) -> None:
    rows = run(dataset, query("criteria-evidence-grades.rq"))
    sijp = GRK + "sij-clinical-pathway/"
    assert {r["criterion"] for r in rows} == {
        sijp + c
        for c in (
            "code-covered",
            "standard-code",
            "lateral-branch-blocks",
            "provocative-tests",
            "conservative-care",
            "diagnostic-injection",
            "therapeutic-injection",
            "rfa-before-surgery",
            "sij-diagnosis",
            "other-pain-generators",
            "fusion-pain-severity",
            "fusion-conservative-care",
            "fusion-pain-location",
            "fusion-fortin",
            "fusion-imaging",
        )
    }
    assert [r["order"] for r in rows] == sorted(r["order"] for r in rows)  # type: ignore[type-var]
    grades = {(r["criterion"], r["gradeNotation"]) for r in rows if r["gradeNotation"]}
    assert grades == {
        (sijp + "diagnostic-injection", "1 B+"),
        (sijp + "therapeutic-injection", "1 B+"),
        (sijp + "rfa-before-surgery", "2 B+"),  # from the cooled-RFA step the criterion completes
    }
    rfa = {r["recommendation"]: r for r in rows if r["criterion"] == sijp + "rfa-before-surgery"}
    cooled, last = rfa[sijp + "rec-cooled-rfa"], rfa[sijp + "rec-surgery-last"]
    assert (cooled["onCriterion"], cooled["onStep"], cooled["gradeNotation"]) == (False, True, "2 B+")
    assert (last["onCriterion"], last["onStep"], last["gradeNotation"]) == (True, False, None)
    ungraded = {r["criterion"] for r in rows if r["recommendation"] is None}
    assert sijp + "code-covered" in ungraded and sijp + "sij-diagnosis" in ungraded


def test_b_policy_is_a_values_parameter(dataset: Graph) -> None:
    text = query("criteria-evidence-grades.rq")
    assert len(re.findall(r"VALUES \?policy \{ grk:sij-clinical-pathway \}", text)) == 1
    rows = run(dataset, text.replace("grk:sij-clinical-pathway }", "grk:medicare-sij-lcd }"))
    assert sorted({r["order"] for r in rows}) == list(range(1, 15))  # type: ignore[type-var]
    assert all(str(r["criterion"]).startswith(GRK + "medicare-sij-lcd/") for r in rows)
    assert GRK + "medicare-sij-lcd/diagnostic-response" in {r["criterion"] for r in rows}
    assert not any(r["gradeNotation"] for r in rows)  # the LCD grades nothing


def test_c_codes_not_covered(dataset: Graph) -> None:
    rows = run(dataset, query("codes-not-covered.rq"))
    found = {(r["notation"], r["policy"], r["status"]) for r in rows}
    assert found == {
        ("64772", GRK + "sij-clinical-pathway", GR + "NotCovered"),
        ("64625", GRK + "medicare-sij-lcd", GR + "ExperimentalUnproven"),
        ("64492", GRK + "medicare-facet-lcd", GR + "NotCovered"),
        ("64495", GRK + "medicare-facet-lcd", GR + "NotCovered"),
        ("64451", GRK + "evicore-sij", GR + "ExperimentalUnproven"),
        ("64625", GRK + "evicore-sij", GR + "ExperimentalUnproven"),
        ("64772", GRK + "evicore-sij", GR + "ExperimentalUnproven"),
        ("E0471", GRK + "medicare-pap", GR + "NotCovered"),
        ("43842", GRK + "medicare-bariatric", GR + "NotCovered"),
        ("43290", GRK + "medicare-bariatric", GR + "NotCovered"),
    }
    refused = {r["notation"] for r in rows}
    assert not refused & {"27096", "G0260", "27279", "27280", "64999", "64493", "64635", "64483", "62323"}


def test_c_excludes_code_shorthand_counts(dataset: Graph) -> None:
    extra = Graph()
    for triple in dataset.triples((None, None, None)):
        extra.add(triple)
    extra.add((URIRef(GRK + "medicare-sij-lcd"), URIRef(GR + "excludesCode"), URIRef(CPT + "64999")))
    rows = run(extra, query("codes-not-covered.rq"))
    shorthand = [r for r in rows if r["notation"] == "64999"]
    assert shorthand == [
        {
            "notation": "64999",
            "code": CPT + "64999",
            "policy": GRK + "medicare-sij-lcd",
            "status": GR + "NotCovered",
            "statusLabel": "not covered",
            "rule": None,
            "reference": None,
        }
    ]


def test_d_thresholds_tagged_s_or_u(dataset: Graph) -> None:
    rows = run(dataset, query("thresholds-to-verify.rq"))
    by_id = {r["threshold"]: r for r in rows}
    relief = by_id[GRK + "sij-clinical-pathway/lbb-min-relief"]
    assert relief["value"] == Decimal(50)
    assert (relief["unit"], relief["tag"]) == ("percent", "S")
    assert relief["reference"] == GRK + "ref-case-writeups-2025"
    assert "BCBS MP-558" in str(relief["sourceNote"])
    assert relief["policy"] == GRK + "sij-clinical-pathway"
    weak = (
        {
            "sij-clinical-pathway/lbb-min-relief",
            "sij-clinical-pathway/lbb-min-count",
            "sij-clinical-pathway/rfa-min-failed-attempts",
            "medicare-facet-lcd/block-interval-weeks",
            "medicare-facet-lcd/diagnostic-max-sessions",
            "medicare-facet-lcd/diagnostic-window-months",  # F9's own window: F12's and F16's stays V2
        }
        | {
            "evicore-sij/" + t
            for t in (
                "conservative-min-weeks",
                "diagnostic-max-sessions",
                "diagnostic-min-relief",
                "provocative-min-positive",
                "therapeutic-max-sessions",
                "therapeutic-min-interval",
                "window-months",
            )
        }
        | {"medicare-bariatric/bmi-max-age-months"}
    )  # a recency window the NCD does not set (U)
    assert set(by_id) == {GRK + t for t in weak}
    assert by_id[GRK + "medicare-facet-lcd/diagnostic-max-sessions"]["tag"] == "U"
    assert {r["tag"] for r in rows} <= {"S", "U"}
    # V and V2 thresholds stay out
    assert GRK + "sij-clinical-pathway/provocative-min-positive" not in by_id
    assert not any(str(t).startswith(GRK + "medicare-sij-lcd/") for t in by_id)


def test_d_advisory_criteria(dataset: Graph) -> None:
    rows = run(dataset, query("advisory-criteria.rq"))
    by = {}
    for r in rows:
        by.setdefault(str(r["criterion"]).removeprefix(GRK), set()).add((r["tag"], str(r["decidesBecause"] or "")))
    evicore = {
        "evicore-sij/" + c
        for c in (
            "provocative-tests",
            "conservative-care",
            "active-rehabilitation",
            "diagnostic-response",
            "diagnostic-limit",
            "therapeutic-frequency",
            "therapeutic-interval",
            "image-guidance",
            "diagnosis-stated",
        )
    }
    assert (
        set(by)
        == {
            "sij-clinical-pathway/lateral-branch-blocks",
            "sij-clinical-pathway/rfa-before-surgery",
            "medicare-facet-lcd/block-interval",
            "medicare-facet-lcd/diagnostic-frequency",
            "medicare-sij-lcd/image-guidance",  # S7 and S13 are S/V2: the weaker tag
            "medicare-sij-lcd/no-biologics",
            "medicare-bariatric/bmi-recent",
        }
        | evicore
    )
    assert by["medicare-facet-lcd/diagnostic-frequency"] == {("U", "")}
    assert all(because for _tag, because in by["sij-clinical-pathway/lateral-branch-blocks"])
    assert not any(
        because for c, found in by.items() if c != "sij-clinical-pathway/lateral-branch-blocks" for _t, because in found
    )


def test_e_recommendations_ordered_by_grade(dataset: Graph) -> None:
    rows = run(dataset, query("recommendations-by-grade.rq"))
    assert [r["gradeNotation"] for r in rows] == ["1 B+", "2 B+", "2 C+", "ungraded"]
    counts = {r["gradeNotation"]: r["count"] for r in rows}
    assert counts == {"1 B+": 1, "2 B+": 1, "2 C+": 1, "ungraded": 5}
    graded = {r["gradeNotation"]: r["recommendations"] for r in rows}
    assert graded["1 B+"] == "Intra-articular SIJ injection"
    assert graded["2 B+"] == "Cooled RF of the S1-S3 lateral branches"
    assert graded["2 C+"] == "(Pulsed) RF of L5 and S1-S3"
    assert "Surgery only after failed RFA" in str(graded["ungraded"])


def test_f_coverage_across_policies(dataset: Graph) -> None:
    rows = run(dataset, query("coverage-across-policies.rq"))
    by = {(r["notation"], str(r["policy"]).rsplit("/", 1)[-1]): r for r in rows}
    assert by[("64772", "sij-clinical-pathway")]["status"] == GR + "NotCovered"
    assert by[("64772", "evicore-sij")]["status"] == GR + "ExperimentalUnproven"
    assert by[("64772", "medicare-sij-lcd")]["status"] is None
    assert by[("64772", "medicare-sij-lcd")]["statusLabel"] == "falls back to general review"
    assert {p for (n, p) in by if n == "27096"} == {"sij-clinical-pathway", "medicare-sij-lcd", "evicore-sij"}
    assert {p for (n, p) in by if n == "64635"} == {"medicare-facet-lcd"}
    assert {p for (n, p) in by if n == "64483"} == {"medicare-esi-lcd"}
    policies = {p for (_, p) in by}
    assert policies == {
        "sij-clinical-pathway",
        "medicare-sij-lcd",
        "medicare-facet-lcd",
        "medicare-esi-lcd",
        "evicore-sij",
        "medicare-pap",
        "medicare-bariatric",
    }
    assert by[("E0471", "medicare-pap")]["status"] == GR + "NotCovered"
    assert by[("43775", "medicare-bariatric")]["status"] == GR + "Covered"
    assert by[("64495", "medicare-facet-lcd")]["tag"] == "V2"
    narrowed = query("coverage-across-policies.rq").replace("# VALUES ?notation", "VALUES ?notation")
    assert {r["notation"] for r in run(dataset, narrowed)} == {"64772", "64999"}


def test_g_observation_thresholds_across_domains(dataset: Graph) -> None:
    rows = run(dataset, query("observation-thresholds.rq"))
    found = {
        (str(r["criterion"]).removeprefix(GRK), str(r["observationKind"]).rsplit("#", 1)[-1], r["value"], r["tag"])
        for r in rows
    }
    assert found == {
        ("medicare-pap/index-at-least-5", "SleepApneaIndex", Decimal(5), "V"),
        ("medicare-pap/b1-or-b2", "SleepApneaIndex", Decimal(15), "V"),
        ("medicare-pap/b1-or-b2", "SleepApneaIndex", 30, "V"),  # events for B1, for B2, and 2 hours (P17)
        ("medicare-pap/b1-or-b2", "SleepApneaIndex", 10, "V"),
        ("medicare-pap/b1-or-b2", "SleepApneaIndex", Decimal(2), "V"),
        ("medicare-pap/adherence", "PapNightlyUse", Decimal(4), "V"),  # a usage series (gr:seriesClass)
        ("medicare-pap/adherence", "PapNightlyUse", Decimal(70), "V"),
        ("medicare-pap/adherence", "PapNightlyUse", 30, "V"),
        ("medicare-pap/adherence", "PapNightlyUse", 3, "V"),
        ("medicare-bariatric/bmi", "BodyMassIndex", Decimal(35), "V"),
        ("medicare-bariatric/bmi-recent", "BodyMassIndex", Decimal(12), "U"),
    }
    units = {str(r["threshold"]).removeprefix(GRK): r["unit"] for r in rows}
    assert units["medicare-bariatric/bmi-min"] == "kg/m2"
    assert units["medicare-pap/ahi-min-b1"] == "events/h"


def test_h_codes_by_region_stated_or_entailed(dataset: Graph) -> None:
    rows = run(dataset, query("codes-by-region.rq"))
    regions = {str(r["notation"]): str(r["region"]).rsplit("#", 1)[-1] for r in rows}
    from_class = {str(r["notation"]) for r in rows if r["fromClass"] is not None}
    assert len(regions) == 21
    assert regions["64493"] == "LumbosacralRegion" and regions["64633"] == "CervicothoracicRegion"
    assert from_class == {
        "27096",
        "G0260",
        "64451",
        "64625",
        "G0259",
        "64490",
        "64491",
        "64492",
        "64493",
        "64494",
        "64495",
    }
