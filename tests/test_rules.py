"""Declared rules (reasoner/knowledge/rules/) and the derived facts they read (reasoner/enrich/stage.py).

The example cases exercise every rule kind end to end; these tests pin the pieces: what the
enrich stage derives (elapsed time, regions, sides, levels, add-ons), what the expansion writes
and refuses, and that a rule behaves the same wherever an author declares it.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal, URIRef

from reasoner import KnowledgeBase, determine, parse_case
from reasoner.enrich.stage import enrich
from reasoner.errors import KnowledgeBaseError
from reasoner.knowledge.rules import expand_rules, rule_problems
from reasoner.vocab import CPT, CV, GR, PROC

from .conftest import EXAMPLES, ROOT

GRK = "https://w3id.org/guideline-reasoner/kb/"


def _case(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def _determine(kb: KnowledgeBase, case: dict, policy: str):  # type: ignore[no-untyped-def,type-arg]
    return determine(json.dumps(case).encode(), "json", kb, policy=policy)


def _statuses(d) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {c.id.split("/", 1)[1]: c.status.value for c in d.criteria}


# --- derived facts ------------------------------------------------------------------------------


def test_elapsed_time_regions_sides_and_levels(kb: KnowledgeBase) -> None:
    case = _case("facet-rfa-third-in-year")
    e = enrich(parse_case(json.dumps(case).encode(), "json", kb).graph, kb, kb.policy("medicare-facet-lcd"))
    g = e.graph
    assert g.value(e.request, GR.levelCount) == Literal(2)
    assert g.value(e.request, GR.regionCount) == Literal(1)
    lines = {str(g.value(n, CV.code)).rsplit("/", 1)[-1]: n for n in g.objects(e.request, CV.line)}
    assert (lines["64636"], GR.addOnCode, Literal(True)) in g
    assert (lines["64635"], GR.addOnCode, None) not in g
    assert (lines["64636"], GR.missingPrimaryCode, None) not in g  # 64635 is in the request
    rfas = [p for p in g.objects(e.case, CV.priorProcedure) if (p, CV.code, CPT["64635"]) in g]
    assert len(rfas) == 2
    for p in rfas:
        assert (p, GR.sameRegionAsRequest, Literal(True)) in g and (p, GR.sameSideAsRequest, Literal(True)) in g
    days = sorted(int(g.value(p, GR.daysBeforeRequest).toPython()) for p in rfas)  # type: ignore[union-attr]
    assert days == [182, 336]  # 2025-11-10 and 2025-06-09 before 2026-05-11
    weeks = {g.value(p, GR.weeksBeforeRequest).toPython() for p in rfas}  # type: ignore[union-attr]
    assert Decimal("26.00") in weeks


def test_other_region_and_other_side_are_not_the_request_site(kb: KnowledgeBase) -> None:
    case = _case("esi-repeat-short-relief")
    case["priorProcedures"][0].update({"code": "62321", "levels": ["C6-C7"], "laterality": "right"})
    e = enrich(parse_case(json.dumps(case).encode(), "json", kb).graph, kb, kb.policy("medicare-esi-lcd"))
    prior = next(iter(e.graph.objects(e.case, CV.priorProcedure)))
    assert (prior, GR.sameRegionAsRequest, None) not in e.graph
    assert (prior, GR.sameSideAsRequest, None) not in e.graph
    # a cervical injection neither counts against a lumbar limit nor needs lumbar-level relief
    d = _determine(kb, case, "medicare-esi-lcd")
    assert d.outcome.value == "medically-necessary" and _statuses(d)["repeat"] == "met"


def test_add_on_alone_names_its_missing_primary(kb: KnowledgeBase) -> None:
    case = _case("esi-addon-without-primary")
    e = enrich(parse_case(json.dumps(case).encode(), "json", kb).graph, kb, kb.policy("medicare-esi-lcd"))
    line = next(iter(e.graph.objects(e.request, CV.line)))
    assert set(e.graph.objects(line, GR.missingPrimaryCode)) == {CPT["64483"]}
    d = _determine(kb, case, "medicare-esi-lcd")
    add_on = next(c for c in d.criteria if c.id.endswith("/add-on-primary"))
    assert add_on.status.value == "not-met" and "64484 needs 64483" in add_on.finding
    assert [f.assessment for f in add_on.facts] == ["fails this criterion"]


def test_pain_character_puts_the_history_in_a_condition_class(kb: KnowledgeBase) -> None:
    e = enrich(
        parse_case((EXAMPLES / "esi-axial-pain.json").read_bytes(), "json", kb).graph, kb, kb.policy("medicare-esi-lcd")
    )
    history = next(iter(e.graph.objects(e.case, CV.painHistory)))
    assert (history, RDF.type, URIRef("https://w3id.org/guideline-reasoner/condition#AxialSpinePain")) in e.graph
    assert e.graph.value(history, GR.durationWeeks) == Literal(Decimal("13.05"))


def test_purpose_specialises_only_the_nearest_class(kb: KnowledgeBase) -> None:
    """A diagnostic SIJ injection is not a medial branch block, though both are diagnostic injections."""
    e = enrich(
        parse_case((EXAMPLES / "medicare-therapeutic-injection.json").read_bytes(), "json", kb).graph,
        kb,
        kb.policy("medicare-sij-lcd"),
    )
    prior = next(iter(e.graph.objects(e.case, CV.priorProcedure)))
    types = set(e.graph.objects(prior, RDF.type))
    assert PROC.DiagnosticSacroiliacJointInjection in types
    assert PROC.MedialBranchBlock not in types and PROC.TherapeuticSacroiliacJointInjection not in types
    mbb = _case("facet-rfa-initial")["priorProcedures"][0]
    assert mbb["code"] == "64493" and mbb["purpose"] == "diagnostic"
    f = enrich(
        parse_case((EXAMPLES / "facet-rfa-initial.json").read_bytes(), "json", kb).graph,
        kb,
        kb.policy("medicare-facet-lcd"),
    )
    block = next(iter(f.graph.objects(f.case, CV.priorProcedure)))
    assert PROC.MedialBranchBlock in set(f.graph.objects(block, RDF.type))


# --- rule behaviour -------------------------------------------------------------------------------


def test_session_limit_counts_only_inside_the_window(kb: KnowledgeBase) -> None:
    case = _case("facet-rfa-third-in-year")
    assert _statuses(_determine(kb, case, "medicare-facet-lcd"))["rfa-frequency"] == "not-met"
    case["priorProcedures"][-2]["date"] = "2025-05-04"  # now 12.2 months before the request
    case["documents"][-2]["date"] = "2025-05-04"
    assert _statuses(_determine(kb, case, "medicare-facet-lcd"))["rfa-frequency"] == "met"


def test_missing_relief_is_unknown_never_met_or_not_met(kb: KnowledgeBase) -> None:
    case = _case("facet-repeat-rfa-short-relief")
    rfa = case["priorProcedures"][-1]
    for key in ("percentRelief", "reliefMonths", "outcome"):
        del rfa[key]
    d = _determine(kb, case, "medicare-facet-lcd")
    assert _statuses(d)["repeat-rfa"] == "unknown"
    assert d.outcome.value == "pended-information-needed"
    assert d.missingInformation == [  # each value by name: what, of which fact, from which document
        "months of relief of the facet joint denervation of 2025-08-04 (procedure note rfa-note)",
        "percent relief of the facet joint denervation of 2025-08-04 (procedure note rfa-note)",
    ]


def test_exclusion_exception_lifts_the_exclusion(kb: KnowledgeBase) -> None:
    radic, cyst = _case("facet-rfa-radiculopathy"), _case("facet-rfa-radiculopathy-from-cyst")
    assert _statuses(_determine(kb, radic, "medicare-facet-lcd"))["no-radiculopathy"] == "not-met"
    assert _statuses(_determine(kb, cyst, "medicare-facet-lcd"))["no-radiculopathy"] == "met"
    radic["conditions"][-1]["status"] = "resolved"
    assert _statuses(_determine(kb, radic, "medicare-facet-lcd"))["no-radiculopathy"] == "met"


def test_image_guidance_missing_is_unknown(kb: KnowledgeBase) -> None:
    case = _case("evicore-therapeutic-injection")
    del case["request"]["imageGuidance"]
    d = _determine(kb, case, "evicore-sij")
    assert _statuses(d)["image-guidance"] == "unknown"
    assert d.missingInformation == ["image guidance of the request of 2026-03-09"]


# --- expansion ------------------------------------------------------------------------------------


def test_expansion_writes_checking_shapes_for_every_declared_rule(kb: KnowledgeBase) -> None:
    declared = {c for c, _ in kb.ontology.subject_objects(GR.rule)}
    assert len(declared) >= 25
    checked = set(kb.shapes.objects(None, GR.checks))
    # a covered-diagnosis rule over a list without entries only asks for the diagnosis (documentation)
    asks_only = {
        c
        for c, rule in kb.ontology.subject_objects(GR.rule)
        if (rule, RDF.type, GR.CoveredDiagnosis) in kb.ontology
        and kb.ontology.value(kb.ontology.value(rule, GR.diagnosisList), GR.entry) is None
    }
    assert asks_only and all(GR.RequestDiagnosisRecord in kb.criteria[c].needs for c in asks_only)
    assert declared - asks_only <= checked
    generated = {s for s in kb.shapes.subjects(GR.expandedFrom, None)}
    assert all(str(s).startswith("https://w3id.org/guideline-reasoner/shapes/rule/") for s in generated)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("[ a gr:SessionLimit ; gr:procedureClass proc:FacetJointDenervation ]", "needs exactly one maxSessions"),
        ("[ a gr:Rule ]", "needs exactly one rule kind"),
        (
            "[ a gr:MinimumInterval ; gr:procedureClass proc:FacetJointDenervation ;"
            " gr:minInterval mfacet:max-levels ]",
            "must be in months, weeks or days",
        ),
        ("[ a gr:Exclusion ]", "needs at least one excludedClass"),
        ("[ a gr:CoveredDiagnosis ; gr:diagnosisList mfacet:max-levels ]", "must name a gr:DiagnosisList"),
    ],
)
def test_a_broken_rule_stops_the_load_and_lint_names_it(tmp_path: Path, rule: str, message: str) -> None:
    root = tmp_path / "kb"
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(ROOT / "shapes", root / "shapes")
    path = root / "ontology" / "guidelines" / "medicare-facet-lcd.ttl"
    text = path.read_text()
    anchor = "    gr:rule [ a gr:LevelLimit ; gr:maxLevels mfacet:max-levels ; gr:maxRegions mfacet:max-regions ] ;\n"
    assert anchor in text
    path.write_text(text.replace(anchor, f"    gr:rule {rule} ;\n"))
    with pytest.raises(KnowledgeBaseError, match=message):
        KnowledgeBase.load(root)
    graph = Graph()
    for p in (root / "ontology").rglob("*.ttl"):
        graph.parse(p)
    problems = rule_problems(graph)
    assert [(str(c), message in m) for c, m in problems] == [(GRK + "medicare-facet-lcd/levels", True)]


def test_expansion_is_deterministic() -> None:
    def expanded() -> set[str]:
        onto, shapes = Graph(), Graph()
        for p in sorted((ROOT / "ontology").rglob("*.ttl")):
            onto.parse(p)
        expand_rules(onto, shapes)
        return {
            f"{s.n3()} {p.n3()} {o.n3()}"
            for s, p, o in shapes
            if not any(t.__class__.__name__ == "BNode" for t in (s, o))
        }

    assert expanded() == expanded()


def test_generated_shapes_are_valid_shacl(kb: KnowledgeBase) -> None:
    """The load skips SHACL-for-SHACL on the shapes the rules write; this is where they are checked."""
    from reasoner.shacl.prepared import check_shapes_graph

    generated = {s for s in kb.shapes.subjects(GR.expandedFrom, None)}
    assert len(generated) > 50
    only = Graph()
    for s, p, o in kb.shapes:
        only.add((s, p, o))
    check_shapes_graph(only)  # the whole prepared shapes graph, generated shapes included
