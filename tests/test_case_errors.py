"""Every validation error of the JSON case form is in plain words: the field, what is wrong, and a valid value.

The words are made once, where pydantic's errors are turned into the case's (load_json),
so the command line and the HTTP problem bodies say the same. No message speaks pydantic's language
(a regular expression, "Input should be", "invalid character in year") or repeats the submitted
value. A FHIR Bundle or a JSON-LD document sent as the JSON case form is named for what it is, with
where to send it instead.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from reasoner import CaseSchemaError
from reasoner.intake.json_case.load import FHIR_HINT, JSONLD_HINT, load_json

from .conftest import EXAMPLES, ROOT

SEED: dict[str, Any] = json.loads((EXAMPLES / "sij-seed-neurectomy.json").read_text())
PAS = ROOT / "examples" / "fhir" / "sij-seed-neurectomy.pas.json"
MARKER = "Zq9"  # in each submitted bad value where it can be: it must never come back
JARGON = ("should match pattern", "Input should", "String should", "invalid character", "^(", ")$", "Value error")

Edit = Callable[[dict[str, Any]], None]


def _set(*path: str | int, value: Any) -> Edit:
    def edit(case: dict[str, Any]) -> None:
        node: Any = case
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return edit


def _drop(*path: str | int) -> Edit:
    def edit(case: dict[str, Any]) -> None:
        node: Any = case
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return edit


# (edit, field, the words, the valid value it offers)
ERRORS: dict[str, tuple[Edit, str, str, str]] = {
    "procedure code": (
        _set("request", "codes", 0, "code", value=f"6{MARKER}"),
        "request.codes.0.code",
        "must be a CPT or HCPCS code",
        'for example "64772"',
    ),
    "date": (
        _set("request", "date", value=f"17/11/2025{MARKER}"),
        "request.date",
        "must be a date written YYYY-MM-DD",
        'for example "2025-11-17"',
    ),
    "impossible date": (
        _set("request", "date", value="2025-13-45"),
        "request.date",
        "must be a date written YYYY-MM-DD",
        'for example "2025-11-17"',
    ),
    "diagnosis code": (
        _set("request", "diagnoses", value=[f"m{MARKER}"]),
        "request.diagnoses.0",
        "must be an ICD-10-CM code",
        'for example "M47.816"',
    ),
    "level": (
        _set("priorProcedures", 0, "levels", value=[f"X{MARKER}"]),
        "priorProcedures.0.levels.0",
        "must be a spinal level",
        'for example "S1"',
    ),
    "document id": (
        _set("documents", 0, "id", value=f"has space {MARKER}"),
        "documents.0.id",
        "must be an id of 1-64 letters",
        'for example "lbb-note-2"',
    ),
    "modifier": (
        _set("request", "codes", 0, "modifiers", value=[MARKER]),
        "request.codes.0.modifiers.0",
        "must be a two-character modifier",
        'for example "50"',
    ),
    "class name": (
        _set("priorProcedures", 0, "procedure", value=f"lower {MARKER}"),
        "priorProcedures.0.procedure",
        "must be a class name of the knowledge base",
        'for example "SacralLateralBranchBlock"',
    ),
    "allowed values": (
        _set("request", "laterality", value=f"both{MARKER}"),
        "request.laterality",
        "must be one of",
        '"left", "right", "bilateral"',
    ),
    "missing field": (
        _drop("request", "codes"),
        "request.codes",
        "is missing (it is required)",
        "for example [",
    ),
    "missing object": (
        _drop("request"),
        "request",
        "is missing (it is required)",
        'for example {"date": "2025-11-17", "codes": [{"code": "64772"}]}',
    ),
    "unknown field": (
        _set("request", f"urgency{MARKER}", value=1),
        f"request.urgency{MARKER}",  # the field's own name is where it is (it is not a value)
        "is not a field of the case form here",
        "the fields here are: date, codes, diagnoses",
    ),
    "above the maximum": (
        _set("priorProcedures", 0, "percentRelief", value=140),
        "priorProcedures.0.percentRelief",
        "must be at most 100",
        "for example 80",
    ),
    "below the minimum": (
        _set("request", "codes", 0, "units", value=0),
        "request.codes.0.units",
        "must be at least 1",
        "for example 1",
    ),
    "not a number": (
        _set("priorProcedures", 0, "percentRelief", value=f"{MARKER}"),
        "priorProcedures.0.percentRelief",
        "must be a number",
        "for example 80",
    ),
    "not a whole number": (
        _set("request", "codes", 0, "units", value=1.5),
        "request.codes.0.units",
        "must be a whole number",
        "for example 1",
    ),
    "not a boolean": (
        _set("request", "contrast", value=f"maybe{MARKER}"),
        "request.contrast",
        "must be true or false",
        "for example true",
    ),
    "not a list": (
        _set("documents", value={}),
        "documents",
        "must be a list",
        'for example [{"id": "lbb-note-2", "kind": "procedure-note"}]',
    ),
    "empty list": (
        _set("request", "codes", value=[]),
        "request.codes",
        "must have at least 1 item",
        'for example [{"code": "64772"}]',
    ),
    "neither code nor class": (
        _drop("priorProcedures", 0, "code"),
        "priorProcedures.0",
        "give a code, a procedure class or both",
        'for example "code": "27096"',
    ),
    "two diagnostic responses": (
        _set("priorProcedures", 0, "outcome", value=["positive", "negative"]),
        "priorProcedures.0.outcome",
        "at most one diagnostic response",
        'for example ["positive", "effective"]',
    ),
    "contrast without guidance": (
        lambda c: c["request"].update(imageGuidance="none", contrast=True),
        "request.contrast",
        "contrast is used only under image guidance",
        'for example "imageGuidance": "fluoroscopy"',
    ),
    "undeclared source": (
        _set("examFindings", 0, "source", value=f"nope{MARKER}"),
        "case",
        "examFindings.0.source names a document that is not in documents",
        'for example {"id": "lbb-note-2", "kind": "procedure-note"}',
    ),
}


def _payload(edit: Edit) -> bytes:
    case = copy.deepcopy(SEED)
    edit(case)
    return json.dumps(case).encode()


def _problems(payload: bytes) -> list[tuple[str, str]]:
    with pytest.raises(CaseSchemaError) as info:
        load_json(payload)
    return info.value.problems


def _assert_plain(text: str) -> None:
    for jargon in JARGON:
        assert jargon not in text, (jargon, text)
    assert MARKER.lower() not in text.lower().replace(f"urgency{MARKER}".lower(), ""), text


@pytest.mark.parametrize("name", list(ERRORS))
def test_each_error_names_the_field_in_words_with_a_valid_value(name: str) -> None:
    edit, field, words, example = ERRORS[name]
    problems = _problems(_payload(edit))
    assert len(problems) == 1, problems
    where, what = problems[0]
    assert where == field
    assert what.startswith(words) or words in what, what
    assert example in what, what
    _assert_plain(what)


def test_the_offered_examples_are_valid() -> None:
    """Putting each offered value in place of the bad one makes the case valid again."""
    fixes: dict[str, Edit] = {
        "procedure code": _set("request", "codes", 0, "code", value="64772"),
        "date": _set("request", "date", value="2025-11-17"),
        "diagnosis code": _set("request", "diagnoses", value=["M47.816"]),
        "level": _set("priorProcedures", 0, "levels", value=["S1"]),
        "modifier": _set("request", "codes", 0, "modifiers", value=["50"]),
        "class name": _set("priorProcedures", 0, "procedure", value="SacralLateralBranchBlock"),
    }
    for name, fix in fixes.items():
        edit = ERRORS[name][0]
        load_json(_payload(lambda c, edit=edit, fix=fix: (edit(c), fix(c))))


def test_a_fhir_bundle_is_named_with_where_to_send_it() -> None:
    problems = _problems(PAS.read_bytes())
    assert problems == [("resourceType", FHIR_HINT.format(type="Bundle"))]
    assert "application/fhir+json" in problems[0][1] and "/Claim/$submit" in problems[0][1]


@pytest.mark.parametrize("doc", [[{"@id": "urn:x"}], {"@context": {}, "@graph": []}], ids=["expanded", "@graph"])
def test_jsonld_is_named_with_where_to_send_it(doc: Any) -> None:
    assert _problems(json.dumps(doc).encode()) == [("case", JSONLD_HINT)]


def test_the_command_line_prints_the_same_words(tmp_path: Path) -> None:
    edit, field, words, example = ERRORS["date"]
    path = tmp_path / "bad-date.json"
    path.write_bytes(_payload(edit))
    result = CliRunner().invoke(app, ["determine", str(path)])
    assert result.exit_code == 2
    assert f"{path}: {field}: {words}; {example}" in result.stderr
    _assert_plain(result.stderr)


def test_the_command_line_reads_a_fhir_bundle_on_standard_input() -> None:
    """Given as .json or on standard input, a Bundle is recognised as FHIR (not reported as a bad case)."""
    result = CliRunner().invoke(app, ["determine", "-", "--policy", "sij-clinical-pathway"], input=PAS.read_text())
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["outcome"] == "not-medically-necessary"
