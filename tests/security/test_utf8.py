"""One rule for the encoding of every format: UTF-8, a leading byte order mark ignored.

Turtle, JSON, JSON-LD, a PAS request Bundle (on both endpoints) and a CDS Hooks request: with a
UTF-8 BOM each gets the answer it gets without one; in UTF-16 or UTF-32 (with or without BOM) or
with an invalid byte, each is a 400 "not valid UTF-8" with the line and column of the first
offending byte (FHIR endpoints: an OperationOutcome with issue code ``structure``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import reasoner.cli as cli
from reasoner import CaseParseError, KnowledgeBase
from reasoner.intake.turtle import decode_utf8

from .cases import (
    FHIR,
    JSON,
    JSONLD,
    ORDER_SIGN,
    SEED_JSON,
    SEED_ORDER_SIGN,
    SEED_PAS,
    SEED_TTL,
    TURTLE,
    outcome,
    post,
    problem,
    seed_jsonld,
)

BOM = b"\xef\xbb\xbf"

# format -> (the case as text, content type, path, whether errors are OperationOutcomes)
FORMATS: dict[str, tuple[str, dict[str, str], str, bool]] = {
    "turtle": (SEED_TTL, TURTLE, "/determinations", False),
    "json": (SEED_JSON, JSON, "/determinations", False),
    "json-ld": (json.dumps(seed_jsonld(), indent=2), JSONLD, "/determinations", False),
    "pas-submit": (SEED_PAS, FHIR, "/Claim/$submit?policy=sij-clinical-pathway", True),
    "pas-determinations": (SEED_PAS, FHIR, "/determinations?policy=sij-clinical-pathway", True),
    "cds-hooks": (SEED_ORDER_SIGN, JSON, ORDER_SIGN, True),
}

# encoding -> (the bytes of a text, the line and column of the first offending byte)
ENCODINGS: dict[str, tuple[Callable[[str], bytes], tuple[int, int]]] = {
    "utf-16-with-bom": (lambda t: t.encode("utf-16"), (1, 1)),
    "utf-16-le": (lambda t: t.encode("utf-16-le"), (1, 2)),
    "utf-16-be": (lambda t: t.encode("utf-16-be"), (1, 1)),
    "utf-32-with-bom": (lambda t: t.encode("utf-32"), (1, 1)),
    "utf-32-le": (lambda t: t.encode("utf-32-le"), (1, 2)),
    "invalid-byte-on-line-3": (lambda t: _on_line_3(t.encode(), b"\xff"), (3, 3)),
    "truncated-sequence-on-line-3": (lambda t: _on_line_3(t.encode(), b"\xc3"), (3, 3)),
    "bom-then-utf-16": (lambda t: BOM + t.encode("utf-16-le"), (1, 2)),
}


def _on_line_3(data: bytes, bad: bytes) -> bytes:
    """The case with a new third line: two spaces, then ``bad``."""
    lines = data.split(b"\n")
    assert len(lines) > 3
    return b"\n".join([*lines[:2], b"  " + bad, *lines[2:]])


def _send(client: TestClient, fmt: str, body: bytes) -> httpx2.Response:
    _, headers, path, _ = FORMATS[fmt]
    return post(client, body, headers, path)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_leading_bom_is_ignored(client: TestClient, fmt: str) -> None:
    text = FORMATS[fmt][0]
    plain, with_bom = _send(client, fmt, text.encode()), _send(client, fmt, BOM + text.encode())
    assert plain.status_code == 200, plain.text[:300]
    assert with_bom.status_code == 200, with_bom.text[:300]
    if fmt == "pas-submit":  # the response Bundle is stamped with the time of the answer
        plain_json, bom_json = plain.json(), with_bom.json()
        for answer in (plain_json, bom_json):
            answer.pop("timestamp", None)
            answer["entry"][0]["resource"].pop("created", None)
        assert plain_json == bom_json
    else:
        assert plain.json() == with_bom.json()


@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_anything_but_utf8_is_a_400(client: TestClient, fmt: str, encoding: str) -> None:
    text, _, _, fhir = FORMATS[fmt]
    encode, (line, column) = ENCODINGS[encoding]
    r = _send(client, fmt, encode(text))
    if fhir:
        issue = outcome(r, 400)
        assert issue["code"] == "structure"
        assert issue["diagnostics"] == f"line {line}, column {column}: the case is not valid UTF-8"
    else:
        body = problem(r, 400, "case-parse")
        assert (body["detail"], body["line"], body["column"]) == ("the case is not valid UTF-8", line, column)


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        (b"abc\ndef\n\xff", (3, 1)),
        (b"caf\xc3\xa9 \xff", (1, 6)),  # columns count characters, not bytes
        (BOM + b"ab\xff", (1, 3)),  # the BOM is not a column
        (b"a\x00b", (1, 2)),  # a NUL: UTF-16 or UTF-32 text, or binary
        (BOM + BOM + b"x", None),  # only one BOM is ignored: the second is text (and then bad Turtle or JSON)
        (b"x" + BOM, None),  # a BOM elsewhere is a character like any other
    ],
)
def test_decode_utf8(payload: bytes, where: tuple[int, int] | None) -> None:
    if where is None:
        assert decode_utf8(payload).count("\ufeff") == 1
        return
    with pytest.raises(CaseParseError) as info:
        decode_utf8(payload)
    assert (info.value.line, info.value.column) == where


def test_the_cli_reads_a_json_case_with_a_bom_from_stdin(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's format sniffing looks past the BOM (it would take the case for Turtle otherwise)."""

    def load(root: Path | None = None) -> KnowledgeBase:
        return kb

    monkeypatch.setattr(cli, "KnowledgeBase", SimpleNamespace(load=load))
    result: Any = CliRunner().invoke(cli.app, ["determine", "-"], input=BOM + SEED_JSON.encode())
    assert result.exit_code == 0, result.output[-500:]
    assert json.loads(result.stdout)["outcome"] == "not-medically-necessary"
