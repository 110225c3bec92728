"""The generic facts of the case form: observations, treatments, devices and usage series (and shared field types).

A value is given with its unit (UCUM), as a coded value, or as yes or no; ``to_rdf`` converts it
to the canonical unit the knowledge base declares for its kind and checks the range. Whether a
code names a kind the knowledge base knows is checked there too, so the form itself accepts any
well-formed code. ``schema`` builds the case from these models.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

_PROCEDURE_CODE = r"^(\d{4}[0-9FTU]|[A-V]\d{4})$"
_CLASS_NAME = r"^[A-Z][A-Za-z0-9]{1,80}$"
_DOCUMENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_OBSERVATION_CODE = r"^([0-9]{1,7}-[0-9]|[A-Z][A-Za-z0-9]{1,80})$"
_METHOD = r"^(\d{4}[0-9FTU]|[A-V]\d{4}|[A-Z][A-Za-z0-9]{1,80})$"
_UCUM = r"^[!-~]{1,30}$"
#: What a value matching each pattern of this module is, in words.
FACT_PATTERN_WORDS: dict[str, str] = {
    _PROCEDURE_CODE: "a CPT or HCPCS code (five digits; four digits then F, T or U; or a letter A-V then four digits)",
    _CLASS_NAME: "a class name of the knowledge base (a capital letter, then letters and digits, no spaces)",
    _DOCUMENT_ID: "an id of 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    _OBSERVATION_CODE: "a LOINC code (digits, a dash, a check digit) or an observation class name",
    _METHOD: "a CPT or HCPCS code, or a class name of the knowledge base",
    _UCUM: "a UCUM unit code (printable characters, no spaces), for example kg/m2 or min",
}
ProcedureCode = Annotated[str, Field(pattern=_PROCEDURE_CODE, examples=["64772", "G0260"])]
ClassName = Annotated[str, Field(pattern=_CLASS_NAME)]
DocumentId = Annotated[str, Field(pattern=_DOCUMENT_ID, examples=["lbb-note-2"])]
ObservationCode = Annotated[str, Field(pattern=_OBSERVATION_CODE, examples=["39156-5", "ApneaHypopneaIndex"])]
Ucum = Annotated[str, Field(pattern=_UCUM, examples=["kg/m2", "{events}/h", "min"])]
# Serialised by value ("40.0" and "40" alike), so that the digest of a case reads values.
Number = Annotated[Decimal, PlainSerializer(lambda d: format(d.normalize(), "f"), return_type=str, when_used="json")]
Measured = Annotated[Number, Field(max_digits=18, decimal_places=8)]
Result = Literal["effective", "short-term-relief", "failed"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def code_or_kind(code: object, kind: object, example: str) -> None:
    """Refuse a fact that gives neither its code nor its kind (``example`` shows one)."""
    if code is None and kind is None:
        raise ValueError(f"give a code, a kind or both; for example {example}")


class PeriodIn(_Model):
    """A period: its first and last day (either may be unknown)."""

    start: dt.date | None = None
    end: dt.date | None = None


class _ValueIn(_Model):
    """An observed value: a number with its unit, a coded value, or yes or no (at most one)."""

    code: ObservationCode = Field(
        description="a LOINC code, or the class name of an observation kind of the knowledge base"
    )
    value: Measured | None = Field(None, description="with unit; converted to the kind's canonical unit")
    unit: Ucum | None = Field(None, description="the UCUM code of the value's unit")
    valueCode: ClassName | None = Field(None, description="a value of the kind's value set", examples=["NoneFound"])
    valueBoolean: bool | None = None

    @model_validator(mode="after")
    def _one_value(self) -> _ValueIn:
        given = [v for v in (self.value, self.valueCode, self.valueBoolean) if v is not None]
        if len(given) > 1:
            raise ValueError("give at most one of value (with unit), valueCode and valueBoolean")
        # A unit without a value is accepted: the value is unstated (unknown, so it pends), never refused.
        return self


class ComponentIn(_ValueIn):
    """A part of an observation reported with it (the event count of a sleep test)."""


class ObservationIn(_ValueIn):
    """A measured or assessed value, with its date or period, method, parts and source."""

    method: Annotated[str, Field(pattern=_METHOD)] | None = Field(
        None, description="how it was obtained: a CPT or HCPCS code, or a class name", examples=["G0399"]
    )
    date: dt.date | None = Field(None, description="when it was observed; absent: not stated")
    period: PeriodIn | None = Field(None, description="instead of a date, the period it covers")
    components: list[ComponentIn] = Field(default_factory=list, max_length=20)
    source: DocumentId

    @model_validator(mode="after")
    def _date_or_period(self) -> ObservationIn:
        if self.date is not None and self.period is not None:
            raise ValueError("give a date or a period, not both")
        return self


class TreatmentIn(_Model):
    """A medication or programme: give a code, a kind, or both."""

    code: ProcedureCode | None = None
    kind: ClassName | None = Field(None, examples=["SupervisedWeightManagement"])
    start: dt.date | None = None
    end: dt.date | None = None
    outcome: Result | None = Field(None, description="absent: not stated")
    source: DocumentId

    @model_validator(mode="after")
    def _code_or_kind(self) -> TreatmentIn:
        code_or_kind(self.code, self.kind, '"kind": "SupervisedWeightManagement"')
        return self


class DeviceIn(_Model):
    """A device the patient has or had, by its HCPCS code."""

    id: DocumentId | None = Field(None, description="an id a usage series names (device)", examples=["cpap-1"])
    code: ProcedureCode = Field(examples=["E0601"])
    start: dt.date | None = Field(None, description="when it was set up; absent: not stated")
    end: dt.date | None = None
    outcome: Result | None = Field(None, description="absent: not stated")
    source: DocumentId


class UsageSampleIn(_Model):
    """One dated value of a usage series."""

    date: dt.date
    value: Measured | None = Field(None, description="absent: no data for that day (not a zero)")


class UsageSeriesIn(_Model):
    """Dated values of one measure of a device: ``start`` and one value a day, or dated ``samples``."""

    device: DocumentId | None = Field(None, description="the id of a device in devices")
    code: ObservationCode = Field(examples=["PapNightlyUse"])
    unit: Ucum | None = None
    start: dt.date | None = Field(None, description="the day of the first of values")
    values: list[Measured | None] = Field(
        default_factory=list, max_length=400, description="one a day from start; null: no data that day (not zero)"
    )
    samples: list[UsageSampleIn] = Field(default_factory=list, max_length=400)
    source: DocumentId

    @model_validator(mode="after")
    def _values_or_samples(self) -> UsageSeriesIn:
        if self.values and self.samples:
            raise ValueError("give values (one a day from start) or samples, not both")
        if self.values and self.start is None:
            raise ValueError('values are one a day from start: give start, for example "start": "2026-01-05"')
        return self

    def dated(self) -> list[tuple[dt.date, Decimal | None]]:
        """The samples, each with its day."""
        if self.samples:
            return [(s.date, s.value) for s in self.samples]
        assert self.start is not None or not self.values
        start = self.start or dt.date.min
        return [(start + dt.timedelta(days=i), v) for i, v in enumerate(self.values)]
