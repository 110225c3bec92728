"""The JSON renderings are pydantic's serialiser: byte for byte what json.dumps of the dumped model wrote.

Stored digests rely on the bytes (reasoner/store).
"""

from __future__ import annotations

import json

import pytest

from reasoner import KnowledgeBase, compare, determine
from reasoner.render.text import render_comparison, to_json

from .conftest import EXAMPLES

CASES = sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json"))


def _old(model: object) -> str:
    return json.dumps(model.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"  # type: ignore[attr-defined]


def test_every_example_renders_the_same_bytes(kb: KnowledgeBase) -> None:
    assert len(CASES) > 40
    for path in CASES:
        d = determine(path.read_bytes(), "json", kb)
        assert to_json(d) == _old(d), path.name


@pytest.mark.parametrize("name", ["sij-seed-neurectomy.json", "sij-rfa-two-blocks.json"])
def test_a_comparison_renders_the_same_bytes(kb: KnowledgeBase, name: str) -> None:
    comparison = compare((EXAMPLES / name).read_bytes(), "json", kb)
    assert len(comparison.determinations) >= 2
    assert render_comparison(comparison, "json") == _old(comparison)


def test_text_beyond_ascii_is_written_as_itself(kb: KnowledgeBase) -> None:
    case = json.loads((EXAMPLES / "sij-seed-neurectomy.json").read_text())
    case["documents"][0]["title"] = "Notes de l'\u00e9quipe \u2603"
    d = determine(json.dumps(case).encode(), "json", kb)
    assert "\u2603" in to_json(d) and to_json(d) == _old(d)
