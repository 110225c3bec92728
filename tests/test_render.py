"""Rendering: the JSON is stable, the letters have the reviewer's sections, the request date and linked references."""

from __future__ import annotations

import json

import pytest

from reasoner import KnowledgeBase, determine, to_json, to_markdown
from reasoner.render.links import identifier_url
from reasoner.render.text import to_html


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


def test_the_letter_gives_the_request_date(kb: KnowledgeBase, seed_json: bytes) -> None:
    d = determine(seed_json, "json", kb)
    assert d.requestDate == json.loads(seed_json)["request"]["date"] == "2025-11-17"
    assert "<tr><th>Request date</th><td>2025-11-17</td></tr>" in to_html(d)
    assert "| Request date | 2025-11-17 |" in to_markdown(d)


def test_references_link_to_the_list_and_to_pubmed_and_doi(kb: KnowledgeBase, seed_json: bytes) -> None:
    d = determine(seed_json, "json", kb)
    page = to_html(d)
    cited = {r for c in d.criteria for r in c.references}
    assert cited and all(f'<a href="#{r}">{r}</a>' in page and f'<li id="{r}">' in page for r in cited)
    assert '<a href="https://pubmed.ncbi.nlm.nih.gov/20667026/">PMID:20667026</a>' in page
    assert '<a href="https://doi.org/10.1111/j.1533-2500.2010.00394.x">doi:10.1111/j.1533-2500.2010.00394.x</a>' in page
    assert "CPB number unconfirmed." in page and "MP-555" in page  # other identifiers stay text
    assert "[PMID:20667026](https://pubmed.ncbi.nlm.nih.gov/20667026/)" in to_markdown(d)


@pytest.mark.parametrize(
    ("identifier", "url"),
    [
        ("PMID:20667026", "https://pubmed.ncbi.nlm.nih.gov/20667026/"),
        ("pmid 123", "https://pubmed.ncbi.nlm.nih.gov/123/"),
        ("doi:10.1097/ALN.0b013e3181c43103", "https://doi.org/10.1097/ALN.0b013e3181c43103"),
        ("https://doi.org/10.1111/x", "https://doi.org/10.1111/x"),
        ('doi:10.1234/a"><script>', "https://doi.org/10.1234/a%22%3E%3Cscript%3E"),
        ("Man Ther 2005;10(3):207-218", None),
        ("PMID:", None),
        ("doi:11.1/x", None),
    ],
)
def test_identifier_urls(identifier: str, url: str | None) -> None:
    assert identifier_url(identifier) == url
