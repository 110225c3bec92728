"""The prepared fast path and the naive reference evaluation agree on every example case.

The reference runs pyshacl with every shape, the whole knowledge base as ont_graph and RDFS
inference; the fast path runs only the selected shapes over the enriched case. Any optimisation
that changes an answer fails here.

pyshacl is two-valued and reads an unstated value as absent. Where the fast path leaves no
criterion unknown for an unstated value, the determinations are identical; where it does, every
criterion it decides (met or not met) the reference decides the same way.
"""

from __future__ import annotations

import pytest

from reasoner import KnowledgeBase, Status, determine
from reasoner.pipeline import agrees_with_reference, determine_naively

from .test_examples import PAIRS, _fmt, _policy


@pytest.mark.parametrize(("case", "index"), PAIRS, ids=[f"{c.name}-{i}" for c, i in PAIRS])
def test_fast_path_equals_reference(case, index: int, kb: KnowledgeBase) -> None:  # type: ignore[no-untyped-def]
    policy = _policy(case, index)
    fast = determine(case.read_bytes(), _fmt(case), kb, policy=policy)
    reference = determine_naively(case.read_bytes(), _fmt(case), kb, policy=policy)
    assert agrees_with_reference(fast, reference)
    if not any(c.notStated or any(f.notStated for f in c.facts) for c in fast.criteria):
        assert fast.model_dump() == reference.model_dump()  # the same, said twice: a diff on failure


def test_agreement_fails_on_a_decided_criterion_that_differs(kb: KnowledgeBase) -> None:
    case, index = PAIRS[0]
    fast = determine(case.read_bytes(), _fmt(case), kb, policy=_policy(case, index))
    first = fast.criteria[0]
    other = Status.NOT_MET if first.status is not Status.NOT_MET else Status.MET
    flipped = fast.model_copy(update={"criteria": [first.model_copy(update={"status": other}), *fast.criteria[1:]]})
    assert agrees_with_reference(fast, fast)
    assert not agrees_with_reference(fast, flipped)
