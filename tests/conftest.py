from __future__ import annotations

from pathlib import Path

import pytest

from reasoner import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "cases"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The bundled knowledge base, loaded once per test session (about 2 s)."""
    return KnowledgeBase.load(ROOT)


@pytest.fixture(scope="session")
def seed_json() -> bytes:
    return (EXAMPLES / "sij-seed-neurectomy.json").read_bytes()
