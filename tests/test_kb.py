"""Loading the knowledge base: what it holds, and each load-time check failing on its bad fixture."""

from __future__ import annotations

import gc
import json
import shutil
import weakref
from pathlib import Path

import pytest

from reasoner import KnowledgeBase, KnowledgeBaseError, UnknownPolicyError, determine
from reasoner.errors import KnowledgeBaseLintError
from reasoner.knowledge.entities import FACT_PLACEHOLDERS, PLACEHOLDER
from reasoner.vocab import CPT, GR, KB, PROC

from .conftest import BUNDLED_POLICIES, EXAMPLES, FIXTURES, ROOT


def test_policies_and_codes(kb: KnowledgeBase) -> None:
    assert sorted(kb.policies) == sorted(BUNDLED_POLICIES)
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


def test_a_dropped_knowledge_base_is_freed_with_what_it_remembered() -> None:
    # A reload drops the old knowledge base; a cache keyed by it elsewhere (lru_cache) kept it alive.
    again = KnowledgeBase.load(ROOT, checks="none")
    for case in sorted(EXAMPLES.glob("*.json"))[:40]:
        if not case.name.endswith(".expected.json"):
            for policy in again.policies:
                determine(case.read_bytes(), "json", again, policy=policy)
    assert again.memo, "the determinations remembered nothing on the knowledge base"
    gone = weakref.ref(again)
    del again
    gc.collect()
    assert gone() is None


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
        ("bad-placeholder.ttl", "placeholder-criterion: {nope} in its gr:statement names no threshold it uses"),
    ],
)
def test_each_load_check_fails_on_its_fixture(tmp_path: Path, fixture: str, message: str) -> None:
    """The load's own checks, without lint (lint would refuse these files first)."""
    with pytest.raises(KnowledgeBaseError) as err:
        KnowledgeBase.load(_copy_with(tmp_path, fixture), checks="load")
    assert message in str(err.value)


def test_a_knowledge_base_with_lint_findings_is_refused(tmp_path: Path) -> None:
    """A typo in a property name (once served with raw placeholders): refused, with lint's findings by file:line."""
    root = tmp_path / "kb"
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(ROOT / "shapes", root / "shapes")
    path = root / "ontology" / "guidelines" / "sij-clinical-pathway.ttl"
    text = path.read_text()
    typo = "    gr:usesThreshold sijp:lbb-min-count, sijp:lbb-min-relief ;\n    gr:action"
    assert typo in text
    line = text[: text.index(typo)].count("\n") + 1
    path.write_text(text.replace(typo, typo.replace("usesThreshold", "useThreshold")))
    with pytest.raises(KnowledgeBaseLintError) as err:
        KnowledgeBase.load(root)
    assert err.value.code == "kb-lint"
    where = f"ontology/guidelines/sij-clinical-pathway.ttl:{line}:"
    assert any(f.startswith(where) and "undeclared" in f for f in err.value.findings), err.value.findings
    assert any("placeholder" in f and "{lbb-min-count}" in f for f in err.value.findings), err.value.findings


def test_no_placeholder_reaches_a_reader(kb: KnowledgeBase) -> None:
    """Every statement, action and missing-documentation text, and every letter of every example.

    A not-met text keeps ``{codes}`` and ``{facts}`` for each determination to fill (and nothing else).
    """
    from reasoner import determine, render
    from reasoner.knowledge.catalogue import criterion_view, policy_view

    texts = [c.statement for c in kb.criteria.values()]
    texts += [s.action for s in kb.steps.values()] + list(kb.missing_texts.values())
    texts += [json.dumps(policy_view(kb, policy)) for policy in kb.policies]
    texts += [json.dumps(criterion_view(kb, c)) for c in kb.criteria]
    assert len(texts) > 100
    assert [t for t in texts if PLACEHOLDER.search(t)] == []
    assert any("at least 2 have each given at least 50 % relief" in t for t in texts)
    for c in kb.criteria.values():
        assert set(PLACEHOLDER.findall(c.not_met_text)) <= FACT_PLACEHOLDERS, c.id
    letters = 0
    for case in sorted(EXAMPLES.glob("*.json")):
        if case.name.endswith(".expected.json"):
            continue
        for expectation in json.loads((EXAMPLES / f"{case.stem}.expected.json").read_text())["expectations"]:
            d = determine(case.read_bytes(), "json", kb, policy=expectation["policy"])
            for form in ("json", "markdown", "html"):
                letter = render(d, form)  # type: ignore[arg-type]
                assert not PLACEHOLDER.search(letter), (case.name, form, PLACEHOLDER.search(letter))
                letters += 1
    assert letters > 100


def test_missing_knowledge_base(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="no knowledge base under"):
        KnowledgeBase.load(tmp_path)


def test_the_files_read_are_the_turtle_under_ontology_and_shapes_ordered_as_paths(tmp_path: Path) -> None:
    from reasoner.knowledge.files import KnowledgeFiles

    written = ["ontology/a.ttl", "ontology/a/b.ttl", "ontology/a-b.ttl", "shapes/z.ttl", "shapes/meta/m.ttl"]
    for rel in [*written, "ontology/notes.md", "other/x.ttl"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(rel.encode())
    (tmp_path / "shapes/linked").symlink_to(tmp_path / "other")  # not walked
    (tmp_path / "shapes/up").symlink_to(tmp_path)  # nor a loop
    (tmp_path / "shapes/folder.ttl").mkdir()  # listed, and unreadable
    files = KnowledgeFiles.read(tmp_path)
    as_rglob = [p for f in ("ontology", "shapes") for p in sorted((tmp_path / f).rglob("*.ttl"))]
    listed = [rel for rel, _ in files.files] + [u.split(":")[0] for u in files.unreadable]
    assert sorted(listed) == sorted(p.relative_to(tmp_path).as_posix() for p in as_rglob)
    expected = [p.relative_to(tmp_path).as_posix() for p in as_rglob if p.is_file()]
    assert [rel for rel, _ in files.files] == expected
    assert dict(files.files)["ontology/a/b.ttl"] == b"ontology/a/b.ttl"
    assert files.unreadable == ("shapes/folder.ttl: IsADirectoryError",)
