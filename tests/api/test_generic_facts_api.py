"""A unit that does not convert, or a value out of range, is a 422 over HTTP naming the field (issue 17).

A real server on a copy of the knowledge base with the generic-facts fixture's observation kinds
(a server of its own: the SPARQL forkserver of the process is shared, and holds one knowledge base).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..server_process import ServerProcess
from ..test_generic_facts import CASE, facts_kb


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root: Path = facts_kb(tmp_path_factory.mktemp("facts-kb"))
    process = ServerProcess("--kb", str(root))
    try:
        process.wait_ready()
        yield process
    finally:
        process.close()


@pytest.mark.parametrize(
    ("field", "value", "where", "words"),
    [
        ("unit", "kg", "unit", "does not convert to kg/m2, the unit of body mass index"),
        ("value", 812, "value", "outside 10 to 150 kg/m2, the range accepted for body mass index"),
    ],
)
def test_a_bad_unit_or_value_is_a_422_naming_the_field(
    server: ServerProcess, field: str, value: object, where: str, words: str
) -> None:
    case = copy.deepcopy(CASE)
    case["observations"][0][field] = value
    status, _headers, body = server.request(
        "POST", "/determinations", json.dumps(case).encode(), {"content-type": "application/json"}
    )
    assert status == 422 and body["code"] == "case-schema"
    [error] = body["errors"]
    assert error["location"] == f"observations.0.{where}" and words in error["problem"]
    assert "812" not in json.dumps(body)


def test_the_same_case_with_good_values_is_decided(server: ServerProcess) -> None:
    status, _headers, body = server.request(
        "POST",
        "/determinations?policy=sij-clinical-pathway",
        json.dumps(CASE).encode(),
        {"content-type": "application/json"},
    )
    assert status == 200 and body["outcome"]
