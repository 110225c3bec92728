"""bench/stages.py: its table covers every stage, and what the stages work on grows with the history."""

from __future__ import annotations

from bench.stages import STAGES, report
from reasoner import KnowledgeBase


def _row(lines: list[str], name: str) -> list[str]:
    found = [line for line in lines if line.startswith(f"| {name} |")]
    assert len(found) == 1, name
    return [cell.strip() for cell in found[0].strip("|").split("|")][1:]


def test_the_table_has_each_stage_and_counts_that_grow_with_the_history(kb: KnowledgeBase) -> None:
    lines = report(kb, [10, 40], runs=1)
    assert lines[0] == "| stage | seed | 10 items | 40 items |"
    for stage in (*STAGES, "JSON answer", "whole determine", "the rest of determine"):
        assert len(_row(lines, f"{stage} ms")) == 3
    read, enriched = (list(map(int, _row(lines, name))) for name in ("triples read", "triples enriched"))
    assert read[2] > read[1] and enriched[2] > enriched[1]  # 30 more items the policy reads
    assert all(e > r for r, e in zip(read, enriched, strict=True))  # enrichment derives facts
    facts = list(map(int, _row(lines, "facts listed")))
    assert facts[2] > facts[1] > 0
    assert lines[-1].startswith("\n40 items at most 10x 10 (issue 21) leaves ")
