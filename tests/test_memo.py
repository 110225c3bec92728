"""The memo kept on a knowledge base: remembered per knowledge base, bounded, started again when full."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reasoner._memo import per_knowledge_base


@dataclass(eq=False)
class _Holder:
    memo: dict[object, dict[Any, Any]] = field(default_factory=dict)


def test_remembered_per_holder_and_bounded() -> None:
    calls: list[tuple[int, int]] = []

    @per_knowledge_base(maxsize=2)
    def double(holder: _Holder, n: int) -> int:
        calls.append((id(holder), n))
        return 2 * n

    a, b = _Holder(), _Holder()
    assert [double(a, 1), double(a, 1), double(b, 1)] == [2, 2, 2]
    assert len(calls) == 2  # once per holder
    double(a, 2)
    double(a, 3)  # a third entry: the memo starts again instead of growing
    assert len(a.memo[double]) == 1
    assert double(a, 1) == 2 and len(calls) == 5
    assert double(a, n=4) == 8 and (id(a), 4) in calls  # a keyword call is computed, not remembered
