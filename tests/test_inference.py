"""The enrich stage and applicability: derived facts, and which criteria apply."""

from __future__ import annotations

from decimal import Decimal

from rdflib import RDF, Literal

from reasoner import KnowledgeBase, parse_case
from reasoner.enrich.stage import enrich
from reasoner.knowledge.applicability import resolve
from reasoner.vocab import CV, GR, KB, PROC


def _enriched(kb: KnowledgeBase, payload: bytes, policy: str = "sij-clinical-pathway"):  # type: ignore[no-untyped-def]
    return enrich(parse_case(payload, "json", kb).graph, kb, kb.policy(policy))


def test_type_closure_from_codes_and_purpose(kb: KnowledgeBase, seed_json: bytes) -> None:
    e = _enriched(kb, seed_json)
    g = e.graph
    lbb = next(
        p
        for p in g.objects(e.case, CV.priorProcedure)
        if (p, CV.percentRelief, None) in g and Literal(Decimal(80)) in set(g.objects(p, CV.percentRelief))
    )
    types = set(g.objects(lbb, RDF.type))
    assert {PROC.SacralLateralBranchBlock, PROC.SpinalInjection, GR.Procedure} <= types
    diagnostic = [p for p in g.subjects(RDF.type, PROC.DiagnosticSacroiliacJointInjection)]
    therapeutic = [p for p in g.subjects(RDF.type, PROC.TherapeuticSacroiliacJointInjection)]
    assert len(diagnostic) == 1 and len(therapeutic) == 1


def test_coverage_status_per_policy(kb: KnowledgeBase, seed_json: bytes) -> None:
    pathway = {str(line.code).rsplit("/", 1)[-1]: line.status for line in _enriched(kb, seed_json).lines}
    assert pathway == {"64772": GR.NotCovered, "64999": GR.Unlisted}
    medicare = {line.status for line in _enriched(kb, seed_json, "medicare-sij-lcd").lines}
    assert medicare == {GR.NotAddressed}


def test_months_before_request(kb: KnowledgeBase, seed_json: bytes) -> None:
    e = _enriched(kb, seed_json)
    dated = [p for p in e.graph.objects(e.case, CV.priorProcedure) if (p, CV.date, None) in e.graph]
    assert [e.graph.value(p, GR.monthsBeforeRequest).toPython() for p in dated] == [Decimal("1.35")]


def test_prerequisite_and_completed_steps(kb: KnowledgeBase, seed_json: bytes) -> None:
    e = _enriched(kb, seed_json)
    required = {str(s).rsplit("/", 1)[-1] for s in e.graph.objects(e.request, GR.requiresStep)}
    assert required == {
        "step-conservative-care",
        "step-diagnostic-injection",
        "step-therapeutic-injection",
        "step-lateral-branch-blocks",
        "step-cooled-rfa",
    }
    done = {str(s).rsplit("/", 1)[-1] for s in e.graph.objects(None, GR.completesStep)}
    assert done == {
        "step-conservative-care",
        "step-diagnostic-injection",
        "step-therapeutic-injection",
        "step-lateral-branch-blocks",
    }


def test_pain_generators_addressed_by_level(kb: KnowledgeBase, seed_json: bytes) -> None:
    e = _enriched(kb, seed_json)
    g = e.graph
    addressed = {
        str(g.value(f, CV.findingKind)).rsplit("#", 1)[-1]: (f, GR.addressed, Literal(True)) in g
        for f in g.objects(e.case, CV.imagingFinding)
    }
    assert addressed == {
        "ForaminalStenosis": True,
        "FacetArthropathy": True,
        "Spondylolisthesis": False,
        "ParsDefect": False,
    }


def test_applicable_criteria(kb: KnowledgeBase) -> None:
    policy = kb.policy("sij-clinical-pathway")
    surgery = resolve(kb, policy, kb.types_of([PROC.ExtraduralSpinalNerveTransection]))
    assert len(surgery.criteria) == 10
    rfa = resolve(kb, policy, kb.types_of([PROC.CooledSacroiliacRadiofrequencyAblation]))
    assert KB["sij-clinical-pathway/rfa-before-surgery"] not in rfa.criteria
    assert KB["sij-clinical-pathway/lateral-branch-blocks"] in rfa.criteria
    assert resolve(kb, policy, frozenset()).criteria == frozenset()


def test_enrich_does_not_touch_the_knowledge_base(kb: KnowledgeBase, seed_json: bytes) -> None:
    before = kb.graph_digest()
    for _ in range(3):
        _enriched(kb, seed_json)
    assert kb.graph_digest() == before
