"""Generic rules read the knowledge base: one triple adds an exclusion or a prerequisite."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reasoner import KnowledgeBase, KnowledgeBaseError, determine
from reasoner.knowledge.base import Checks

from .conftest import EXAMPLES, FIXTURES, ROOT

PREFIXES = (
    "PREFIX cpt: <https://w3id.org/guideline-reasoner/code/cpt/>\n"
    "PREFIX gr: <https://w3id.org/guideline-reasoner/core#>\n"
    "PREFIX grk: <https://w3id.org/guideline-reasoner/kb/>\n"
    "PREFIX sijp: <https://w3id.org/guideline-reasoner/kb/sij-clinical-pathway/>\n"
)
RFA = (EXAMPLES / "sij-rfa-two-blocks.json").read_bytes()


def _kb_with(
    tmp_path: Path,
    *turtle: str,
    fixture: str | None = None,
    checks: Checks = "lint",
    pathway: tuple[str, str] | None = None,
) -> KnowledgeBase:
    """A copy of the knowledge base with files added (``turtle``, ``fixture``) or the pathway edited (old, new)."""
    root = tmp_path / "kb"
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(ROOT / "shapes", root / "shapes")
    if pathway is not None:
        path = root / "ontology" / "guidelines" / "sij-clinical-pathway.ttl"
        assert path.read_text().count(pathway[0]) == 1
        path.write_text(path.read_text().replace(*pathway))
    if fixture:
        shutil.copy(FIXTURES / "kb" / fixture, root / "ontology" / fixture)
    for i, text in enumerate(turtle):
        (root / "ontology" / f"edit-{i}.ttl").write_text(PREFIXES + text)
    return KnowledgeBase.load(root, checks=checks)


def test_one_triple_adds_an_exclusion(tmp_path: Path, kb: KnowledgeBase) -> None:
    """The one-triple form names no source, so the exclusion is unverified (U): advisory, pended for review."""
    assert determine(RFA, "json", kb).outcome.value == "medically-necessary"
    edited = _kb_with(tmp_path, "grk:sij-clinical-pathway gr:excludesCode cpt:64625 .\n")
    d = determine(RFA, "json", edited)
    assert d.outcome.value == "pended-clinician-review" and d.clinicianReview
    first = d.criteria[0]
    assert (first.id, first.status.value, first.verification, first.advisory) == (
        "sij-clinical-pathway/code-covered",
        "not-met",
        "U",
        True,
    )
    assert d.requested[0].coverage == "not covered"
    assert d.rationale[0].startswith("Requested code covered [U, advisory]: ")


def test_a_sourced_exclusion_decides(tmp_path: Path) -> None:
    """The same exclusion as a coverage rule with its source and a V2 tag denies the request."""
    rule = "gr:code cpt:64625 ;\n    gr:coverageStatus gr:{} ;\n    gr:reference grk:ref-vanelderen-2010 ;\n"
    rule += "    gr:verification gr:{} ;"
    edit = (rule.format("Covered", "VerificationV"), rule.format("NotCovered", "VerificationV2"))
    d = determine(RFA, "json", _kb_with(tmp_path, pathway=edit))
    assert d.outcome.value == "not-medically-necessary"
    assert (d.criteria[0].verification, d.criteria[0].advisory) == ("V2", False)
    assert d.rationale[0].startswith("Requested code covered [V2]: ")


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
