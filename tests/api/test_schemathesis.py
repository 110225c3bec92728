"""Property-based fuzzing of every operation in the app's OpenAPI schema: no response is a 5xx.

Schemathesis generates requests from the OpenAPI schema (bounded and derandomized, so runs
repeat); they are sent through the shared TestClient, so the app starts once and nothing leaves
the process. The schema is built at import, from an app that is never started (building it needs
no knowledge base); a test checks it is the one the running app serves. (schemathesis's lazy
``from_fixture`` loader does not work with pytest 9: it sets ``node._nodeid``.)
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api import create_app
from api.settings import Settings

from ..conftest import ROOT

# Bodies the app takes as text: send generated strings as they are.
schemathesis.serializer.alias(["text/turtle", "application/sparql-query"], "text/plain")


OPENAPI = create_app(Settings(kb_dir=ROOT)).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)


def test_the_fuzzed_schema_is_the_served_one(client: TestClient) -> None:
    assert client.get("/openapi.json").json() == OPENAPI
    assert len([op for path in OPENAPI["paths"].values() for op in path]) >= 9


def _send(client: TestClient, case: Any) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif isinstance(kwargs.get("data"), dict):
        body["data"] = kwargs["data"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        body["content"] = data.encode() if isinstance(data, str) else data
    return client.request(
        kwargs["method"],
        kwargs["url"],
        headers={k: str(v) for k, v in (kwargs.get("headers") or {}).items()},
        params=kwargs.get("params"),
        **body,
    )


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_with_a_server_error(case: Any, client: TestClient) -> None:
    response = _send(client, case)
    case.validate_response(response, checks=[not_a_server_error])
