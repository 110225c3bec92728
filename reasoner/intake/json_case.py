"""The plain JSON form of a case, and its mapping to the same RDF as a Turtle case.

The pydantic models below are the schema (schemas/case.schema.json is generated from them).

Codes are strings (``"64772"``, ``"G0260"``, ``"M47.816"``); procedure classes, tests, kinds of
finding and kinds of therapy are the local names of classes of the knowledge base
(``"SacralLateralBranchBlock"``, ``"ThighThrustTest"``); every documented fact names the id of
the document it came from.

A value the record does not state is left out, never given a default: each enumeration and
boolean has only stated values (image guidance is its modality; whether contrast is used is the
boolean ``contrast``, absent when not stated). The form before 2026-12 is still read where it is
unambiguous: a compound guidance such as ``"fluoroscopy-with-contrast"`` is the modality with
``contrast: true``, and a prior procedure's single ``purpose`` or ``outcome`` string is a list of
one; a compound guidance with ``contrast: false`` is refused, naming ``request.contrast``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from rdflib import RDF, XSD, Graph, Namespace, URIRef
from rdflib.term import Node

from reasoner._rdf.case_store import CaseGraph, CaseStore
from reasoner._rdf.terms import interned, iri, literal
from reasoner.errors import CaseSchemaError
from reasoner.intake.limits import untrusted_input
from reasoner.intake.sieve import Relevance, Sieve
from reasoner.intake.turtle import check_size, decode_json, decode_utf8, normalise_level
from reasoner.vocab import CASE_DATA, CASE_VALUES, CPT, CV, FIND, GR, HCPCS, ICD10CM, KB, PROC

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase

_PROCEDURE_CODE = r"^(\d{4}[0-9FTU]|[A-V]\d{4})$"
_DIAGNOSIS_CODE = r"^[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$"
_LEVEL = r"^[CTLSctls]\d{1,2}(-[CTLSctls]?\d{1,2})?$"
_CLASS_NAME = r"^[A-Z][A-Za-z0-9]{1,80}$"
_DOCUMENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_MODIFIER = r"^[A-Z0-9]{2}$"
#: What a value matching each pattern is, in words (for the error when one does not match).
PATTERN_WORDS: dict[str, str] = {
    _PROCEDURE_CODE: "a CPT or HCPCS code (five digits; four digits then F, T or U; or a letter A-V then four digits)",
    _DIAGNOSIS_CODE: "an ICD-10-CM code (a letter, a digit, a digit or letter, then optionally a dot and 1-4 more)",
    _LEVEL: "a spinal level (C, T, L or S and its number) or a range of them",
    _CLASS_NAME: "a class name of the knowledge base (a capital letter, then letters and digits, no spaces)",
    _DOCUMENT_ID: "an id of 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    _MODIFIER: "a two-character modifier (capital letters or digits)",
}
ProcedureCode = Annotated[str, Field(pattern=_PROCEDURE_CODE, examples=["64772", "G0260"])]
DiagnosisCode = Annotated[str, Field(pattern=_DIAGNOSIS_CODE, examples=["M47.816"])]
Level = Annotated[str, Field(pattern=_LEVEL, examples=["S1", "L5-S1"])]
ClassName = Annotated[str, Field(pattern=_CLASS_NAME)]
DocumentId = Annotated[str, Field(pattern=_DOCUMENT_ID, examples=["lbb-note-2"])]
# Serialised by value ("40.0" and "40" alike), so that the digest of a case reads values.
Number = Annotated[Decimal, PlainSerializer(lambda d: format(d.normalize(), "f"), return_type=str, when_used="json")]
Laterality = Literal["left", "right", "bilateral"]
Outcome = Literal["positive", "negative", "effective", "short-term-relief", "failed"]
Purpose = Literal["diagnostic", "therapeutic"]
Injectate = Literal["anaesthetic", "steroid"]
Guidance = Literal["fluoroscopy", "ct", "ultrasound", "direct-visualization", "none"]
#: Compound guidance values of the form before 2026-12: each is its modality with contrast used.
COMPOUND_GUIDANCE: dict[str, str] = {"fluoroscopy-with-contrast": "fluoroscopy", "ct-with-contrast": "ct"}
#: The two axes of a prior procedure's outcome: a diagnostic response and a treatment result.
OUTCOME_AXES: tuple[frozenset[str], ...] = (
    frozenset({"positive", "negative"}),
    frozenset({"effective", "short-term-relief", "failed"}),
)
DocumentKind = Literal[
    "procedure-note", "clinic-note", "imaging-report", "physical-exam", "patient-report", "request-form"
]

VALUES = CASE_VALUES  # the JSON form's words for the case vocabulary's values


def _one_or_many(value: object) -> object:
    """A single value where a list is expected is a list of one (the form before 2026-12)."""
    return [value] if isinstance(value, str) else value


def _distinct(values: list[str]) -> list[str]:
    """Each value once, in a fixed order: the same facts give the same case (and digest)."""
    return values if len(values) < 2 else sorted(set(values))


def _one_per_axis(values: list[str]) -> list[str]:
    values = _distinct(values)
    if len(values) < 2:
        return values
    for axis in OUTCOME_AXES:
        if len(axis.intersection(values)) > 1:
            raise PydanticCustomError(
                "outcome_axes",
                "at most one diagnostic response (positive or negative) and one treatment result "
                '(effective, short-term-relief or failed); for example ["positive", "effective"]',
            )
    return values


Purposes = Annotated[
    list[Purpose],
    BeforeValidator(_one_or_many, json_schema_input_type=Purpose | list[Purpose]),
    AfterValidator(_distinct),
    Field(
        max_length=2,
        description="diagnostic, therapeutic or both (a single string is read as a list of one); "
        "absent or empty: not stated",
    ),
]
Outcomes = Annotated[
    list[Outcome],
    BeforeValidator(_one_or_many, json_schema_input_type=Outcome | list[Outcome]),
    AfterValidator(_one_per_axis),
    Field(
        max_length=2,
        description="at most one diagnostic response (positive, negative) and one treatment result (effective, "
        "short-term-relief, failed); a single string is read as a list of one; absent or empty: not stated",
    ),
]
Injectates = Annotated[
    list[Injectate],
    AfterValidator(_distinct),
    Field(
        max_length=8,
        description="the agents injected; each implies purposes declared in the knowledge base "
        "(anaesthetic: diagnostic, steroid: therapeutic), which add to those stated",
    ),
]
_CONTRADICTS_GUIDANCE = object()  # marks a compound guidance with contrast stated false
_AS_BOOLEAN: TypeAdapter[bool] = TypeAdapter(bool)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequestLineIn(_Model):
    """One requested code."""

    code: ProcedureCode
    units: int = Field(1, ge=1, le=99)
    modifiers: list[Annotated[str, Field(pattern=_MODIFIER, examples=["50"])]] = Field(
        default_factory=list, max_length=4
    )
    procedure: ClassName | None = Field(
        None,
        description="the technique, when the code does not say it (for example PulsedRadiofrequency)",
        examples=["PulsedRadiofrequency"],
    )


class RequestIn(_Model):
    """The requested service."""

    date: dt.date
    codes: list[RequestLineIn] = Field(min_length=1, max_length=20)
    diagnoses: list[DiagnosisCode] = Field(
        default_factory=list,
        max_length=12,
        description="ICD-10-CM; the first is primary; absent or empty: not stated (a criterion that reads "
        "the diagnosis is unknown)",
    )
    laterality: Laterality | None = None
    levels: list[Level] = Field(default_factory=list, max_length=12)
    imageGuidance: Guidance | None = Field(
        None,
        description="the guidance modality; the compound values of the form before 2026-12 "
        "(fluoroscopy-with-contrast, ct-with-contrast) are read as the modality with contrast true",
    )
    contrast: bool | None = Field(
        None, description="whether contrast confirms the needle's position; absent: not stated"
    )
    purpose: Purpose | None = None
    sameDayBlocksJustified: bool | None = Field(
        None,
        description="whether the record documents why blocks of different kinds are requested for the same day; "
        "absent: not stated",
    )

    @model_validator(mode="before")
    @classmethod
    def _compound_guidance(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        guidance = data.get("imageGuidance")
        if not isinstance(guidance, str) or guidance not in COMPOUND_GUIDANCE:  # anything else: the field says
            return data
        data = dict(data)
        data["imageGuidance"] = COMPOUND_GUIDANCE[guidance]
        stated = data.get("contrast")
        if stated is None:
            data["contrast"] = True
        else:
            try:
                used = _AS_BOOLEAN.validate_python(stated)
            except ValidationError:
                return data  # the field itself reports it
            if not used:
                data["contrast"] = _CONTRADICTS_GUIDANCE
        return data

    @field_validator("contrast", mode="before")
    @classmethod
    def _not_contradicted(cls, value: object) -> object:
        if value is _CONTRADICTS_GUIDANCE:
            raise PydanticCustomError(
                "contrast_contradicts_guidance",
                "contradicts request.imageGuidance, a compound value (of the form before 2026-12) that says "
                "contrast is used: give the modality in request.imageGuidance and whether contrast is used here; "
                'for example "imageGuidance": "fluoroscopy", "contrast": false',
            )
        return value

    @field_validator("contrast")
    @classmethod
    def _contrast_needs_guidance(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        if value and info.data.get("imageGuidance") == "none":
            raise PydanticCustomError(
                "contrast_without_guidance",
                "contrast is used only under image guidance (imageGuidance is none): leave contrast out, or give "
                'the guidance used, for example "imageGuidance": "fluoroscopy"',
            )
        return value


class DocumentIn(_Model):
    """A source document of the record (no identifiers in the title)."""

    id: DocumentId
    kind: DocumentKind
    date: dt.date | None = None
    title: str | None = Field(None, max_length=200)


class ConditionIn(_Model):
    """A condition in the history."""

    code: DiagnosisCode
    status: Literal["active", "resolved"] | None = Field(
        None, description="absent: active (a diagnosis in the history is current unless it is marked resolved)"
    )
    source: DocumentId | None = None


class PriorProcedureIn(_Model):
    """A procedure the patient has had; give a code, a procedure class, or both."""

    code: ProcedureCode | None = None
    procedure: ClassName | None = Field(None, examples=["SacralLateralBranchBlock"])
    date: dt.date | None = None
    laterality: Laterality | None = None
    levels: list[Level] = Field(default_factory=list, max_length=12)
    purpose: Purposes = Field(default_factory=list)
    injectate: Injectates = Field(default_factory=list)
    percentRelief: Number | None = Field(None, ge=0, le=100, max_digits=6, examples=[80])
    reliefMonths: Number | None = Field(None, ge=0, le=600, max_digits=6, examples=[6])
    functionalImprovement: Number | None = Field(
        None,
        ge=0,
        le=100,
        max_digits=6,
        examples=[60],
        description="percent improvement in function or ADLs on the baseline scale",
    )
    functionalImprovementMonths: Number | None = Field(None, ge=0, le=600, max_digits=6, examples=[6])
    outcome: Outcomes = Field(default_factory=list)
    source: DocumentId

    @model_validator(mode="after")
    def _code_or_class(self) -> PriorProcedureIn:
        if self.code is None and self.procedure is None:
            raise ValueError(
                'give a code, a procedure class or both; for example "code": "27096" or '
                '"procedure": "SacralLateralBranchBlock"'
            )
        return self


class ConservativeCareIn(_Model):
    """A course of conservative therapy."""

    kind: ClassName = Field(examples=["PhysicalTherapy"])
    weeks: Number | None = Field(None, ge=0, le=2000, max_digits=6, examples=[6])
    outcome: Outcome | None = None
    source: DocumentId


class ExamFindingIn(_Model):
    """One provocative test, with its result when the record states it."""

    test: ClassName = Field(examples=["ThighThrustTest"])
    result: Literal["positive", "negative"] | None = Field(None, description="absent: not recorded")
    laterality: Laterality | None = None
    source: DocumentId


class ImagingFindingIn(_Model):
    """One imaging finding."""

    kind: ClassName = Field(examples=["FacetArthropathy"])
    levels: list[Level] = Field(default_factory=list, max_length=12)
    addressed: bool | None = Field(
        None,
        description="true when the clinician records the finding as evaluated or treated; absent or false: "
        "addressed only when a procedure of the history addresses it at its level",
    )
    source: DocumentId


class PainHistoryIn(_Model):
    """The pain under review."""

    durationMonths: Number | None = Field(None, ge=0, le=1200, max_digits=6, examples=[12])
    score: Number | None = Field(None, ge=0, le=10, max_digits=4, examples=[7])
    disabilityScore: Number | None = Field(
        None,
        ge=0,
        le=100,
        max_digits=6,
        examples=[42],
        description="a disability scale at baseline (Oswestry, Neck Disability Index...), in percent of its maximum",
    )
    character: Literal["axial", "radicular", "mixed"] | None = None
    location: Literal["sacroiliac-region", "lumbar-above-l5", "widespread"] | None = None
    source: DocumentId


_UNDECLARED_SOURCE = (
    "names a document that is not in documents: give the id of a document listed there, or add that document "
    '(for example {"id": "lbb-note-2", "kind": "procedure-note"})'
)


class CaseIn(_Model):
    """A case for determination, in the plain JSON form."""

    id: DocumentId = Field(description="a pseudonymous case id, never an MRN", examples=["case-0001"])
    policy: DocumentId | None = Field(
        None, description="the policy id, for example sij-clinical-pathway", examples=["sij-clinical-pathway"]
    )
    patient: DocumentId | None = Field(None, description="a patient pseudonym", examples=["patient-0001"])
    request: RequestIn
    documents: list[DocumentIn] = Field(default_factory=list, max_length=2000)
    conditions: list[ConditionIn] = Field(default_factory=list, max_length=2000)
    priorProcedures: list[PriorProcedureIn] = Field(default_factory=list, max_length=2000)
    conservativeCare: list[ConservativeCareIn] = Field(default_factory=list, max_length=2000)
    examFindings: list[ExamFindingIn] = Field(default_factory=list, max_length=2000)
    imagingFindings: list[ImagingFindingIn] = Field(default_factory=list, max_length=2000)
    painHistory: PainHistoryIn | None = None

    @model_validator(mode="after")
    def _sources_declared(self) -> CaseIn:
        ids = {d.id for d in self.documents}
        for name in ("conditions", "priorProcedures", "conservativeCare", "examFindings", "imagingFindings"):
            for i, fact in enumerate(getattr(self, name)):
                if fact.source is not None and fact.source not in ids:
                    raise ValueError(f"{name}.{i}.source {_UNDECLARED_SOURCE}")
        if self.painHistory is not None and self.painHistory.source not in ids:
            raise ValueError(f"painHistory.source {_UNDECLARED_SOURCE}")
        return self


def json_schema() -> dict[str, object]:
    """The JSON Schema of the case form (written to schemas/case.schema.json)."""
    schema = CaseIn.model_json_schema()
    schema["$id"] = "https://w3id.org/guideline-reasoner/schemas/case.schema.json"
    return schema


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


# --- validation errors in plain words ---------------------------------------------------------------
#
# pydantic's messages speak of its types and quote regular expressions; a case's author reads these
# instead: the field, what is wrong in words, and a valid value taken from the schema (its examples,
# its allowed values, or a value of its type). Submitted values are never quoted (cases are PHI).

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


def digest(case: CaseIn) -> str:
    """A digest of a validated case: its fields in schema order, numbers by value, defaults filled in.

    Two payloads that validate to the same case (other key order, spacing, ``40`` or ``40.0``)
    have the same digest.
    """
    return hashlib.sha256(case.model_dump_json().encode()).hexdigest()


def code_iri(code: str) -> URIRef:
    """The knowledge-base IRI of a CPT or HCPCS code (HCPCS Level II codes start with a letter)."""
    return HCPCS[code] if code[0].isalpha() else CPT[code]


_TYPE = RDF.type
_THERAPY, _TEST, _FINDING = PROC.ConservativeTherapy, FIND.ProvocativeTest, FIND.ImagingFindingKind
_STRING, _DATE, _DECIMAL, _INTEGER, _BOOLEAN = XSD.string, XSD.date, XSD.decimal, XSD.integer, XSD.boolean


def to_graph(case: CaseIn, kb: KnowledgeBase, relevance: Relevance | None = None) -> Graph:
    """Map a validated JSON case to case RDF.

    With ``relevance`` (the policy's, from :func:`relevance.for_policy`), history facts the policy
    cannot see are left out of the graph; the graph's digest still covers the whole case.

    Raises:
        CaseSchemaError: a class name (procedure, test, kind) that the knowledge base does not know.
    """
    # Every term is built here from validated parts, so the fast constructors are safe. The
    # store's subject index is built here directly, each history fact's entry as one dict: a long
    # history makes tens of thousands of triples, and a call per triple was most of the cost.
    spo: dict[Node, dict[Node, dict[Node, None]]] = {}

    def add(triple: tuple[Node, Node, Node]) -> None:
        s, p, o = triple
        spo.setdefault(s, {}).setdefault(p, {})[o] = None

    base = f"{CASE_DATA}{case.id}/"
    node = iri(base + "case")
    request = iri(base + "request")
    problems: list[tuple[str, str]] = []
    named: dict[tuple[object, str], URIRef] = {}  # a history repeats its codes and class names

    def cls(ns: Namespace, name: str, where: str, root: URIRef) -> URIRef:
        made = named.get((ns, name))
        if made is None:
            made = named[ns, name] = interned(URIRef(ns + name))
        if root not in kb.superclasses.get(made, ()):
            known = sorted(str(c).split("#")[-1] for c, sup in kb.superclasses.items() if root in sup and c != root)
            problems.append((where, "not a known class name; one of: " + ", ".join(known)))
        return made

    def code(value: str, diagnosis: bool = False) -> URIRef:
        made = named.get(("code", value))
        if made is None:
            made = named["code", value] = interned(ICD10CM[value] if diagnosis else code_iri(value))
        return made

    def levels(values: list[str]) -> dict[Node, None]:
        return {literal(normalise_level(v) or v, _STRING): None for v in values}

    add((node, _TYPE, CV.Case))
    add((node, CV.identifier, literal(case.id, _STRING)))
    add((node, CV.request, request))
    if case.policy:
        add((request, CV.policy, KB[case.policy]))
    if case.patient:
        patient = iri(base + "patient")
        add((node, CV.patient, patient))
        add((patient, _TYPE, CV.Patient))
        add((patient, CV.identifier, literal(case.patient, _STRING)))
    r = case.request
    add((request, _TYPE, CV.ServiceRequest))
    add((request, CV.date, literal(r.date, _DATE)))
    for prop, value in ((CV.laterality, r.laterality), (CV.imageGuidance, r.imageGuidance), (CV.purpose, r.purpose)):
        if value is not None:
            add((request, prop, VALUES[value]))
    if r.contrast is not None:
        add((request, CV.contrast, literal(r.contrast, _BOOLEAN)))
    if r.sameDayBlocksJustified is not None:
        add((request, CV.sameDayBlocksJustified, literal(r.sameDayBlocksJustified, _BOOLEAN)))
    if r.levels:
        spo[request][CV.level] = levels(r.levels)
    for i, line in enumerate(r.codes):
        ln = iri(f"{base}line-{i + 1}")
        add((request, CV.line, ln))
        add((ln, _TYPE, CV.RequestLine))
        add((ln, CV.code, code(line.code)))
        add((ln, CV.units, literal(line.units, _INTEGER)))
        for m in line.modifiers:
            add((ln, CV.modifier, literal(m, _STRING)))
        if line.procedure:
            add((ln, CV.procedure, cls(PROC, line.procedure, f"request.codes.{i}.procedure", GR.Procedure)))
    for i, dx in enumerate(r.diagnoses):
        cond = iri(f"{base}request-diagnosis-{i + 1}")
        add((request, CV.primaryDiagnosis if i == 0 else CV.secondaryDiagnosis, cond))
        add((cond, _TYPE, CV.Condition))
        add((cond, CV.code, code(dx, diagnosis=True)))
    docs: dict[str, URIRef] = {}  # documents are built last: only those that matter
    cited: set[str] = set()
    sieve = Sieve(kb, relevance, [URIRef(FIND + m.kind) for m in case.imagingFindings])

    def wanted(
        link: URIRef, i: int, source: str | None, purposes: frozenset[URIRef] | None, *values: tuple[URIRef, URIRef]
    ) -> bool:
        """Whether the ``i``-th fact of a kind matters; ``values`` are its (predicate, IRI) pairs."""
        if not sieve.keeps(link, i, purposes, values):
            return False
        if source is not None:
            cited.add(source)
        return True

    case_po = spo[node]

    def fact(kind: str, i: int, cls_: URIRef, link: URIRef, source: str | None) -> dict[Node, dict[Node, None]]:
        """A new history fact's entry in the subject index, to fill in; each predicate is set once."""
        f = iri(f"{base}{kind}-{i + 1}")
        case_po.setdefault(link, {})[f] = None
        po: dict[Node, dict[Node, None]] = {_TYPE: {cls_: None}}
        if source is not None:
            doc = docs.get(source)
            if doc is None:
                doc = docs[source] = iri(f"{base}doc-{source}")
            po[CV.source] = {doc: None}
        spo[f] = po
        return po

    for i, c in enumerate(case.conditions):
        dx = code(c.code, diagnosis=True)
        if not wanted(CV.condition, i, c.source, None, (CV.code, dx)):
            continue
        f = fact("condition", i, CV.Condition, CV.condition, c.source)
        f[CV.code] = {dx: None}
        if c.status:
            f[CV.clinicalStatus] = {VALUES[c.status]: None}
    for i, p in enumerate(case.priorProcedures):
        pairs = []
        if p.code:
            pairs.append((CV.code, code(p.code)))
        if p.procedure:
            pairs.append((CV.procedure, cls(PROC, p.procedure, f"priorProcedures.{i}.procedure", GR.Procedure)))
        stated = [VALUES[v] for v in p.purpose]
        agents = [VALUES[v] for v in p.injectate]
        purposes = kb.purposes_of(stated, agents) if stated or agents else None
        if not wanted(CV.priorProcedure, i, p.source, purposes, *pairs):
            continue
        f = fact("procedure", i, CV.PriorProcedure, CV.priorProcedure, p.source)
        for prop, obj in pairs:
            f[prop] = {obj: None}
        if p.date:
            f[CV.date] = {literal(p.date, _DATE): None}
        if p.laterality is not None:
            f[CV.laterality] = {VALUES[p.laterality]: None}
        for prop, terms in ((CV.purpose, stated), (CV.injectate, agents), (CV.outcome, p.outcome)):
            if terms:
                f[prop] = {(v if isinstance(v, URIRef) else VALUES[v]): None for v in terms}
        if p.levels:
            f[CV.level] = levels(p.levels)
        for prop, dec in (
            (CV.percentRelief, p.percentRelief),
            (CV.reliefMonths, p.reliefMonths),
            (CV.functionalImprovement, p.functionalImprovement),
            (CV.functionalImprovementMonths, p.functionalImprovementMonths),
        ):
            if dec is not None:
                f[prop] = {literal(dec, _DECIMAL): None}
    for i, care in enumerate(case.conservativeCare):
        kind = cls(PROC, care.kind, f"conservativeCare.{i}.kind", _THERAPY)
        if not wanted(CV.conservativeCare, i, care.source, None, (CV.careKind, kind)):
            continue
        f = fact("care", i, CV.ConservativeCare, CV.conservativeCare, care.source)
        f[CV.careKind] = {kind: None}
        if care.weeks is not None:
            f[CV.weeks] = {literal(care.weeks, _DECIMAL): None}
        if care.outcome:
            f[CV.outcome] = {VALUES[care.outcome]: None}
    for i, e in enumerate(case.examFindings):
        test = cls(FIND, e.test, f"examFindings.{i}.test", _TEST)
        if not wanted(CV.examFinding, i, e.source, None, (CV.test, test)):
            continue
        f = fact("exam", i, CV.ExamFinding, CV.examFinding, e.source)
        f[CV.test] = {test: None}
        if e.result is not None:
            f[CV.result] = {VALUES[e.result]: None}
        if e.laterality:
            f[CV.laterality] = {VALUES[e.laterality]: None}
    for i, finding in enumerate(case.imagingFindings):
        kind = cls(FIND, finding.kind, f"imagingFindings.{i}.kind", _FINDING)
        if not wanted(CV.imagingFinding, i, finding.source, None, (CV.findingKind, kind)):
            continue
        f = fact("imaging", i, CV.ImagingFinding, CV.imagingFinding, finding.source)
        f[CV.findingKind] = {kind: None}
        if finding.levels:
            f[CV.level] = levels(finding.levels)
        if finding.addressed is not None:
            f[CV.addressed] = {literal(finding.addressed, _BOOLEAN): None}
    if case.painHistory is not None:
        ph = case.painHistory
        f = fact("pain", 0, CV.PainHistory, CV.painHistory, ph.source)
        for prop, dec in (
            (CV.durationMonths, ph.durationMonths),
            (CV.painScore, ph.score),
            (CV.disabilityScore, ph.disabilityScore),
        ):
            if dec is not None:
                f[prop] = {literal(dec, _DECIMAL): None}
        if ph.character:
            f[CV.painCharacter] = {VALUES[ph.character]: None}
        if ph.location:
            f[CV.painLocation] = {VALUES[ph.location]: None}
        cited.add(ph.source)
    for i, d in enumerate(case.documents):
        if not sieve.keeps_document(VALUES[d.kind], i, d.id in cited):
            continue
        doc = docs.get(d.id) or iri(f"{base}doc-{d.id}")
        case_po.setdefault(CV.document, {})[doc] = None
        po: dict[Node, dict[Node, None]] = {
            _TYPE: {CV.SourceDocument: None},
            CV.identifier: {literal(d.id, _STRING): None},
            CV.documentKind: {VALUES[d.kind]: None},
        }
        if d.date:
            po[CV.date] = {literal(d.date, _DATE): None}
        if d.title:
            po[CV.title] = {literal(d.title, _STRING): None}
        spo[doc] = po
    if problems:
        raise CaseSchemaError(problems)
    store = CaseStore()
    g = CaseGraph(store)  # what new_case_graph() makes, its store at hand
    store.adopt(spo)
    store.submitted = digest(case)
    return g
