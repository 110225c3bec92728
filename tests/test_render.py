"""Rendering: the JSON is stable, the Markdown letter has the reviewer's sections."""

from __future__ import annotations

import json

from reasoner import KnowledgeBase, determine, to_json, to_markdown


def test_markdown_letter_sections(kb: KnowledgeBase, seed_json: bytes) -> None:
    text = to_markdown(determine(seed_json, "json", kb))
    assert text.startswith("# Determination: Not medically necessary\n")
    order = [text.index(h) for h in ("## Primary rationale", "## Criteria", "## Recommended pathway", "## References")]
    assert order == sorted(order)
    assert text.count("\n| ") >= 10 + 4  # the criteria table has a row per criterion
    assert "clinician must review" in text


def test_markdown_escapes_table_cells(kb: KnowledgeBase, seed_json: bytes) -> None:
    d = determine(seed_json, "json", kb)
    row = next(line for line in to_markdown(d).splitlines() if line.startswith("| 1 |"))
    assert row.count("|") == 6


def test_json_round_trips(kb: KnowledgeBase, seed_json: bytes) -> None:
    d = determine(seed_json, "json", kb)
    data = json.loads(to_json(d))
    assert data["outcome"] == "not-medically-necessary" and data["clinicianReview"] is True
    assert [c["status"] for c in data["criteria"]][:2] == ["not-met", "not-met"]


def test_pended_letter_lists_missing_information(kb: KnowledgeBase) -> None:
    from .conftest import EXAMPLES

    text = to_markdown(determine((EXAMPLES / "sij-rfa-no-history.json").read_bytes(), "json", kb))
    assert "## Information needed" in text and "physical examination" in text
