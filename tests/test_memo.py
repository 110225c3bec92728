"""The memo kept on a knowledge base: remembered per knowledge base, bounded, started again when full."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reasoner._memo import Kept, per_knowledge_base
from reasoner._rdf import pickled
from reasoner._rdf.pickled import Deferred


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


_CALLS: list[str] = []


@per_knowledge_base(maxsize=8)
def _lazy(holder: _Holder, name: str) -> Deferred[list[str]]:
    _CALLS.append(name)
    return Deferred([name])


@per_knowledge_base(maxsize=8)
def _plain(holder: _Holder, name: str) -> list[str]:
    _CALLS.append(name)
    return [name]


def test_an_entry_read_back_from_the_cache_folder_is_its_value_even_when_that_is_a_deferred() -> None:
    _CALLS.clear()
    fresh = _Holder()
    made, listed = _lazy(fresh, "a"), _plain(fresh, "b")
    # What a prepared knowledge base keeps (base.py: prepared_state), pickled and read back.
    kept = {f: {args: Kept(Deferred(v)) for args, v in entries.items()} for f, entries in fresh.memo.items()}
    revived = _Holder(memo=pickled.loads(pickled.dumps(kept)))  # type: ignore[arg-type]
    first, again = _lazy(revived, "a"), _lazy(revived, "a")
    assert type(first) is Deferred and first is again and first.get() == made.get() == ["a"]
    assert _plain(revived, "b") == listed == ["b"] and _plain(revived, "b") is _plain(revived, "b")
    assert _CALLS == ["a", "b"]  # read back, not worked out again
