"""The schema of the plain JSON form of a case: the pydantic models (and ``json_schema``, ``digest``).

schemas/case.schema.json is generated from these models; ``load`` reads a payload with them and
words their errors, ``to_rdf`` maps a validated case to the case graph.

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
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from reasoner.intake.json_case.facts import (
    FACT_PATTERN_WORDS,
    ClassName,
    DeviceIn,
    DocumentId,
    Number,
    ObservationIn,
    ProcedureCode,
    TreatmentIn,
    UsageSeriesIn,
    _Model,
    code_or_kind,
)
from reasoner.vocab import CASE_VALUES

_DIAGNOSIS_CODE = r"^[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$"
_LEVEL = r"^[CTLSctls]\d{1,2}(-[CTLSctls]?\d{1,2})?$"
_MODIFIER = r"^[A-Z0-9]{2}$"
#: What a value matching each pattern is, in words (for the error when one does not match).
PATTERN_WORDS: dict[str, str] = {
    _DIAGNOSIS_CODE: "an ICD-10-CM code (a letter, a digit, a digit or letter, then optionally a dot and 1-4 more)",
    _LEVEL: "a spinal level (C, T, L or S and its number) or a range of them",
    _MODIFIER: "a two-character modifier (capital letters or digits)",
    **FACT_PATTERN_WORDS,
}
DiagnosisCode = Annotated[str, Field(pattern=_DIAGNOSIS_CODE, examples=["M47.816"])]
Level = Annotated[str, Field(pattern=_LEVEL, examples=["S1", "L5-S1"])]
Laterality = Literal["left", "right", "bilateral"]
Outcome = Literal["positive", "negative", "effective", "short-term-relief", "failed"]
Purpose = Literal["diagnostic", "therapeutic"]
#: A request's purpose: a word the knowledge base declares for a ``cv:Purpose`` (checked at mapping).
RequestPurpose = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9-]{0,39}$",
        examples=["diagnostic", "therapeutic", "initial-rental", "continued-rental"],
        description="what the request is for: a purpose the knowledge base declares (the bundled one: diagnostic, "
        "therapeutic, initial-rental, continued-rental, requalification); absent: not stated (a criterion that "
        "applies under one purpose only is then unknown)",
    ),
]
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
    "procedure-note",
    "clinic-note",
    "imaging-report",
    "device-report",
    "physical-exam",
    "patient-report",
    "request-form",
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
    purpose: RequestPurpose | None = None
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
    """A condition in the history: give a code, a kind (a condition class, for a symptom), or both."""

    code: DiagnosisCode | None = None
    kind: ClassName | None = Field(None, examples=["ExcessiveDaytimeSleepiness"])
    status: Literal["active", "resolved", "absent"] | None = Field(
        None,
        description="absent: active (a diagnosis in the history is current unless it is marked resolved); "
        '"absent": the record documents that the patient does not have it',
    )
    onset: dt.date | None = None
    source: DocumentId | None = None

    @model_validator(mode="after")
    def _code_or_kind(self) -> ConditionIn:
        code_or_kind(self.code, self.kind, '"code": "E11.9"')
        return self


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


_WITH_SOURCES = (
    "conditions",
    "priorProcedures",
    "conservativeCare",
    "examFindings",
    "imagingFindings",
    "observations",
    "treatments",
    "devices",
    "usageSeries",
)
#: The fields added in 2026-12, left out of a case's digest when empty: a case that does not give
#: them keeps the digest (and determination id) it had before.
_NEW_FIELDS = ("observations", "treatments", "devices", "usageSeries")
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
    observations: list[ObservationIn] = Field(default_factory=list, max_length=2000)
    treatments: list[TreatmentIn] = Field(default_factory=list, max_length=2000)
    devices: list[DeviceIn] = Field(default_factory=list, max_length=200)
    usageSeries: list[UsageSeriesIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _sources_declared(self) -> CaseIn:
        ids = {d.id for d in self.documents}
        for name in _WITH_SOURCES:
            for i, fact in enumerate(getattr(self, name)):
                if fact.source is not None and fact.source not in ids:
                    raise ValueError(f"{name}.{i}.source {_UNDECLARED_SOURCE}")
        if self.painHistory is not None and self.painHistory.source not in ids:
            raise ValueError(f"painHistory.source {_UNDECLARED_SOURCE}")
        devices = {d.id for d in self.devices if d.id}
        for i, series in enumerate(self.usageSeries):
            if series.device is not None and series.device not in devices:
                raise ValueError(f"usageSeries.{i}.device names no device of devices: give the id of one listed there")
        return self


def json_schema() -> dict[str, object]:
    """The JSON Schema of the case form (written to schemas/case.schema.json)."""
    schema = CaseIn.model_json_schema()
    schema["$id"] = "https://w3id.org/guideline-reasoner/schemas/case.schema.json"
    return schema


def digest(case: CaseIn) -> str:
    """A digest of a validated case: its fields in schema order, numbers by value, defaults filled in.

    Two payloads that validate to the same case (other key order, spacing, ``40`` or ``40.0``)
    have the same digest.
    """
    exclude: dict[str, Any] = {name: True for name in _NEW_FIELDS if not getattr(case, name)}
    unused = {i: {"kind", "onset"} for i, c in enumerate(case.conditions) if c.kind is None and c.onset is None}
    if unused:
        exclude["conditions"] = unused
    return hashlib.sha256(case.model_dump_json(exclude=exclude).encode()).hexdigest()
