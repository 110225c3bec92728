"""The patient's history in FHIR resources, read as the history of the case form.

The resources read are Procedure, Observation, Condition, DocumentReference, QuestionnaireResponse,
MedicationStatement, Device and DeviceUseStatement (the generic facts through ``facts._Facts``).

``_History`` reads the resources of a PAS Bundle or of a hook's prefetch into the lists of the case
form (conditions, prior procedures, conservative care, exam and imaging findings, pain history) and
the source documents they cite, counting what it skips; an Observation that is part of a Procedure
gives that procedure's relief (``_relief``). Follows docs/fhir-mapping.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rdflib import URIRef

from reasoner.intake.fhir.facts import _Facts, condition_kind
from reasoner.intake.fhir.resources import (
    OUR_PROCEDURES,
    OUR_VALUES,
    OURS,
    _clean_id,
    _code_in,
    _date,
    _decimal,
    _known,
    _list,
    _our_codes,
    _ref_id,
    _sites,
    icd10cm,
    procedure_code,
)
from reasoner.vocab import FIND, GR, PROC

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


LOINC = "http://loinc.org"
PAIN_SEVERITY = "72514-3"
OUR_FINDINGS = OURS + "finding"
OUR_OBSERVATIONS = OURS + "observation"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_HISTORY_TYPES = (
    *("Procedure", "Observation", "Condition", "DocumentReference", "QuestionnaireResponse"),
    *("MedicationStatement", "Device", "DeviceUseStatement"),
)
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_RESOLVED = {"resolved", "inactive", "remission"}


class _History:
    """Resources of the history, read into the lists of the case form."""

    def __init__(self, kb: KnowledgeBase, paths: dict[int, str]) -> None:
        self.kb = kb
        self.paths = paths  # id() of each resource -> its element, for errors
        self.documents: list[dict[str, Any]] = []
        self.conditions: list[dict[str, Any]] = []
        self.procedures: list[dict[str, Any]] = []
        self.care: list[dict[str, Any]] = []
        self.exam: list[dict[str, Any]] = []
        self.imaging: list[dict[str, Any]] = []
        self.pain: dict[str, Any] = {}
        self.skipped: Counter[str] = Counter()
        self._doc_ids: set[str] = set()
        self.facts = _Facts(kb, self.where, self.document)

    def document(self, res: dict[str, Any], kind: str, date: str | None = None) -> str:
        rtype, rid = str(res.get("resourceType")), str(res.get("id") or uuid.uuid4().hex[:12])
        ident = _clean_id(f"{rtype}-{rid}")
        if ident not in self._doc_ids:
            self._doc_ids.add(ident)
            doc = {"id": ident, "kind": kind, "title": f"{rtype}/{_clean_id(rid)}"}
            if date:
                doc["date"] = date
            self.documents.append(doc)
        return ident

    def where(self, res: dict[str, Any]) -> str:
        """The element of a resource of the history (``Bundle.entry[3].resource``)."""
        return self.paths.get(id(res), str(res.get("resourceType")))

    def is_class(self, name: str | None, root: URIRef) -> bool:
        """Whether our class code ``name`` (procedure or finding system) names a subclass of ``root``."""
        return name is not None and _known(self.kb, name, root)

    def read(self, resources: list[dict[str, Any]]) -> None:
        by_id = {(r.get("resourceType"), r.get("id")): r for r in resources}
        parts: dict[str, list[dict[str, Any]]] = {}
        for r in resources:
            if r.get("resourceType") == "Observation" and r.get("status") != "entered-in-error":
                for ref in r.get("partOf") or []:
                    target = _ref_id(ref)
                    if target and ("Procedure", target) in by_id:
                        parts.setdefault(target, []).append(r)
        linked = {id(o) for obs in parts.values() for o in obs}
        for r in resources:
            kind = r.get("resourceType")
            if kind == "Procedure":
                self.procedure(r, parts.get(str(r.get("id")), []))
            elif kind == "Observation" and id(r) not in linked:
                self.observation(r)
            elif kind == "Condition":
                self.condition(r)
            elif kind == "DocumentReference":
                if r.get("status") != "entered-in-error":
                    imaging = _code_in(r.get("type"), LOINC) == "18748-4"
                    self.document(r, "imaging-report" if imaging else "clinic-note", _date(r.get("date")))
            elif kind == "QuestionnaireResponse":
                if r.get("status") != "entered-in-error":
                    self.document(r, "request-form", _date(r.get("authored")))
            elif kind == "MedicationStatement":
                if r.get("status") != "entered-in-error" and not self.facts.treatment(
                    r, r.get("medicationCodeableConcept")
                ):
                    self.skipped["MedicationStatement (no medical treatment class)"] += 1
            elif kind == "Device":
                self.facts.device(r)
            elif kind == "DeviceUseStatement":
                self.facts.device_use(r)
            elif kind != "Observation":
                self.skipped[str(kind)] += 1

    def procedure(self, r: dict[str, Any], observations: list[dict[str, Any]]) -> None:
        if r.get("status") == "entered-in-error" or self.facts.treatment(r, r.get("code")):
            return
        code = procedure_code(r.get("code"))
        cls = _code_in(r.get("code"), OUR_PROCEDURES)
        if (
            cls is not None
            and not self.is_class(cls, GR.Procedure)
            and not self.is_class(cls, PROC.ConservativeTherapy)
        ):
            cls = None
        period = r.get("performedPeriod") or {}
        date = _date(r.get("performedDateTime")) or _date(period.get("start"))
        outcome = _code_in(r.get("outcome"), OUR_VALUES)
        if self.is_class(cls, PROC.ConservativeTherapy):
            entry: dict[str, Any] = {"kind": cls, "source": self.document(r, "clinic-note", date)}
            start, end = _date(period.get("start")), _date(period.get("end"))
            if start and end:
                days = (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days
                entry["weeks"] = (Decimal(max(days, 0)) / 7).quantize(Decimal("0.1"))
            if outcome:
                entry["outcome"] = outcome
            self.care.append(entry)
            return
        if code is None and cls is None:
            self.skipped["Procedure (no CPT, HCPCS or procedure class)"] += 1
            return
        p: dict[str, Any] = {"source": self.document(r, "procedure-note", date)}
        if code:
            p["code"] = code
        if cls:
            p["procedure"] = cls
        if date:
            p["date"] = date
        side, levels = _sites(r.get("bodySite") or [])
        if side:
            p["laterality"] = side
        if levels:
            p["levels"] = levels
        purposes = _our_codes(_list(r.get("category")))
        if purposes:
            p["purpose"] = purposes
        injectate = _our_codes(r.get("usedCode") or [])
        if injectate:
            p["injectate"] = injectate
        outcomes = _our_codes(_list(r.get("outcome")))
        if outcomes:
            p["outcome"] = outcomes
        p.update(_relief(observations, self.where))
        self.procedures.append(p)

    def observation(self, r: dict[str, Any]) -> None:
        if r.get("status") == "entered-in-error":
            return
        code = r.get("code")
        date = _date(r.get("effectiveDateTime")) or _date((r.get("effectivePeriod") or {}).get("start"))
        finding = _code_in(code, OUR_FINDINGS)
        ours = _code_in(code, OUR_OBSERVATIONS)
        if self.is_class(finding, FIND.ProvocativeTest):
            if r.get("status") == "cancelled":  # the test was not done
                self.skipped["Observation (cancelled)"] += 1
                return
            e: dict[str, Any] = {"test": finding}
            result = _result(r)
            if result is not None:  # a test documented without its result leaves it unstated
                e["result"] = result
            side, _ = _sites([r.get("bodySite")] if r.get("bodySite") else [])
            if side:
                e["laterality"] = side
            e["source"] = self.document(r, "physical-exam", date)
            self.exam.append(e)
        elif self.is_class(finding, FIND.ImagingFindingKind):
            m: dict[str, Any] = {"kind": finding, "source": self.document(r, "imaging-report", date)}
            _, levels = _sites([r.get("bodySite")] if r.get("bodySite") else [])
            if levels:
                m["levels"] = levels
            self.imaging.append(m)
        elif _code_in(code, LOINC) == PAIN_SEVERITY:
            score = _quantity(r, self.where(r))
            if score is not None and (not self.pain.get("_score_date") or (date or "") >= self.pain["_score_date"]):
                self.pain["score"], self.pain["_score_date"] = score, date or ""
                self.pain.setdefault("source", self.document(r, "clinic-note", date))
        elif ours in ("pain-duration", "pain-character", "pain-location", "disability-score"):
            key = {
                "pain-duration": "durationMonths",
                "pain-character": "character",
                "pain-location": "location",
                "disability-score": "disabilityScore",
            }[ours]
            value = (
                _quantity(r, self.where(r))
                if ours in ("pain-duration", "disability-score")
                else _code_in(r.get("valueCodeableConcept"), OUR_VALUES)
            )
            if value is not None:
                self.pain[key] = value
                self.pain.setdefault("source", self.document(r, "clinic-note", date))
        elif not self.facts.observation(r):
            self.skipped["Observation (code not read)"] += 1

    def condition(self, r: dict[str, Any]) -> None:
        verification = _code_in(r.get("verificationStatus"), _VERIFICATION)
        if verification == "entered-in-error":
            return
        code, kind = icd10cm(r.get("code")), condition_kind(self.kb, r.get("code"))
        if code is None and kind is None:
            self.skipped["Condition (no ICD-10-CM code)"] += 1
            return
        status = _code_in(r.get("clinicalStatus"), "http://terminology.hl7.org/CodeSystem/condition-clinical")
        c: dict[str, Any] = {"code": code} if code else {}
        if kind:
            c["kind"] = kind
        c["source"] = self.document(r, "clinic-note", _date(r.get("recordedDate")))
        if verification == "refuted":
            c["status"] = "absent"
        elif status:
            c["status"] = "resolved" if status in _RESOLVED else "active"
        onset = _date(r.get("onsetDateTime")) or _date((r.get("onsetPeriod") or {}).get("start"))
        if onset:
            c["onset"] = onset
        self.conditions.append(c)

    def fill(self, case: dict[str, Any]) -> None:
        case["documents"] = self.documents
        for key, value in (
            ("conditions", self.conditions),
            ("priorProcedures", self.procedures),
            ("conservativeCare", self.care),
            ("examFindings", self.exam),
            ("imagingFindings", self.imaging),
        ):
            if value:
                case[key] = value
        pain = {k: v for k, v in self.pain.items() if not k.startswith("_")}
        if pain:
            case["painHistory"] = pain
        self.facts.fill(case)


def _quantity(r: dict[str, Any], where: str) -> Decimal | None:
    if "valueQuantity" in r:
        return _decimal((r.get("valueQuantity") or {}).get("value"), f"{where}.valueQuantity.value")
    if "valueInteger" in r:
        return _decimal(r.get("valueInteger"), f"{where}.valueInteger")
    return None


def _result(r: dict[str, Any]) -> str | None:
    value = _code_in(r.get("valueCodeableConcept"), OUR_VALUES)
    if value in ("positive", "negative"):
        return value
    if isinstance(r.get("valueBoolean"), bool):
        return "positive" if r["valueBoolean"] else "negative"
    for concept in _list(r.get("interpretation")):
        code = _code_in(concept, INTERPRETATION)
        if code in ("POS", "NEG"):
            return "positive" if code == "POS" else "negative"
    return None


def _relief(observations: list[dict[str, Any]], where: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    """Percent relief, functional improvement and their durations from the Observations that are part of a procedure."""
    out: dict[str, Any] = {}
    scores = []
    for o in observations:
        ours = _code_in(o.get("code"), OUR_OBSERVATIONS)
        value = _quantity(o, where(o))
        if value is None:
            continue
        if ours == "percent-relief":
            out["percentRelief"] = value
        elif ours == "relief-duration":
            out["reliefMonths"] = value
        elif ours == "functional-improvement":
            out["functionalImprovement"] = value
        elif ours == "functional-improvement-duration":
            out["functionalImprovementMonths"] = value
        elif _code_in(o.get("code"), LOINC) == PAIN_SEVERITY:
            when = o.get("effectiveDateTime") or (o.get("effectivePeriod") or {}).get("start") or ""
            scores.append((str(when), value))
    if "percentRelief" not in out and len(scores) >= 2:
        scores.sort(key=lambda s: s[0])
        before, after = scores[0][1], scores[-1][1]
        if before > 0:
            relief = (before - after) / before * 100
            out["percentRelief"] = max(Decimal(0), min(Decimal(100), relief)).quantize(Decimal("0.1"))
    return out
