"""Reading a JSON case: decoding and validation, and each validation error in plain words.

pydantic's messages speak of its types and quote regular expressions; a case's author reads these
instead: the field, what is wrong in words, and a valid value taken from the schema (its examples,
its allowed values, or a value of its type). Submitted values are never quoted (cases are PHI).
A FHIR resource or JSON-LD sent as this form is refused with what to send instead.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from reasoner.errors import CaseSchemaError
from reasoner.intake.json_case.schema import PATTERN_WORDS, CaseIn
from reasoner.intake.limits import untrusted_input
from reasoner.intake.turtle import check_size, decode_json, decode_utf8


def load_json(payload: bytes) -> CaseIn:
    """Decode and validate a JSON case.

    Raises:
        CaseParseError: not UTF-8, or not JSON (with line and column).
        CaseTooLarge: over the byte or nesting limit.
        CaseSchemaError: naming each field that is missing or wrong.
    """
    check_size(payload)
    with untrusted_input():
        text = decode_utf8(payload)
        try:
            # pydantic's own JSON parser: a fifth of the time of json.loads, the depth walk and
            # model_validate. A valid case is a few levels deep whatever its size.
            return CaseIn.model_validate_json(text)
        except ValidationError:
            pass
        # Any failure is read again the careful way, for its errors: line and column, the
        # nesting limit, and the same messages whichever parser failed first.
        data = decode_json(payload)
        _check_form(data)
        try:
            return CaseIn.model_validate(data)
        except ValidationError as exc:
            raise CaseSchemaError(plain_problems(exc)) from None


FHIR_HINT = (
    "this is a FHIR {type}, not the JSON case form: send it as application/fhir+json to POST /determinations "
    "or POST /Claim/$submit (on the command line: --input-format fhir)"
)
JSONLD_HINT = (
    "this is JSON-LD, not the JSON case form: send it as application/ld+json "
    "(on the command line: a .jsonld file, or --input-format json-ld)"
)
_DATE_EXAMPLE = "2025-11-17"
_KINDS = {
    "string_type": "must be text (a JSON string)",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "decimal_type": "must be a number",
    "decimal_parsing": "must be a number",
    "decimal_not_finite": "must be a finite number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "list_type": "must be a list (a JSON array)",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "date_type": "must be a date written YYYY-MM-DD",
    "date_parsing": "must be a date written YYYY-MM-DD",
    "date_from_datetime_parsing": "must be a date written YYYY-MM-DD",
    "date_from_datetime_inexact": "must be a date written YYYY-MM-DD, without a time",
    "missing": "is missing (it is required)",
}


def _check_form(data: object) -> None:
    """Refuse, with what to do instead, a FHIR resource or JSON-LD sent as the JSON case form."""
    if isinstance(data, dict) and isinstance(data.get("resourceType"), str):
        kind = data["resourceType"] if data["resourceType"].isalpha() else "resource"
        raise CaseSchemaError([("resourceType", FHIR_HINT.format(type=kind[:40]))])
    if isinstance(data, list) or (isinstance(data, dict) and ("@context" in data or "@graph" in data)):
        raise CaseSchemaError([("case", JSONLD_HINT)])


def plain_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """Each error of a case's validation as (field path, plain words with a valid value)."""
    problems: list[tuple[str, str]] = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = [part for part in err["loc"] if isinstance(part, int) or _FIELD_NAME.match(str(part))]
        where = ".".join(str(part) for part in loc) or "case"
        problem = (where, _plain(err, loc))
        if problem not in problems:
            problems.append(problem)
    return problems


_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _plain(err: Any, loc: list[str | int]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    schema = _field_schema(loc)
    if kind == "extra_forbidden":
        parent = _field_schema(loc[:-1])
        fields = ", ".join(parent.get("properties", {}))
        return f"is not a field of the case form here; the fields here are: {fields}"
    if kind in ("literal_error", "enum"):
        allowed = ", ".join(json.dumps(v) for v in _allowed(schema)) or str(ctx.get("expected", ""))
        return "must be one of: " + allowed
    if kind == "string_pattern_mismatch":
        text = "must be " + PATTERN_WORDS.get(ctx.get("pattern", ""), "in the documented form")
    elif kind in _KINDS:
        text = _KINDS[kind]
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
        text = {
            "greater_than_equal": "must be at least",
            "greater_than": "must be more than",
            "less_than_equal": "must be at most",
            "less_than": "must be less than",
        }[kind] + f" {bound}"
    elif kind in ("too_short", "too_long"):
        size = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        text = f"must have at {'least' if kind == 'too_short' else 'most'} {size} item{'s' if size != 1 else ''}"
    elif kind in ("string_too_short", "string_too_long"):
        size = ctx.get("min_length") if kind == "string_too_short" else ctx.get("max_length")
        text = f"must be at {'least' if kind == 'string_too_short' else 'most'} {size} characters long"
    elif kind in ("decimal_max_digits", "decimal_max_places", "decimal_whole_digits"):
        text = "has too many digits"
    else:  # the model's own checks (value_error, and the named custom errors) say what to give instead
        return str(err["msg"]).removeprefix("Value error, ")
    example = _example(schema)
    return text if example is None else f"{text}; for example {json.dumps(example, ensure_ascii=False)}"


@lru_cache(maxsize=1)
def _case_schema() -> dict[str, Any]:
    return CaseIn.model_json_schema()


def _resolved(node: dict[str, Any], prefer: str | None = None) -> dict[str, Any]:
    """``node`` with its ``$ref`` followed and a union reduced to one branch (of type ``prefer`` if it has one)."""
    defs = _case_schema()["$defs"]
    while True:
        if "$ref" in node:
            rest = {k: v for k, v in node.items() if k != "$ref"}
            node = {**defs[node["$ref"].rsplit("/", 1)[-1]], **rest}
        elif "anyOf" in node:
            branches = [_resolved(b) for b in node["anyOf"] if b.get("type") != "null"]
            chosen = next((b for b in branches if b.get("type") == prefer), branches[0] if branches else {})
            node = {**chosen, **{k: v for k, v in node.items() if k != "anyOf"}}
        else:
            return node


def _field_schema(loc: list[str | int]) -> dict[str, Any]:
    node = _case_schema()
    for part in loc:
        if isinstance(part, int):
            node = _resolved(node, "array").get("items", {})
        else:
            node = _resolved(node, "object").get("properties", {}).get(part, {})
    return _resolved(node)


def _allowed(schema: dict[str, Any]) -> list[Any]:
    if "enum" in schema:
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    return []


def _example(schema: dict[str, Any], depth: int = 0) -> Any:
    """A valid value for ``schema``: its first example or allowed value, or one built from its type."""
    schema = _resolved(schema)
    if schema.get("examples"):
        return schema["examples"][0]
    allowed = _allowed(schema)
    if allowed:
        return allowed[0]
    kind = schema.get("type")
    if schema.get("format") == "date":
        return _DATE_EXAMPLE
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return schema.get("minimum", 1) or 1
    if kind == "array" and depth < 3:
        item = _example(schema.get("items", {}), depth + 1)
        return None if item is None else [item]
    if kind == "object" and depth < 3:
        required = schema.get("required", [])
        built = {name: _example(schema["properties"][name], depth + 1) for name in required}
        return built if built and None not in built.values() else None
    return None
