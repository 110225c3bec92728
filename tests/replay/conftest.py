from __future__ import annotations

from pathlib import Path

import pytest

from bench.replay import edited_knowledge_base


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled knowledge base with one threshold edited: a facet block counts from 60 % relief, not 80 %."""
    return edited_knowledge_base(tmp_path_factory.mktemp("kb60"))
