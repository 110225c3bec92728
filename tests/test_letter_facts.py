"""A letter lists the facts a criterion rests on and counts the rest; the JSON keeps every fact (issue 21)."""

from __future__ import annotations

import re

from bench.generated import case_with_relevant_history
from reasoner import KnowledgeBase, determine
from reasoner.model import Fact
from reasoner.render.letter_facts import LETTER_FACTS, letter_facts
from reasoner.render.text import to_html, to_markdown

from .conftest import EXAMPLES


def _fact(i: int, assessment: str | None) -> Fact:
    return Fact(node=f"urn:x:{i}", text=f"fact {i}", assessment=assessment)


def test_up_to_ten_facts_are_all_listed() -> None:
    facts = [_fact(i, "does not qualify") for i in range(LETTER_FACTS)]
    assert letter_facts(facts) == (facts, None)


def test_beyond_ten_the_facts_it_rests_on_are_listed_and_the_rest_counted() -> None:
    facts = [_fact(i, "does not qualify") for i in range(30)]
    facts[7] = _fact(7, "qualifies")
    facts[20] = _fact(20, "may qualify")
    facts += [_fact(i, "not counted") for i in range(30, 35)]
    shown, rest = letter_facts(facts)
    assert [f.node for f in shown] == ["urn:x:7", "urn:x:20"]
    assert rest == "33 more facts: 28 that do not qualify, 5 not counted (the JSON lists each)."


def test_no_more_than_ten_that_qualify_are_listed() -> None:
    facts = [_fact(i, "qualifies") for i in range(25)] + [_fact(99, "fails this criterion")]
    shown, rest = letter_facts(facts)
    assert len(shown) == LETTER_FACTS and all(f.assessment == "qualifies" for f in shown)
    assert rest == "16 more facts: 15 that qualify, 1 that fail this criterion (the JSON lists each)."


def test_facts_without_assessment_are_counted_as_recorded() -> None:
    shown, rest = letter_facts([_fact(i, None) for i in range(12)])
    assert shown == [] and rest == "12 facts: 12 recorded (the JSON lists each)."


def test_a_long_history_gives_a_short_letter_and_the_whole_json(kb: KnowledgeBase) -> None:
    d = determine(case_with_relevant_history(300), "json", kb, policy="medicare-facet-lcd")
    long = [c for c in d.criteria if len(c.facts) > LETTER_FACTS]
    assert long and max(len(c.facts) for c in long) > 150  # the JSON determination keeps every fact
    letter = to_markdown(d)
    counted = [int(n) for n in re.findall(r"^  - (\d+) (?:more )?facts: ", letter, re.M)]
    assert len(counted) == len(long)
    for c, n in zip(long, counted, strict=True):
        assert n == len(c.facts) - len(letter_facts(c.facts).shown)
    assert len(letter) < 40_000
    assert to_html(d).count('<li class="rest">') == len(long)


def test_no_bundled_example_is_summed_up(kb: KnowledgeBase) -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        if not path.name.endswith(".expected.json"):
            letter = to_markdown(determine(path.read_bytes(), "json", kb))
            assert "(the JSON lists each)" not in letter, path.name
