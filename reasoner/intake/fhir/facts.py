"""Generic facts from FHIR resources: observations, treatments, devices and usage series (docs/fhir-mapping.md).

``_Facts`` reads, into the lists of the case form, an Observation whose code the knowledge base
declares as an observation kind (LOINC, or our observation class system), a MedicationStatement
or a Procedure of a medical treatment class, a Device with its DeviceUseStatement, and the
Observations that name a ``device`` as the samples of a usage series. Each value is converted to
its kind's canonical unit here, so a unit that does not convert, or a value out of range, is a 422
naming the FHIR element (never the value).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reasoner.errors import FhirError
from reasoner.intake.fhir.resources import (
    OUR_PROCEDURES,
    OUR_VALUES,
    OURS,
    _clean_id,
    _code_in,
    _date,
    _decimal,
    _ref_id,
    procedure_code,
)
from reasoner.intake.fhir.resources import _known as _known_class
from reasoner.knowledge.measures import kind_of, measure
from reasoner.knowledge.units import ObservationKind
from reasoner.vocab import DX, LOINC, OBS, PROC

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase

LOINC_SYSTEM = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OUR_OBSERVATIONS = OURS + "observation"
OUR_CONDITIONS = OURS + "condition"
_RESULTS = ("effective", "short-term-relief", "failed")
_LOINC_CODE = re.compile(r"\d{1,7}-\d")  # the JSON form's pattern of a LOINC code
Document = Callable[[dict[str, Any], str, "str | None"], str]


class _Facts:
    """The generic facts of a history, in the lists of the case form."""

    def __init__(self, kb: KnowledgeBase, where: Callable[[dict[str, Any]], str], document: Document) -> None:
        self.kb = kb
        self.where = where
        self.document = document
        self.observations: list[dict[str, Any]] = []
        self.treatments: list[dict[str, Any]] = []
        self.devices: list[dict[str, Any]] = []
        self.series: dict[tuple[str, str], dict[str, Any]] = {}
        self._uses: dict[str, dict[str, Any]] = {}

    def code_of(self, concept: object) -> tuple[str, ObservationKind | None] | None:
        """The form's code of an observation and its kind.

        A kind the knowledge base declares (by LOINC or our class), else a LOINC code it does not
        know, with no kind (kept as its code, as the JSON form keeps one); None for anything else.
        """
        loinc = _code_in(concept, LOINC_SYSTEM)
        if loinc is not None and LOINC[loinc] in self.kb.codes:
            kind = kind_of(self.kb, LOINC[loinc])
            if kind is not None:
                return loinc, kind
        ours = _code_in(concept, OUR_OBSERVATIONS)
        if ours is not None and ours[:1].isupper() and OBS[ours] in self.kb.observation_kinds:
            return ours, self.kb.observation_kinds[OBS[ours]]
        if loinc is not None and _LOINC_CODE.fullmatch(loinc) and LOINC[loinc] not in self.kb.codes:
            return loinc, None
        return None

    def observation(self, r: dict[str, Any]) -> bool:
        """Read an Observation of a declared kind (a sample of a series when it names a device); False if not one."""
        found = self.code_of(r.get("code"))
        if found is None:
            return False
        code, kind = found
        where = self.where(r)
        period = r.get("effectivePeriod") or {}
        date = _date(r.get("effectiveDateTime")) or _date(period.get("start"))
        device = _ref_id(r.get("device"))
        if device is not None:
            if kind is None:
                return False  # a sample of a kind the knowledge base does not declare: no series to put it in
            self._sample(r, code, kind, device, date)
            return True
        o: dict[str, Any] = {"code": code, **self._value(r, kind, where)}
        method = procedure_code(r.get("method")) or _code_in(r.get("method"), OUR_PROCEDURES)
        if method:
            o["method"] = method
        if _date(r.get("effectiveDateTime")):
            o["date"] = date
        elif period:
            o["period"] = {k: _date(period.get(k)) for k in ("start", "end") if _date(period.get(k))}
        parts = []
        for j, c in enumerate(r.get("component") or []):
            part = self.code_of(c.get("code")) if isinstance(c, dict) else None
            if part is not None:
                parts.append({"code": part[0], **self._value(c, part[1], f"{where}.component[{j}]")})
        if parts:
            o["components"] = parts
        o["source"] = self.document(r, "clinic-note", date)
        self.observations.append(o)
        return True

    def _value(self, r: dict[str, Any], kind: ObservationKind | None, where: str) -> dict[str, Any]:
        """The value of an Observation or component, in the kind's canonical unit (FhirError naming the element).

        None for a LOINC code the knowledge base does not know: its value is not read (no kind says
        how), as the JSON form keeps such an observation by its code, date and source only.
        """
        if kind is None:
            return {}
        if isinstance(r.get("valueBoolean"), bool):
            return {"valueBoolean": r["valueBoolean"]}
        word = _code_in(r.get("valueCodeableConcept"), OUR_OBSERVATIONS)
        if word is not None:
            return {"valueCode": word}
        quantity = r.get("valueQuantity")
        if not isinstance(quantity, dict):
            return {}
        value = _decimal(quantity.get("value"), f"{where}.valueQuantity.value")
        if value is None:
            return {}
        ucum = quantity.get("code") if quantity.get("system") in (UCUM, None) else None
        canonical, field, problem = measure(self.kb, kind, value, ucum if isinstance(ucum, str) else None)
        if canonical is None:
            element = "code" if field == "unit" else "value"
            raise FhirError([("invalid", f"{where}.valueQuantity.{element}", problem)], status=422)
        return {"value": canonical, "unit": self._canonical_code(kind)}

    def _canonical_code(self, kind: ObservationKind) -> str:
        return next(c for c, u in sorted(self.kb.units.items()) if u.iri == kind.unit)

    def _sample(self, r: dict[str, Any], code: str, kind: ObservationKind, device: str, date: str | None) -> None:
        if date is None:
            return  # a sample must be dated to belong to a day
        value = self._value(r, kind, self.where(r)).get("value")
        series = self.series.get((device, code))
        if series is None:
            series = self.series[device, code] = {"device": _clean_id(device), "code": code, "samples": []}
            if kind.unit is not None:
                series["unit"] = self._canonical_code(kind)
            series["source"] = self.document(r, "patient-report", date)
        series["samples"].append({"date": date, "value": value} if value is not None else {"date": date})

    def treatment(self, r: dict[str, Any], concept: object) -> bool:
        """Read a MedicationStatement or Procedure of a medical treatment class; False if it is not one."""
        kind = _code_in(concept, OUR_PROCEDURES)
        if kind is None or not _known_class(self.kb, kind, PROC.MedicalTreatment):
            return False
        period = r.get("effectivePeriod") or r.get("performedPeriod") or {}
        t: dict[str, Any] = {"kind": kind}
        for key in ("start", "end"):
            if _date(period.get(key)):
                t[key] = _date(period.get(key))
        outcome = _code_in(r.get("outcome"), OUR_VALUES)
        if outcome in _RESULTS:
            t["outcome"] = outcome
        t["source"] = self.document(r, "clinic-note", t.get("start"))
        self.treatments.append(t)
        return True

    def device_use(self, r: dict[str, Any]) -> None:
        """A DeviceUseStatement: when the device it names was set up and when its use ended."""
        device = _ref_id(r.get("device"))
        if device is not None and r.get("status") != "entered-in-error":
            self._uses[device] = r

    def device(self, r: dict[str, Any]) -> None:
        """A Device with an HCPCS type (its use, from a DeviceUseStatement, read at the end)."""
        code = procedure_code(r.get("type"))
        if code is None or r.get("status") == "entered-in-error":
            return
        self.devices.append({"id": _clean_id(str(r.get("id") or "device")), "code": code, "_resource": r})

    def fill(self, case: dict[str, Any]) -> None:
        """Put the facts read into the case form's lists."""
        devices = []
        for d in self.devices:
            r = d.pop("_resource")
            use = self._uses.get(str(r.get("id")))
            period = (use or {}).get("timingPeriod") or {}
            start = _date(period.get("start")) or _date((use or {}).get("timingDateTime"))
            if start:
                d["start"] = start
            if _date(period.get("end")):
                d["end"] = _date(period.get("end"))
            d["source"] = self.document(use or r, "clinic-note", start)
            devices.append(d)
        known = {d["id"] for d in devices}
        series = [s if s["device"] in known else _without_device(s) for s in self.series.values()]
        for key, value in (
            ("observations", self.observations),
            ("treatments", self.treatments),
            ("devices", devices),
            ("usageSeries", series),
        ):
            if value:
                case[key] = value


def _without_device(series: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in series.items() if k != "device"}


def condition_kind(kb: KnowledgeBase, concept: object) -> str | None:
    """Our condition class named in a Condition's code, when the knowledge base declares it."""
    name = _code_in(concept, OUR_CONDITIONS)
    return name if name and name[:1].isupper() and DX[name] in kb.superclasses else None
