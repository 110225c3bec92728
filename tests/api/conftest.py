from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from fastapi.testclient import TestClient

from api import create_app
from api.settings import Settings

from ..conftest import LOOPBACK, ROOT


@pytest.fixture(scope="session")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for the API tests (start-up loads the knowledge base twice: here and in the SPARQL forkserver).

    Its SPARQL deadline is one no test query comes near even on a machine whose cores are busy
    with other work (it includes the wait for a slot); the deadline tests build apps of their own.
    """
    settings = Settings(
        kb_dir=ROOT,
        sparql_timeout_s=60.0,
        sparql_max_rows=100,
        sparql_concurrency=4,
        # The analyst's queries run over a snapshot of everything this session's tests kept: room
        # for it, so that a full run under load does not end a query at the default 1 GiB.
        sparql_memory_mb=2048,
        store=True,
        data_dir=tmp_path_factory.mktemp("client-store"),
    )
    with TestClient(create_app(settings), client=LOOPBACK) as c:
        yield c


JSON = {"content-type": "application/json"}
TURTLE = {"content-type": "text/turtle"}


@pytest.fixture
def never_5xx(client: TestClient) -> Iterator[None]:
    """Fails the test if any answer the shared client gave during it was a 5xx."""
    seen: list[int] = []

    def hook(response: httpx2.Response) -> None:
        seen.append(response.status_code)

    client.event_hooks["response"].append(hook)
    try:
        yield
    finally:
        client.event_hooks["response"].remove(hook)
    assert all(s < 500 for s in seen), seen
