"""Loading the knowledge base: what it holds, and each load-time check failing on its bad fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reasoner import KnowledgeBase, KnowledgeBaseError, UnknownPolicyError
from reasoner.vocab import CPT, GR, KB, PROC

from .conftest import FIXTURES, ROOT


def test_policies_and_codes(kb: KnowledgeBase) -> None:
    assert sorted(kb.policies) == [
        "evicore-sij",
        "medicare-esi-lcd",
        "medicare-facet-lcd",
        "medicare-sij-lcd",
        "sij-clinical-pathway",
    ]
    for code in ("27096", "64451", "64625", "64772", "64999", "27279", "27280"):
        assert CPT[code] in kb.codes
    assert kb.codes[CPT["64625"]].denotes == PROC.SacroiliacRadiofrequencyAblation


def test_class_hierarchy_is_closed(kb: KnowledgeBase) -> None:
    supers = kb.superclasses[PROC.CooledSacroiliacRadiofrequencyAblation]
    for cls in (PROC.SacroiliacRadiofrequencyAblation, PROC.RadiofrequencyAblation, PROC.NeuroablativeProcedure):
        assert cls in supers
    assert GR.Procedure in supers


def test_thresholds_carry_value_unit_source_and_tag(kb: KnowledgeBase) -> None:
    relief = kb.thresholds[KB["sij-clinical-pathway/lbb-min-relief"]]
    assert (relief.display(), relief.unit, relief.verification) == ("50", "percent", "S")
    for t in kb.thresholds.values():
        assert t.references and t.verification in ("V", "V2", "S", "U") and t.unit


def test_thresholds_are_bound_into_shapes(kb: KnowledgeBase) -> None:
    from rdflib import SH

    from reasoner.vocab import GRS

    assert kb.shapes.value(GRS["SijpLateralBranchBlocksShape-blocks"], SH.qualifiedMinCount).toPython() == 2
    assert float(kb.shapes.value(GRS["SijpQualifyingLateralBranchBlock-relief"], SH.minInclusive).toPython()) == 50


def test_content_hash_is_stable(kb: KnowledgeBase) -> None:
    again = KnowledgeBase.load(ROOT)
    assert again.content_hash == kb.content_hash and kb.content_hash.startswith("sha256:")


def test_unknown_policy_lists_valid_ids(kb: KnowledgeBase) -> None:
    with pytest.raises(UnknownPolicyError) as err:
        kb.policy("nope")
    assert "medicare-sij-lcd" in str(err.value) and "sij-clinical-pathway" in str(err.value)


def _copy_with(tmp_path: Path, fixture: str) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(ROOT / "shapes", root / "shapes")
    folder = "shapes" if ("shape" in fixture or "binding" in fixture) else "ontology"
    shutil.copy(FIXTURES / "kb" / fixture, root / folder / fixture)
    return root


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("bad-syntax.ttl", "ontology/bad-syntax.ttl:6:1: expected '.' or '}' or ']' at end of statement"),
        ("bad-shape.ttl", "shapes are not valid SHACL"),
        ("bad-binding.ttl", "which has no gr:value"),
        ("bad-criterion.ttl", "criterion orphan-criterion has no gr:policy"),
        ("bad-coverage.ttl", "coverage rule incomplete-coverage needs"),
        ("bad-threshold.ttl", "threshold valueless-threshold has no typed gr:value"),
    ],
)
def test_each_load_check_fails_on_its_fixture(tmp_path: Path, fixture: str, message: str) -> None:
    with pytest.raises(KnowledgeBaseError) as err:
        KnowledgeBase.load(_copy_with(tmp_path, fixture))
    assert message in str(err.value)


def test_missing_knowledge_base(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="no knowledge base under"):
        KnowledgeBase.load(tmp_path)
