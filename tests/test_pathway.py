"""The pathway diagram (reasoner/render/pathway.py): an SVG per policy, marked for a determination."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from reasoner import KnowledgeBase, determine, render
from reasoner.knowledge.catalogue import policy_view
from reasoner.model import Determination
from reasoner.render.pathway import (
    Mark,
    columns,
    letter_pathway_svg,
    pathway_svg,
    policy_pathway_svg,
    step_marks,
)
from reasoner.render.text import to_markdown

from .conftest import EXAMPLES

SVG = "{http://www.w3.org/2000/svg}"
SIJ = "sij-clinical-pathway"


def _judge(kb: KnowledgeBase, case: str, policy: str) -> Determination:
    return determine((EXAMPLES / f"{case}.json").read_bytes(), "json", kb, policy=policy)


def _steps(svg: str) -> list[ET.Element]:
    return [g for g in ET.fromstring(svg).iter(f"{SVG}g") if g.get("class") == "step"]


def _edges(svg: str) -> list[ET.Element]:
    return [p for p in ET.fromstring(svg).iter(f"{SVG}path") if p.get("class") == "edge"]


def _step(i: str, label: str, requires: list[str], order: int) -> dict[str, Any]:
    return {"order": order, "id": i, "step": label, "action": f"do {label}", "requires": requires, "evidence": None}


def test_every_bundled_pathway_has_a_box_per_step_and_an_arrow_per_prerequisite(kb: KnowledgeBase) -> None:
    drawn = 0
    for policy in sorted(kb.policies):
        pathway = policy_view(kb, policy)["pathway"]
        svg = policy_pathway_svg(kb, policy)
        if not pathway:
            assert svg is None, policy
            continue
        assert svg is not None
        root = ET.fromstring(svg)
        assert root.get("role") == "img" and root.find(f"{SVG}title") is not None, policy
        assert root.find(f"{SVG}desc") is not None and len(root.findtext(f"{SVG}desc") or "") > 20
        steps = _steps(svg)
        assert [g.get("data-step") for g in steps] == [s["id"] for s in pathway], policy
        assert all(g.get("id") and g.find(f"{SVG}title") is not None for g in steps), policy
        ids = [g.get("id") for g in steps]
        assert len(set(ids)) == len(ids)
        prerequisites = sum(len(s["requires"]) for s in pathway)
        assert len(_edges(svg)) == prerequisites, policy
        drawn += prerequisites
    assert drawn >= 7  # the SIJ pathways have prerequisite chains: the count above is not vacuous


def test_the_evidence_grade_is_written_on_each_step(kb: KnowledgeBase) -> None:
    svg = policy_pathway_svg(kb, SIJ) or ""
    boxes = {g.get("data-step"): "".join(g.itertext()) for g in _steps(svg)}
    assert "Evidence 2 B+" in boxes[f"{SIJ}/step-cooled-rfa"]
    assert "Evidence not graded" in boxes[f"{SIJ}/step-surgery"]


def test_the_diagram_is_laid_out_once_per_knowledge_base(kb: KnowledgeBase) -> None:
    assert policy_pathway_svg(kb, SIJ) is policy_pathway_svg(kb, SIJ)


def test_parallel_steps_share_a_column_and_a_chain_sets_the_column(kb: KnowledgeBase) -> None:
    col = columns(policy_view(kb, SIJ)["pathway"])
    assert col[f"{SIJ}/step-conservative-care"] == col[f"{SIJ}/step-other-generators"] == 0
    assert col[f"{SIJ}/step-surgery"] == 5
    looped = [_step("a", "A", ["b"], 1), _step("b", "B", ["a"], 2), _step("c", "C", ["a", "zz"], 3)]
    assert sorted(columns(looped).values()) == [0, 1, 2]  # a cycle is cut, an unknown prerequisite ignored


def test_text_is_escaped() -> None:
    steps = [_step("s/1", 'Rest & <ice> "now"', [], 1), _step("s/2", "Then </svg><script>", ["s/1"], 2)]
    svg = pathway_svg(steps, "A <policy> & more")
    assert "<script>" not in svg and "<ice>" not in svg
    root = ET.fromstring(svg)
    assert root.findtext(f"{SVG}title") == "A <policy> & more"
    assert 'Rest & <ice> "now"' in "".join(_steps(svg)[0].itertext())
    assert len(_edges(svg)) == 1


def test_the_seed_case_marks_done_required_next_and_requested(kb: KnowledgeBase) -> None:
    d = _judge(kb, "sij-seed-neurectomy", SIJ)
    marks = step_marks(d, policy_view(kb, SIJ)["pathway"])
    assert marks == {
        f"{SIJ}/step-conservative-care": Mark.DONE,
        f"{SIJ}/step-diagnostic-injection": Mark.DONE,
        f"{SIJ}/step-therapeutic-injection": Mark.DONE,
        f"{SIJ}/step-lateral-branch-blocks": Mark.REQUIRED,
        f"{SIJ}/step-cooled-rfa": Mark.REQUIRED,
        f"{SIJ}/step-other-generators": Mark.NEXT,
        f"{SIJ}/step-surgery": Mark.REQUESTED,
    }


def test_an_rfa_case_marks_the_rfa_requested_and_what_follows_next(kb: KnowledgeBase) -> None:
    d = _judge(kb, "sij-rfa-two-blocks", SIJ)
    marks = step_marks(d, policy_view(kb, SIJ)["pathway"]) or {}
    assert [marks[f"{SIJ}/step-{s}"] for s in ("lateral-branch-blocks", "cooled-rfa", "surgery")] == [
        Mark.DONE,
        Mark.REQUESTED,
        Mark.NEXT,
    ]
    facet = _judge(kb, "facet-rfa-initial", "medicare-facet-lcd")
    assert step_marks(facet, policy_view(kb, "medicare-facet-lcd")["pathway"]) == {
        "medicare-facet-lcd/step-conservative-care": Mark.DONE,
        "medicare-facet-lcd/step-diagnostic-blocks": Mark.DONE,
        "medicare-facet-lcd/step-thermal-rfa": Mark.REQUESTED,
    }


def test_no_marks_where_the_determination_cannot_tell(kb: KnowledgeBase) -> None:
    unjudged = _judge(kb, "sij-seed-neurectomy", "medicare-sij-lcd")  # no applicable guideline: no step judged
    assert unjudged.nextSteps == [] and step_marks(unjudged, policy_view(kb, "medicare-sij-lcd")["pathway"]) is None
    assert letter_pathway_svg(kb, unjudged) is None
    d = _judge(kb, "sij-seed-neurectomy", SIJ)
    renamed = [{**s, "step": s["step"] + " (renamed)"} for s in policy_view(kb, SIJ)["pathway"]]
    assert step_marks(d, renamed) is None  # a listed step the pathway lacks
    assert letter_pathway_svg(kb, d.model_copy(update={"knowledgeBase": "sha256:another"})) is None


def test_every_step_done_when_none_is_left(kb: KnowledgeBase) -> None:
    d = _judge(kb, "sij-seed-neurectomy", "evicore-sij")  # the requested code is in no step of that pathway
    marks = step_marks(d, policy_view(kb, "evicore-sij")["pathway"])
    assert d.nextSteps == [] and marks and set(marks.values()) == {Mark.DONE}


def test_the_html_letter_draws_the_marked_pathway_only_with_the_knowledge_base(kb: KnowledgeBase) -> None:
    d = _judge(kb, "sij-seed-neurectomy", SIJ)
    with_kb = render(d, "html", kb=kb)
    assert with_kb.count("<svg") == 1 and 'role="img"' in with_kb
    svg = with_kb[with_kb.index("<svg") : with_kb.index("</svg>") + 6]
    assert {g.get("data-mark") for g in _steps(svg)} == {"done", "required", "next", "requested"}
    assert "Required first" in svg and "Requested" in svg  # the mark is written, not only coloured
    assert "<svg" not in render(d, "html")
    assert render(d, "markdown", kb=kb) == to_markdown(d)


@pytest.mark.parametrize("case", ["sij-seed-neurectomy", "sij-rfa-two-blocks"])
def test_the_letter_diagram_parses(kb: KnowledgeBase, case: str) -> None:
    svg = letter_pathway_svg(kb, _judge(kb, case, SIJ)) or ""
    assert len(_steps(svg)) == 7 and all(g.get("data-mark") for g in _steps(svg))
