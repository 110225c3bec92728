"""HTTP hygiene (issue 13, item 6): Allow on every 405, no traceback or request data in any log, request ids,
every status an operation answers documented in the OpenAPI document.

CDS Hooks' JSON content type is in tests/api/test_fhir_api.py, UTF-8 and the BOM in test_utf8.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api import create_app
from api.settings import Settings

from ..conftest import LOOPBACK, ROOT

MARKER = "PHI-MARKER-4711"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/determinations", {"POST"}),
        ("PUT", "/sparql", {"GET", "POST"}),
        ("POST", "/policies", {"GET"}),
        ("GET", "/Claim/$submit", {"POST"}),
    ],
)
def test_405_names_the_allowed_methods(client: TestClient, method: str, path: str, allowed: set[str]) -> None:
    r = client.request(method, path)
    assert r.status_code == 405 and r.json()["code"] == "method-not-allowed"
    assert {m.strip() for m in r.headers["allow"].split(",")} >= allowed


@pytest.fixture(scope="module")
def crashing() -> Iterator[TestClient]:
    """An app with one route that fails the way a bug would: an exception whose message quotes the request."""
    app = create_app(Settings(kb_dir=ROOT))

    @app.post("/boom")
    def boom() -> None:
        case = {"patient": MARKER}
        raise RuntimeError(f"cannot handle {case}")

    with TestClient(app, client=LOOPBACK) as c:
        yield c


def test_an_internal_error_logs_its_type_and_request_id_only(
    crashing: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        r = crashing.post("/boom", content=MARKER.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 500
    body = r.json()
    assert body["code"] == "internal" and MARKER not in r.text
    request_id = r.headers["x-request-id"]
    assert body["requestId"] == request_id
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert [rec.getMessage() for rec in errors] == [f"internal error: RuntimeError (request {request_id})"]
    for rec in caplog.records:
        assert rec.exc_info is None and rec.exc_text is None, rec.getMessage()
        assert MARKER not in rec.getMessage()
    access = [rec.getMessage() for rec in caplog.records if rec.name == "guideline_reasoner.access"]
    assert access == [f"POST /boom 500 {access[0].split()[3]} {request_id}"]


def test_every_response_has_a_request_id_and_errors_name_the_knowledge_base(client: TestClient) -> None:
    ids = {client.get("/health").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5
    r = client.get("/policies/nope")
    assert r.status_code == 404 and r.headers["x-knowledge-base"].startswith("sha256:")


def test_every_status_an_operation_answers_is_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    def documented(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    assert {"200", "400", "406", "408", "413", "415", "422"} <= documented("/determinations", "post")
    assert {"200", "400", "408", "413", "415", "422"} <= documented("/Claim/$submit", "post")
    assert {"200", "400", "404", "408", "412", "413", "415", "422"} <= documented("/cds-services/{service_id}", "post")
    assert {"200", "400", "406", "408", "503"} <= documented("/sparql", "get")
    assert {"200", "400", "406", "408", "413", "415", "503"} <= documented("/sparql", "post")
    assert {"200", "404"} <= documented("/policies/{policy_id}", "get")
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert "408" in operation["responses"], (method, path)


def test_the_access_log_names_the_route_never_the_path(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    """A path can carry an identifier, or a line break that would forge a log line: the log has the route."""
    with caplog.at_level(logging.INFO, logger="guideline_reasoner.access"):
        client.get(f"/policies/{MARKER}%0AGET%20forged%20200")
        client.get(f"/cases/{MARKER}")
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "guideline_reasoner.access"]
    assert [line.split()[:3] for line in lines] == [["GET", "/policies/{policy_id}", "404"], ["GET", "-", "404"]]
    assert not any(MARKER in line or "forged" in line or "\n" in line for line in lines)
