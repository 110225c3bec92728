"""Errors in one module, each saying how the HTTP API answers it."""

from __future__ import annotations

import importlib
import json
import pkgutil

import pytest

import api
import reasoner
from api.problems import _from_reasoner
from reasoner.errors import (
    CaseParseError,
    CaseSchemaError,
    KnowledgeBaseLintError,
    QueryRejected,
    ReasonerError,
    UnknownPolicyError,
)


def _every_subclass(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_every_subclass(sub)]
    return out


def _import_all() -> None:
    for package in (reasoner, api):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not info.name.endswith("._preload"):  # a forkserver preload: imports the rest itself
                importlib.import_module(info.name)


def test_every_reasoner_error_is_defined_in_the_errors_module_with_a_status_and_title() -> None:
    _import_all()
    errors = _every_subclass(ReasonerError)
    assert len(errors) >= 15
    for cls in errors:
        assert cls.__module__ == "reasoner.errors", f"{cls.__qualname__} is defined in {cls.__module__}"
        assert 400 <= cls.status < 600 and cls.title and cls.code, cls


@pytest.mark.parametrize(
    ("error", "status", "members"),
    [
        (CaseParseError("expected '.'", line=3, column=7), 400, {"line": 3, "column": 7, "detail": "expected '.'"}),
        (
            CaseSchemaError([("request.date", "is required")]),
            422,
            {"errors": [{"location": "request.date", "problem": "is required"}]},
        ),
        (UnknownPolicyError("x", ["a", "b"]), 422, {"validPolicies": ["a", "b"]}),
        (QueryRejected("bad", 1, 2), 400, {"line": 1, "column": 2}),
        (KnowledgeBaseLintError(["f.ttl:1:1 bad"]), 503, {}),  # as its parent, KnowledgeBaseError
    ],
)
def test_the_api_answers_each_error_by_its_class(error: ReasonerError, status: int, members: dict[str, object]) -> None:
    response = _from_reasoner(error)
    body = json.loads(bytes(response.body))
    assert response.status_code == status and body["status"] == status
    assert body["code"] == error.code and body["title"] == type(error).title and body["detail"] == error.detail
    assert {k: body[k] for k in members} == members
