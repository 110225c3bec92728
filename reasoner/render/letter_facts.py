"""Which of a criterion's facts a letter lists, and how it sums up the rest.

A criterion over a long history lists hundreds of facts; a reviewer reads the ones it rests on.
Up to :data:`LETTER_FACTS` facts, a letter lists them all (as every bundled example does). Beyond
that it lists the first :data:`LETTER_FACTS` of those the criterion rests on (that qualify, may
qualify or fail it) and counts the others by assessment. The JSON determination keeps every fact.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from reasoner.model import Fact

#: The most facts a letter lists under one criterion.
LETTER_FACTS = 10

_RESTS_ON = ("qualifies", "may qualify", "fails this criterion")
# How the summary counts each assessment, in this order: "12 that qualify".
_COUNTED = {
    "qualifies": "that qualify",
    "may qualify": "that may qualify",
    "fails this criterion": "that fail this criterion",
    "does not qualify": "that do not qualify",
    "not counted": "not counted",
    None: "recorded",
}


class LetterFacts(NamedTuple):
    """The facts a letter lists, and the sentence that counts the rest (None when it lists them all)."""

    shown: list[Fact]
    rest: str | None


def letter_facts(facts: list[Fact], most: int = LETTER_FACTS) -> LetterFacts:
    """The facts to list under a criterion, and the count of the others."""
    if len(facts) <= most:
        return LetterFacts(facts, None)
    shown = [f for f in facts if f.assessment in _RESTS_ON][:most]
    listed = {id(f) for f in shown}
    left = Counter(f.assessment for f in facts if id(f) not in listed)
    parts = [f"{left[a]} {words}" for a, words in _COUNTED.items() if left[a]]
    parts += [f"{n} {a}" for a, n in sorted(left.items(), key=str) if a not in _COUNTED]  # none today
    more = "more " if shown else ""
    return LetterFacts(shown, f"{sum(left.values())} {more}facts: " + ", ".join(parts) + " (the JSON lists each).")
