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
from reasoner.pipeline import determine_naively

from .test_examples import PAIRS, _fmt, _policy


@pytest.mark.parametrize(("case", "index"), PAIRS, ids=[f"{c.name}-{i}" for c, i in PAIRS])
def test_fast_path_equals_reference(case, index: int, kb: KnowledgeBase) -> None:  # type: ignore[no-untyped-def]
    policy = _policy(case, index)
    fast = determine(case.read_bytes(), _fmt(case), kb, policy=policy)
    reference = determine_naively(case.read_bytes(), _fmt(case), kb, policy=policy)
    if not any(c.notStated or any(f.notStated for f in c.facts) for c in fast.criteria):
        assert fast.model_dump() == reference.model_dump()
        return
    decided = {c.id: c.status for c in fast.criteria if c.status is not Status.UNKNOWN}
    assert decided == {c.id: c.status for c in reference.criteria if c.id in decided}
    assert {c.id for c in fast.criteria} == {c.id for c in reference.criteria}
