"""The determination store's backends for tests: the ``store`` fixture runs a test on each.

``embedded``: an Oxigraph database in the test's temporary folder. (The remote SPARQL store joins
here with its backend.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reasoner.store import DeterminationStore, EmbeddedStore

BACKENDS = ["embedded"]


@contextmanager
def open_store(folder: Path, *, fresh: bool = False, backend: str = "embedded") -> Iterator[DeterminationStore]:
    """A store of ``backend`` with nothing in it, closed after use (``fresh``: a second one beside the first)."""
    store = EmbeddedStore(folder)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DeterminationStore]:
    """An empty store of each backend."""
    with open_store(tmp_path / "data", backend=request.param) as s:
        yield s
