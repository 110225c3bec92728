"""Tags follow the facts, and a criterion resting only on single-source or unverified facts is advisory.

A criterion's tag is the weakest of its own fact's (gr:verification) and of the thresholds it uses
(and, for a coverage criterion, of the coverage rules of the codes it judges). A required criterion
tagged S or U is advisory: not met, it pends the request for the clinician reviewer
(``pended-clinician-review``) instead of denying it, unless the knowledge base says why it decides
(gr:decidesBecause). Every output form carries the tag and the advisory mark.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from rdflib import Literal, URIRef

from reasoner import Determination, KnowledgeBase, determine, render
from reasoner.intake.fhir.pas import read_pas
from reasoner.interop.cds_hooks import card
from reasoner.interop.coverage_information import coverage_information
from reasoner.interop.pas import claim_response_bundle, judge
from reasoner.knowledge.catalogue import policy_view
from reasoner.knowledge.entities import weakest
from reasoner.model import CriterionResult
from reasoner.render.rdf import determination_graph
from reasoner.vocab import BASE, GR, KB

from .conftest import EXAMPLES, ROOT

FACET = "medicare-facet-lcd"
F8 = f"{FACET}/block-interval"
F9 = f"{FACET}/diagnostic-frequency"
REVIEW_LINE = "No criterion that decides a denial is failed"


def _determine(
    kb: KnowledgeBase, name: str, policy: str = FACET, edit: Callable[[dict[str, Any]], None] | None = None
) -> Determination:
    case = json.loads((EXAMPLES / f"{name}.json").read_text())
    if edit is not None:
        edit(case)
    return determine(json.dumps(case).encode(), "json", kb, policy=policy)


def _by_id(d: Determination) -> dict[str, CriterionResult]:
    return {c.id: c for c in d.criteria}


# --- the outcome rule ------------------------------------------------------------------------------


def test_only_f9_not_met_pends_for_clinician_review(kb: KnowledgeBase) -> None:
    d = _determine(kb, "facet-diagnostic-fifth-session")
    assert (d.outcome.value, d.outcomeLabel, d.clinicianReview) == (
        "pended-clinician-review",
        "Pended: clinician review",
        True,
    )
    f9 = _by_id(d)[F9]
    assert (f9.status.value, f9.verification, f9.advisory, f9.decidesBecause) == ("not-met", "U", True, None)
    assert [c.id for c in d.criteria if c.status.value != "met"] == [F9]
    assert d.rationale[0].startswith("Diagnostic sessions per 12 months (F9) [U, advisory]: The request (CPT 64493)")
    assert "2026-03-16 (procedure note mbb-4-note)" in d.rationale[0]  # the sessions counted, named
    assert d.rationale[-1].startswith(REVIEW_LINE) and "clinician reviewer" in d.rationale[-1]
    assert d.missingInformation == []


def test_only_f8_not_met_pends_for_clinician_review(kb: KnowledgeBase) -> None:
    d = _determine(kb, "facet-confirmatory-block-too-soon")
    assert d.outcome.value == "pended-clinician-review"
    f8 = _by_id(d)[F8]
    assert (f8.status.value, f8.verification, f8.advisory) == ("not-met", "S", True)
    assert d.rationale[0].startswith("Two weeks between diagnostic blocks (F8) [S, advisory]: ")


def test_a_v2_criterion_failing_too_denies(kb: KnowledgeBase) -> None:
    d = _determine(kb, "facet-confirmatory-block-too-soon-low-relief")
    assert d.outcome.value == "not-medically-necessary" and d.clinicianReview
    f7 = _by_id(d)[f"{FACET}/confirmatory-block"]
    assert (f7.status.value, f7.verification, f7.advisory) == ("not-met", "V2", False)
    assert [line.split(":", 1)[0] for line in d.rationale] == [
        "Confirmatory block after a positive first block (F7) [V2]",
        "Two weeks between diagnostic blocks (F8) [S, advisory]",
    ]
    assert "2026-01-26 (procedure note mbb-1-note)" in d.rationale[0]


def test_information_needed_comes_before_review_and_names_the_advisory_finding(kb: KnowledgeBase) -> None:
    """An unknown required criterion pends for information; the advisory failure is still named."""

    def no_score(case: dict[str, Any]) -> None:
        del case["painHistory"]["score"]

    d = _determine(kb, "facet-confirmatory-block-too-soon", edit=no_score)
    assert d.outcome.value == "pended-information-needed"
    assert _by_id(d)[f"{FACET}/baseline-measured"].status.value == "unknown"
    assert d.rationale[0].startswith(REVIEW_LINE + ", but 1 item of documentation")
    assert d.rationale[1].startswith("Two weeks between diagnostic blocks (F8) [S, advisory]: ")
    assert d.missingInformation


def test_an_unverified_exclusion_pends_and_a_stated_reason_decides(kb: KnowledgeBase) -> None:
    """64772 under eviCore is our inference (U): advisory. Under the pathway (U too) it decides, with the reason."""
    evicore = _determine(kb, "sij-seed-neurectomy", "evicore-sij")
    assert evicore.outcome.value == "pended-clinician-review"
    covered = _by_id(evicore)["evicore-sij/code-covered"]
    assert (covered.status.value, covered.verification, covered.advisory) == ("not-met", "U", True)
    assert evicore.rationale[0].startswith("Requested code covered [U, advisory]: ")
    pathway = _determine(kb, "sij-seed-neurectomy", "sij-clinical-pathway")
    assert pathway.outcome.value == "not-medically-necessary"
    covered = _by_id(pathway)["sij-clinical-pathway/code-covered"]
    assert (covered.verification, covered.advisory) == ("U", False)
    assert "own coverage position" in covered.decidesBecause
    assert pathway.rationale[0].startswith("Requested code covered [U]: ")


def test_the_seed_keeps_its_answer(kb: KnowledgeBase) -> None:
    """The seed case's statuses and outcome as the project's canonical determination gives them."""
    d = _determine(kb, "sij-seed-neurectomy", "sij-clinical-pathway")
    p = "sij-clinical-pathway/"
    expected = {
        "code-covered": ("not-met", "U", False),
        "standard-code": ("not-met", "V", False),
        "lateral-branch-blocks": ("not-met", "S", False),  # decides: the pathway says why
        "provocative-tests": ("met", "V", False),
        "conservative-care": ("met", "V", False),
        "diagnostic-injection": ("met", "V", False),
        "therapeutic-injection": ("met", "V", False),
        "rfa-before-surgery": ("not-met", "S", True),
        "sij-diagnosis": ("not-met", "V2", False),
        "other-pain-generators": ("not-met", "V2", False),  # not required: a caution
    }
    got = {c.id.removeprefix(p): (c.status.value, c.verification, c.advisory) for c in d.criteria}
    assert got == expected
    assert d.outcome.value == "not-medically-necessary"
    assert d.rationale[0].startswith("Requested code covered [U]: Excluded by the policy")
    assert [line.split(":", 1)[0] for line in d.rationale] == [  # the reasons it rests on first, advisory after
        "Requested code covered [U]",
        "Standard, coded procedure [V]",
        "Confirmatory lateral branch blocks [S]",
        "SIJ diagnosis on the request [V2]",
        "RFA tried and failed [S, advisory]",
    ]
    assert [s.step for s in d.nextSteps][:2] == [
        "Confirmatory sacral lateral branch blocks",
        "Cooled RFA of the S1-S3 lateral branches",
    ]


# --- tags are derived when the knowledge base loads ----------------------------------------------------


def test_a_criterion_carries_the_weakest_tag_of_its_fact_and_thresholds(kb: KnowledgeBase) -> None:
    tags = {t: kb.ontology.value(t, GR.strength) for t in kb.ontology.subjects(None, GR.VerificationStatus)}
    assert tags  # the ranks are data
    for c in kb.criteria.values():
        own = [kb.ontology.value(c.iri, GR.verification)]
        used = set(c.thresholds)
        for rule in kb.ontology.objects(c.iri, GR.rule):
            used |= {o for o in kb.ontology.objects(rule, None) if o in kb.thresholds}
        parts = [o for o in own if o is not None] + [kb.ontology.value(t, GR.verification) for t in used]
        if not parts:
            assert c.reads_coverage and c.tag is None, c.id  # takes its tags from the coverage rules
            continue
        weakest_part = min(parts, key=lambda t: int(tags[t]))
        assert c.tag is not None and c.tag.iri == weakest_part, c.id
    facet = {c.id: c for c in kb.criteria.values() if c.policy == KB[FACET]}
    assert facet[f"{FACET}/rfa-diagnostic-blocks"].tag.label == "V2"  # F10 is V, its 80 % and 2 blocks V2
    assert (facet[F8].tag.label, facet[F9].tag.label) == ("S", "U")
    assert facet[f"{FACET}/rfa-frequency"].tag.label == "V2"  # its window is not F9's
    assert weakest([]) is None


def test_advisory_follows_the_tags_not_a_declaration(tmp_path: Path, kb: KnowledgeBase) -> None:
    """Confirm F8 from a second source (both tags V2) and the same case is denied: nothing else changes."""
    root = tmp_path / "kb"
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(ROOT / "shapes", root / "shapes")
    path = root / "ontology" / "guidelines" / "medicare-facet-lcd.ttl"
    text = path.read_text()
    for name in ("mfacet:block-interval-weeks\n", "mfacet:block-interval\n"):
        start = text.index(name)
        end = text.index("\n.\n", start)
        text = text[:start] + text[start:end].replace("gr:VerificationS ;", "gr:VerificationV2 ;") + text[end:]
    path.write_text(text)
    confirmed = KnowledgeBase.load(root)
    d = _determine(confirmed, "facet-confirmatory-block-too-soon")
    f8 = _by_id(d)[F8]
    assert (d.outcome.value, f8.verification, f8.advisory) == ("not-medically-necessary", "V2", False)
    assert d.rationale[0].startswith("Two weeks between diagnostic blocks (F8) [V2]: ")


# --- every output form carries the tag -----------------------------------------------------------------


@pytest.fixture(scope="module")
def fifth(kb: KnowledgeBase) -> Determination:
    return _determine(kb, "facet-diagnostic-fifth-session")


def test_json_carries_tag_and_advisory(fifth: Determination) -> None:
    data = json.loads(render(fifth, "json"))
    assert data["outcome"] == "pended-clinician-review" and data["clinicianReview"] is True
    rows = {c["id"]: c for c in data["criteria"]}
    assert (rows[F9]["verification"], rows[F9]["advisory"]) == ("U", True)
    assert (rows[f"{FACET}/levels"]["verification"], rows[f"{FACET}/levels"]["advisory"]) == ("V2", False)
    refs = {r["id"]: r for r in data["references"]}
    assert refs["ref-lcd-l38773"]["verification"] == "V2"  # only its identifier was verified


def test_markdown_letter_shows_the_tag_beside_each_reason(fifth: Determination, kb: KnowledgeBase) -> None:
    text = render(fifth, "markdown")
    assert text.startswith("# Determination: Pended: clinician review\n")
    assert "\n1. Diagnostic sessions per 12 months (F9) [U, advisory]: " in text
    assert "the requested one included (F9). [U] *(advisory)* | not-met |" in text
    assert "(F17). [V2] | met |" in text
    assert "Tags: **V** verified in the source itself" in text
    seed = render(_determine(kb, "sij-seed-neurectomy", "sij-clinical-pathway"), "markdown")
    assert "- Requested code covered [U]: The pathway takes the exclusion" in seed  # why it decides
    assert "*(not required)*" in seed
    assert "Verification: V (The evidence grades of the SIJ interventions" in seed  # what was checked


def test_html_letter_shows_the_tag(fifth: Determination) -> None:
    text = render(fifth, "html")
    assert "<h1>Determination: Pended: clinician review</h1>" in text
    assert "<li>Diagnostic sessions per 12 months (F9) [U, advisory]: " in text
    assert '<strong class="tag">[U]</strong> <small>(advisory)</small>' in text
    assert "a clinician must review it" in text


def test_pas_pends_the_item_with_the_advisory_reason_as_a_process_note(fifth: Determination, kb: KnowledgeBase) -> None:
    pas = read_pas((ROOT / "examples" / "fhir" / "sij-seed-neurectomy.pas.json").read_bytes(), kb)
    out = claim_response_bundle(pas, fifth, now=datetime(2026, 6, 1, tzinfo=UTC))
    response = out["entry"][0]["resource"]
    assert response["disposition"] == "Pended: clinician review"
    notes = [n["text"] for n in response["processNote"]]
    assert notes[0].startswith("Diagnostic sessions per 12 months (F9) [U, advisory]: ")
    assert notes[-1].startswith(REVIEW_LINE)
    for item in response["item"]:
        (adjudication,) = item["adjudication"]
        codes = json.dumps(adjudication)
        assert '"code": "A4"' in codes and '"display": "Pending"' in codes


def test_pas_seed_under_evicore_is_pended_not_denied(kb: KnowledgeBase) -> None:
    pas = read_pas((ROOT / "examples" / "fhir" / "sij-seed-neurectomy.pas.json").read_bytes(), kb)
    d = judge(pas, kb, policy="evicore-sij")
    assert d.outcome.value == "pended-clinician-review"
    response = claim_response_bundle(pas, d, now=datetime(2026, 1, 15, tzinfo=UTC))["entry"][0]["resource"]
    assert response["processNote"][0]["text"].startswith("Requested code covered [U, advisory]: ")


def test_cds_card_marks_the_advisory_criterion(fifth: Determination) -> None:
    c = card(fifth, policy_url="https://example.org/policies/medicare-facet-lcd", order_reference="ServiceRequest/1")
    assert c["summary"].startswith("64493, 64494: pended for clinician review under ")
    assert c["indicator"] == "warning"
    assert "| Diagnostic sessions per 12 months (F9) | U (advisory) | not met | " in c["detail"]
    assert "| At most 2 levels in one region (F17) | V2 | met | " in c["detail"]
    assert "- Diagnostic sessions per 12 months (F9) [U, advisory]: " in c["detail"]
    info = coverage_information(
        fifth, coverage_ref="Coverage/c", policy_url="https://example.org/p", today=date(2026, 6, 1)
    )
    subs = {e["url"]: e for e in info["extension"]}
    assert subs["covered"]["valueCode"] == "conditional" and subs["pa-needed"]["valueCode"] == "auth-needed"
    assert "doc-needed" not in subs  # nothing is missing: a clinician decides


def test_rdf_carries_tag_and_advisory(fifth: Determination) -> None:
    g = determination_graph(fifth)
    results = {g.value(r, GR.criterion): r for r in g.subjects(GR.criterion, None)}
    f9 = results[KB[F9]]
    assert g.value(f9, GR.verification) == URIRef(BASE + "core#VerificationU")
    assert g.value(f9, GR.advisory) == Literal(True)
    assert list(g.objects(None, GR.outcome)) == [Literal("pended-clinician-review")]


def test_policy_view_lists_tags(kb: KnowledgeBase) -> None:
    view = policy_view(kb, FACET)
    rows = {c["id"]: c for c in view["criteria"]}
    assert (rows[F9]["verification"], rows[F9]["advisory"]) == ("U", True)
    assert rows[f"{FACET}/code-covered"]["verification"] is None  # per requested code, from its coverage rule
    assert {p["code"]: p["verification"] for p in view["procedures"]}["64495"] == "V2"
    pathway = {c["id"]: c for c in policy_view(kb, "sij-clinical-pathway")["criteria"]}
    assert pathway["sij-clinical-pathway/lateral-branch-blocks"]["decidesBecause"]
    thresholds = {t["id"]: t for c in view["criteria"] for t in c["thresholds"]}
    assert thresholds[f"{FACET}/block-min-relief"]["verification"] == "V2"
    assert thresholds[f"{FACET}/diagnostic-window-months"]["verification"] == "U"
