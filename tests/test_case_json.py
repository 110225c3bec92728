"""JSON intake: parse errors with positions, schema errors naming each field, limits, unknown codes;
and PHI (docs/threats.md A6): a canary in a bad value never reaches an error message, a log or the CLI."""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rdflib import XSD, Graph, URIRef
from typer.testing import CliRunner

import reasoner.cli as cli
from reasoner import CaseError, CaseParseError, CaseSchemaError, CaseTooLarge, KnowledgeBase, determine
from reasoner.intake.json_case.load import load_json
from reasoner.intake.json_case.to_rdf import to_graph
from reasoner.intake.turtle import MAX_JSON_DEPTH
from reasoner.vocab import CASE_DATA, CV

CANARY = "CANARY-PHI-123"
CLASS_CANARY = "CanaryPhi123"  # the same idea, shaped like a class name so that it passes the name pattern

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def seed(seed_json: bytes) -> dict[str, Any]:
    return json.loads(seed_json)


def _payload(seed: dict[str, Any], edit: Edit) -> bytes:
    case = copy.deepcopy(seed)
    edit(case)
    return json.dumps(case).encode()


def _error(payload: bytes, fmt: str, kb: KnowledgeBase) -> BaseException:
    try:
        determine(payload, fmt, kb)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - the test inspects whatever escaped
        return exc
    raise AssertionError("the case was accepted")


def _problems(payload: bytes, kb: KnowledgeBase) -> list[tuple[str, str]]:
    with pytest.raises(CaseSchemaError) as info:
        determine(payload, "json", kb)
    assert info.value.problems
    return info.value.problems


def _fields(problems: list[tuple[str, str]]) -> list[str]:
    return [where for where, _what in problems]


def test_seed_json_is_accepted(kb: KnowledgeBase, seed_json: bytes) -> None:
    assert determine(seed_json, "json", kb).outcome.value == "not-medically-necessary"


# --- not JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "line", "column"),
    [
        pytest.param(b'{\n  "id": "x",\n  "request": {,}\n}', 3, 15, id="comma-opening-an-object"),
        pytest.param(b'{\n  "id": "x"\n  "request": {}\n}', 3, 3, id="missing-comma"),
        pytest.param('{"id": "Zoë", "request": nope}'.encode(), 1, 26, id="non-ascii-before-the-error"),
        pytest.param(b"", 1, 1, id="empty"),
        pytest.param(b'{"id": "x"', 1, 11, id="truncated"),
    ],
)
def test_invalid_json_gives_line_and_column(payload: bytes, line: int, column: int, kb: KnowledgeBase) -> None:
    with pytest.raises(CaseParseError) as info:
        determine(payload, "json", kb)
    assert (info.value.line, info.value.column) == (line, column)
    assert info.value.reason


def test_invalid_utf8_json_is_a_parse_error(kb: KnowledgeBase) -> None:
    with pytest.raises(CaseParseError):
        determine(b'{"id": "caf\xc3"}', "json", kb)


def test_huge_json_integer_is_a_parse_error(kb: KnowledgeBase) -> None:
    with pytest.raises(CaseParseError):
        payload = b'{"id": "x", "request": {"codes": [{"code": "64772", "units": ' + b"9" * 100_000 + b"}]}}"
        determine(payload, "json", kb)


# --- schema errors name the field -----------------------------------------------------------------


def test_missing_request_date_is_named(seed: dict[str, Any], kb: KnowledgeBase) -> None:
    problems = _problems(_payload(seed, lambda d: d["request"].pop("date")), kb)
    assert "request.date" in _fields(problems)


def test_missing_request_is_named(seed: dict[str, Any], kb: KnowledgeBase) -> None:
    problems = _problems(_payload(seed, lambda d: d.pop("request")), kb)
    assert "request" in _fields(problems)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        pytest.param(lambda d: d["request"].__setitem__("laterality", "both"), "request.laterality", id="request"),
        pytest.param(
            lambda d: d["priorProcedures"][0].__setitem__("laterality", "both"),
            "priorProcedures.0.laterality",
            id="prior-procedure",
        ),
        pytest.param(
            lambda d: d["examFindings"][2].__setitem__("laterality", "Left"),
            "examFindings.2.laterality",
            id="wrong-case",
        ),
    ],
)
def test_wrong_enum_value_is_named(edit: Edit, field: str, seed: dict[str, Any], kb: KnowledgeBase) -> None:
    assert field in _fields(_problems(_payload(seed, edit), kb))


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        pytest.param(lambda d: d.__setitem__("favouriteColour", "blue"), "favouriteColour", id="top-level"),
        pytest.param(lambda d: d["request"].__setitem__("urgency", "high"), "request.urgency", id="nested"),
        pytest.param(lambda d: d["documents"][3].__setitem__("author", "x"), "documents.3.author", id="in-a-list"),
    ],
)
def test_unknown_field_is_named(edit: Edit, field: str, seed: dict[str, Any], kb: KnowledgeBase) -> None:
    assert field in _fields(_problems(_payload(seed, edit), kb))


@pytest.mark.parametrize("code", ["6477", "647722", "ABCDE", "64772 ", "6477A", ""])
def test_bad_cpt_code_format_is_named(code: str, seed: dict[str, Any], kb: KnowledgeBase) -> None:
    problems = _problems(_payload(seed, lambda d: d["request"]["codes"][0].__setitem__("code", code)), kb)
    assert "request.codes.0.code" in _fields(problems)


def test_bad_prior_procedure_code_is_named(seed: dict[str, Any], kb: KnowledgeBase) -> None:
    problems = _problems(_payload(seed, lambda d: d["priorProcedures"][1].__setitem__("code", "2709")), kb)
    assert "priorProcedures.1.code" in _fields(problems)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        pytest.param(
            lambda d: d["priorProcedures"][2].__setitem__("procedure", "SacralLateralBranchBlok"),
            "priorProcedures.2.procedure",
            id="procedure",
        ),
        pytest.param(
            lambda d: d["conservativeCare"][1].__setitem__("kind", "PhysicalTherapie"),
            "conservativeCare.1.kind",
            id="care-kind",
        ),
        pytest.param(
            lambda d: d["examFindings"][0].__setitem__("test", "FadirTests"), "examFindings.0.test", id="exam-test"
        ),
        pytest.param(
            lambda d: d["imagingFindings"][3].__setitem__("kind", "FacetArthropathie"),
            "imagingFindings.3.kind",
            id="imaging-kind",
        ),
    ],
)
def test_unknown_class_name_is_named(edit: Edit, field: str, seed: dict[str, Any], kb: KnowledgeBase) -> None:
    assert field in _fields(_problems(_payload(seed, edit), kb))


def test_unknown_class_name_also_fails_in_case_json(seed: dict[str, Any], kb: KnowledgeBase) -> None:
    payload = _payload(seed, lambda d: d["priorProcedures"][2].__setitem__("procedure", "SacralLateralBranchBlok"))
    with pytest.raises(CaseSchemaError) as info:
        to_graph(load_json(payload), kb)
    assert _fields(info.value.problems) == ["priorProcedures.2.procedure"]


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        pytest.param(lambda d: d["examFindings"][1].__setitem__("source", "nope"), "examFindings", id="exam"),
        pytest.param(
            lambda d: d["priorProcedures"][4].__setitem__("source", "nope"), "priorProcedures", id="procedure"
        ),
        pytest.param(lambda d: d["painHistory"].__setitem__("source", "nope"), "painHistory", id="pain-history"),
        pytest.param(lambda d: d.__setitem__("documents", []), "priorProcedures", id="no-documents"),
    ],
)
def test_source_not_among_documents(edit: Edit, named: str, seed: dict[str, Any], kb: KnowledgeBase) -> None:
    problems = _problems(_payload(seed, edit), kb)
    text = " ".join(f"{where} {what}" for where, what in problems)
    assert named in text and "source" in text


def test_prior_procedure_needs_code_or_class(seed: dict[str, Any], kb: KnowledgeBase) -> None:
    problems = _problems(_payload(seed, lambda d: d["priorProcedures"][0].pop("code")), kb)
    assert any(where.startswith("priorProcedures.0") for where in _fields(problems))


def test_percent_relief_over_100_is_named(seed: dict[str, Any], kb: KnowledgeBase) -> None:
    problems = _problems(_payload(seed, lambda d: d["priorProcedures"][2].__setitem__("percentRelief", 150)), kb)
    assert "priorProcedures.2.percentRelief" in _fields(problems)


# --- nesting --------------------------------------------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_nesting_depth_40_is_too_large(seed: dict[str, Any], kb: KnowledgeBase) -> None:
    with pytest.raises(CaseTooLarge):
        determine(_payload(seed, lambda d: d.__setitem__("extra", _nested(39))), "json", kb)
    with pytest.raises(CaseTooLarge):
        determine(json.dumps(_nested(40)).encode(), "json", kb)


def test_nesting_at_the_limit_is_not_too_large(seed: dict[str, Any], kb: KnowledgeBase) -> None:
    # the case object is level 1, so MAX_JSON_DEPTH - 1 more levels are allowed (and the extra field is refused)
    problems = _problems(_payload(seed, lambda d: d.__setitem__("extra", _nested(MAX_JSON_DEPTH - 1))), kb)
    assert "extra" in _fields(problems)


def test_nesting_100000_deep_is_too_large(kb: KnowledgeBase) -> None:
    with pytest.raises(CaseTooLarge):
        determine(b"[" * 100_000 + b"]" * 100_000, "json", kb)
    with pytest.raises(CaseTooLarge):
        determine(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "json", kb)


# --- codes the knowledge base does not know -------------------------------------------------------


def test_unknown_requested_code_has_no_applicable_guideline(seed: dict[str, Any], kb: KnowledgeBase) -> None:
    payload = _payload(seed, lambda d: d["request"].__setitem__("codes", [{"code": "99213"}]))
    d = determine(payload, "json", kb)
    assert d.outcome.value == "no-applicable-guideline"
    assert [line.code for line in d.requested] == ["99213"]


# --- PHI: a canary in a bad value never shows (docs/threats.md A6) --------------------------------------

JSON_CANARIES: dict[str, tuple[Edit, str]] = {
    "request-laterality": (lambda d: d["request"].__setitem__("laterality", CANARY), CANARY),
    "request-date": (lambda d: d["request"].__setitem__("date", CANARY), CANARY),
    "document-date": (lambda d: d["documents"][1].__setitem__("date", CANARY), CANARY),
    "procedure-date": (lambda d: d["priorProcedures"][0].__setitem__("date", CANARY), CANARY),
    "code": (lambda d: d["request"]["codes"][0].__setitem__("code", CANARY), CANARY),
    "units": (lambda d: d["request"]["codes"][0].__setitem__("units", CANARY), CANARY),
    "modifier": (lambda d: d["request"]["codes"][0].__setitem__("modifiers", [CANARY]), CANARY),
    "level": (lambda d: d["request"].__setitem__("levels", [CANARY]), CANARY),
    "diagnosis": (lambda d: d["request"].__setitem__("diagnoses", [CANARY]), CANARY),
    "outcome": (lambda d: d["priorProcedures"][0].__setitem__("outcome", CANARY), CANARY),
    "percent-relief": (lambda d: d["priorProcedures"][2].__setitem__("percentRelief", CANARY), CANARY),
    "exam-result": (lambda d: d["examFindings"][0].__setitem__("result", CANARY), CANARY),
    "document-kind": (lambda d: d["documents"][0].__setitem__("kind", CANARY), CANARY),
    "case-id": (lambda d: d.__setitem__("id", CANARY + " Jane Doe"), CANARY),
    "long-title": (lambda d: d["documents"][0].__setitem__("title", CANARY * 20), CANARY),
    "pain-character": (lambda d: d["painHistory"].__setitem__("character", CANARY), CANARY),
    "undeclared-source": (lambda d: d["examFindings"][0].__setitem__("source", CANARY), CANARY),
    "documents-not-a-list": (lambda d: d.__setitem__("documents", CANARY), CANARY),
    "procedure-class": (lambda d: d["priorProcedures"][0].__setitem__("procedure", CLASS_CANARY), CLASS_CANARY),
    "care-kind": (lambda d: d["conservativeCare"][0].__setitem__("kind", CLASS_CANARY), CLASS_CANARY),
    "exam-test": (lambda d: d["examFindings"][0].__setitem__("test", CLASS_CANARY), CLASS_CANARY),
    "imaging-kind": (lambda d: d["imagingFindings"][0].__setitem__("kind", CLASS_CANARY), CLASS_CANARY),
}

MALFORMED_JSON = {
    "bare-word": b'{"id": "CANARY-PHI-123", "request": CANARY-PHI-123}',
    "control-character": b'{"id": "CANARY-PHI-123\x01"}',
    "bad-escape": b'{"id": "\\uZZZZ CANARY-PHI-123"}',
    "unterminated": b'{"id": "CANARY-PHI-123',
    "bad-utf8": b'{"id": "CANARY-PHI-123\xff"}',
    "key-without-value": b'{"CANARY-PHI-123"}',
    "single-quotes": b"{'id': 'CANARY-PHI-123'}",
}

MALFORMED_TURTLE = {
    "junk-after-literal": b'<urn:a> <urn:p> "CANARY-PHI-123" ;; %% .\n',
    "bad-escape": b'<urn:a> <urn:p> "CANARY-PHI-123\\q" .\n',
    "newline-in-string": b'<urn:a> <urn:p> "CANARY-PHI-123\nmore" .\n',
    "unterminated-long-string": b'<urn:a> <urn:p> """CANARY-PHI-123 .\n',
    "unterminated-string-at-eof": b'<urn:a> <urn:p> "CANARY-PHI-123',
    "unterminated-long-string-at-eof": b'@base <urn:x> .\n<a> <b> """CANARY-PHI-123',
    "bad-language-tag": b'<urn:a> <urn:p> "CANARY-PHI-123"@@en .\n',
    "missing-datatype": b'<urn:a> <urn:p> "CANARY-PHI-123"^^ .\n',
    "literal-as-type": b'<urn:a> a "CANARY-PHI-123" .\n',
    "literal-as-subject": b'"CANARY-PHI-123" <urn:p> <urn:o> .\n',
}


def _assert_no_canary(exc: BaseException, canary: str, caplog: pytest.LogCaptureFixture) -> None:
    assert isinstance(exc, CaseError), f"{type(exc).__name__} escaped instead of a CaseError"
    assert canary not in str(exc)
    assert canary not in exc.message
    assert canary not in repr(getattr(exc, "problems", ""))
    assert canary not in str(getattr(exc, "reason", ""))
    assert canary not in caplog.text
    assert all(canary not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("name", sorted(JSON_CANARIES))
def test_json_canary_is_not_echoed(
    name: str, seed: dict[str, Any], kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    edit, canary = JSON_CANARIES[name]
    _assert_no_canary(_error(_payload(seed, edit), "json", kb), canary, caplog)


@pytest.mark.parametrize("name", sorted(MALFORMED_JSON))
def test_malformed_json_canary_is_not_echoed(name: str, kb: KnowledgeBase, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    _assert_no_canary(_error(MALFORMED_JSON[name], "json", kb), CANARY, caplog)


@pytest.mark.parametrize("name", sorted(MALFORMED_TURTLE))
def test_turtle_canary_is_not_echoed(name: str, kb: KnowledgeBase, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    _assert_no_canary(_error(MALFORMED_TURTLE[name], "turtle", kb), CANARY, caplog)


@pytest.fixture(scope="module")
def seed_graph(kb: KnowledgeBase, seed_json: bytes) -> Graph:
    return to_graph(load_json(seed_json), kb)


def _seed_ttl_with(seed_graph: Graph, subject: URIRef, predicate: URIRef, literal: str) -> bytes:
    """The seed case as Turtle, with ``subject predicate`` replaced by a literal written as raw Turtle."""
    copy_ = Graph()
    for triple in seed_graph:
        copy_.add(triple)
    copy_.remove((subject, predicate, None))
    out = copy_.serialize(format="turtle", encoding="utf-8")
    assert isinstance(out, bytes)
    return out + f"\n<{subject}> <{predicate}> {literal} .\n".encode()


def _seed_node(name: str) -> URIRef:
    return URIRef(str(CASE_DATA["sij-seed-neurectomy/"]) + name)


ILL_TYPED_TURTLE: dict[str, tuple[Callable[[Graph], URIRef], URIRef, str]] = {
    "request-date": (lambda g: _seed_node("request"), CV.date, f'"{CANARY}"^^<{XSD.date}>'),
    "units": (lambda g: _seed_node("line-1"), CV.units, f'"{CANARY}"^^<{XSD.integer}>'),
    "percent-relief": (lambda g: _seed_node("procedure-3"), CV.percentRelief, f'"{CANARY}"^^<{XSD.decimal}>'),
    "relief-months": (lambda g: _seed_node("procedure-2"), CV.reliefMonths, f'"{CANARY}"^^<{XSD.double}>'),
    "level": (lambda g: _seed_node("request"), CV.level, f'"{CANARY}"'),
    "long-title": (lambda g: next(iter(g.subjects(CV.title, None))), CV.title, '"' + f"{CANARY} " * 20 + '"'),
}


def _ill_typed(name: str, seed_graph: Graph) -> bytes:
    subject, predicate, literal = ILL_TYPED_TURTLE[name]
    node = subject(seed_graph)
    assert isinstance(node, URIRef) and (node, predicate, None) in seed_graph
    return _seed_ttl_with(seed_graph, node, predicate, literal)


@pytest.mark.parametrize("name", sorted(ILL_TYPED_TURTLE))
def test_ill_typed_turtle_canary_is_not_echoed_or_logged(
    name: str, seed_graph: Graph, kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    payload = _ill_typed(name, seed_graph)
    caplog.set_level(logging.INFO)
    _assert_no_canary(_error(payload, "turtle", kb), CANARY, caplog)


# --- PHI through the command line -----------------------------------------------------------------


@pytest.fixture
def invoke(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Run the CLI in-process, with the session's knowledge base instead of loading it again (2 s)."""
    real_load = KnowledgeBase.load

    def load(root: Path | None = None) -> KnowledgeBase:
        return kb if root is None else real_load(root)

    monkeypatch.setattr(cli, "KnowledgeBase", SimpleNamespace(load=load))
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(cli.app, list(args), input=input)


CLI_CANARIES = {
    "json-laterality.json": lambda seed: _payload(seed, JSON_CANARIES["request-laterality"][0]),
    "json-date.json": lambda seed: _payload(seed, JSON_CANARIES["request-date"][0]),
    "json-malformed.json": lambda seed: MALFORMED_JSON["bare-word"],
    "turtle-malformed.ttl": lambda seed: MALFORMED_TURTLE["junk-after-literal"],
    "turtle-literal-as-type.ttl": lambda seed: MALFORMED_TURTLE["literal-as-type"],
    "turtle-unterminated.ttl": lambda seed: MALFORMED_TURTLE["unterminated-string-at-eof"],
}


@pytest.mark.parametrize("name", sorted(CLI_CANARIES))
def test_cli_does_not_echo_canary(
    name: str, seed: dict[str, Any], invoke: Callable[..., Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    path = tmp_path / name
    path.write_bytes(CLI_CANARIES[name](seed))
    for args, stdin in (((str(path),), None), (("-",), path.read_bytes())):
        res = invoke("determine", *args, input=stdin)
        assert res.exit_code == 2, (res.exit_code, repr(res.exception))
        assert CANARY not in res.stdout + res.stderr
        assert res.stderr.startswith("error: ")
    assert CANARY not in caplog.text


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("json-laterality.json", id="json-laterality"),
        pytest.param("ill-typed-date.ttl", id="turtle-ill-typed-date"),
        pytest.param("unterminated.ttl", id="turtle-unterminated-string"),
    ],
)
def test_real_cli_process_does_not_echo_canary(
    name: str, seed: dict[str, Any], seed_graph: Graph, tmp_path: Path
) -> None:
    """The installed entry point in its own process: what an operator's terminal or a log collector sees."""
    payloads = {
        "json-laterality.json": _payload(seed, JSON_CANARIES["request-laterality"][0]),
        "ill-typed-date.ttl": _ill_typed("request-date", seed_graph),
        "unterminated.ttl": MALFORMED_TURTLE["unterminated-string-at-eof"],
    }
    path = tmp_path / name
    path.write_bytes(payloads[name])
    proc = subprocess.run(
        [sys.executable, "-m", "reasoner.cli", "determine", str(path)],
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "GUIDELINE_REASONER_KB"},
    )
    code, out = proc.returncode, proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    shown = out[-1500:].replace(CANARY, "<canary>")
    assert code == 2, shown
    leaked = CANARY in out
    assert not leaked, shown
    assert "Traceback" not in out, shown
