"""Generic rules read the knowledge base: one triple adds an exclusion or a prerequisite."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reasoner import KnowledgeBase, KnowledgeBaseError, determine
from reasoner.kb import Checks

from .conftest import EXAMPLES, FIXTURES, ROOT

PREFIXES = (
    "PREFIX cpt: <https://w3id.org/guideline-reasoner/code/cpt/>\n"
    "PREFIX gr: <https://w3id.org/guideline-reasoner/core#>\n"
    "PREFIX grk: <https://w3id.org/guideline-reasoner/kb/>\n"
    "PREFIX sijp: <https://w3id.org/guideline-reasoner/kb/sij-clinical-pathway/>\n"
)
RFA = (EXAMPLES / "sij-rfa-two-blocks.json").read_bytes()


def _kb_with(tmp_path: Path, *turtle: str, fixture: str | None = None, checks: Checks = "lint") -> KnowledgeBase:
    root = tmp_path / "kb"
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(ROOT / "shapes", root / "shapes")
    if fixture:
        shutil.copy(FIXTURES / "kb" / fixture, root / "ontology" / fixture)
    for i, text in enumerate(turtle):
        (root / "ontology" / f"edit-{i}.ttl").write_text(PREFIXES + text)
    return KnowledgeBase.load(root, checks=checks)


def test_one_triple_adds_an_exclusion(tmp_path: Path, kb: KnowledgeBase) -> None:
    assert determine(RFA, "json", kb).outcome.value == "medically-necessary"
    edited = _kb_with(tmp_path, "grk:sij-clinical-pathway gr:excludesCode cpt:64625 .\n")
    d = determine(RFA, "json", edited)
    assert d.outcome.value == "not-medically-necessary"
    assert (d.criteria[0].id, d.criteria[0].status.value) == ("sij-clinical-pathway/code-covered", "not-met")
    assert d.requested[0].coverage == "not covered"


def test_one_triple_adds_a_prerequisite(tmp_path: Path) -> None:
    unlinked = _kb_with(tmp_path / "a", fixture="extra-step.ttl")
    assert determine(RFA, "json", unlinked).outcome.value == "medically-necessary"
    linked = _kb_with(
        tmp_path / "b",
        "sijp:step-lateral-branch-blocks gr:requiresStep sijp:step-structured-exercise .\n",
        fixture="extra-step.ttl",
    )
    d = determine(RFA, "json", linked)
    status = {c.id: c.status.value for c in d.criteria}
    assert status["sij-clinical-pathway/structured-exercise"] == "not-met"
    assert d.outcome.value == "not-medically-necessary"
    assert d.nextSteps[0].step == "Structured exercise"


def test_a_prerequisite_without_completion_criterion_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="has no gr:completionCriterion"):
        _kb_with(tmp_path, "sijp:step-cooled-rfa gr:requiresStep sijp:step-surgery .\n", checks="load")
