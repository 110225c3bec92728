"""A criterion met with no case fact behind it says why (issue 19, point 4): the knowledge base's
gr:metText, or, where the knowledge base says nothing, a sentence that says nothing recorded goes against it."""

from __future__ import annotations

import shutil
from pathlib import Path

from reasoner import KnowledgeBase, Status, determine

from .conftest import EXAMPLES, ROOT


def _met_without_facts(kb: KnowledgeBase) -> dict[str, tuple[str, str]]:
    """criterion id -> (an example where it is met with no fact, its finding), over every bundled example."""
    found: dict[str, tuple[str, str]] = {}
    for path in sorted(EXAMPLES.glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        for c in determine(path.read_bytes(), "json", kb).criteria:
            if c.status is Status.MET and not c.facts:
                found.setdefault(c.id, (path.stem, c.finding))
    return found


def test_every_criterion_met_for_lack_of_a_record_says_why(kb: KnowledgeBase) -> None:
    found = _met_without_facts(kb)
    assert len(found) >= 15  # exclusions, frequency limits, repeats, intervals across four policies
    texts = {c.id: c.met_text for c in kb.criteria.values()}
    for criterion, (case, finding) in found.items():
        assert texts[criterion], f"{criterion} is met with no fact in {case} and its Turtle has no gr:metText"
        assert finding == texts[criterion] and finding.startswith("Met: "), (criterion, case, finding)


def test_without_a_met_text_the_finding_still_says_why(tmp_path: Path) -> None:
    """The knowledge base with one criterion's gr:metText removed: the generic sentence, not a bare "Met."."""
    shutil.copytree(ROOT / "ontology", tmp_path / "ontology")
    shutil.copytree(ROOT / "shapes", tmp_path / "shapes")
    source = tmp_path / "ontology/guidelines/medicare-facet-lcd.ttl"
    lines = source.read_text().splitlines(keepends=True)
    block = lines.index("mfacet:block-interval\n")
    own = next(i for i in range(block, len(lines)) if lines[i].startswith("    gr:metText "))
    assert lines[block:own].count(".\n") == 0  # still the same criterion's block
    source.write_text("".join(lines[:own] + lines[own + 1 :]))
    kb = KnowledgeBase.load(tmp_path)
    d = determine((EXAMPLES / "facet-block-three-levels.json").read_bytes(), "json", kb)
    result = next(c for c in d.criteria if c.id == "medicare-facet-lcd/block-interval")
    assert result.status is Status.MET and not result.facts
    assert result.finding == "Met: nothing the case records goes against it."
