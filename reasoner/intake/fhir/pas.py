"""The Da Vinci PAS request Bundle reader: the Claim is the request, the other resources the history.

``read_pas`` validates the Bundle, checks the Claim's supportingInfo references, reads the Claim's
items, diagnoses, date and supporting information into the request (``_claim_request``; an item an
update cancels is listed but not part of the case) and the rest into the history, and returns a
``PasCase``: the case, or what the Claim lacks to be one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reasoner.errors import FhirError
from reasoner.intake.diagnosis_codes import refusal
from reasoner.intake.fhir.history import _HISTORY_TYPES, _History
from reasoner.intake.fhir.resources import (
    CONTRAST_CODES,
    OUR_PROCEDURES,
    OUR_VALUES,
    Issue,
    _case_in,
    _clean_id,
    _code_in,
    _codings,
    _date,
    _decimal,
    _decode,
    _known,
    _reading,
    _ref_id,
    _sites,
    icd10cm,
    procedure_code,
    validate_resource,
)
from reasoner.intake.json_case.schema import CaseIn
from reasoner.knowledge.icd10cm import release as icd10cm_release
from reasoner.vocab import GR

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


#: PAS (Claim update): a modifier extension on Claim.item saying the item is cancelled.
INFO_CANCELLED = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/modifierextension-infoCancelled"
MODIFIER_SIDES = {"LT": "left", "RT": "right", "50": "bilateral"}


@dataclass(frozen=True)
class PasCase:
    """A PAS request Bundle read as a case, or as what the Claim lacks to be one.

    ``case`` is None when the Claim has no CPT or HCPCS code, no ICD-10-CM diagnosis or no date;
    ``missing`` then names each (issue code "required", element, reason). ``items`` pairs each
    Claim.item sequence with its CPT or HCPCS code (None for an item without one). ``cancelled``
    holds the sequences of items an update cancels (PAS ``modifierextension-infoCancelled``):
    they are listed in ``items`` but are not part of the case.
    """

    case: CaseIn | None
    missing: list[Issue]
    bundle: dict[str, Any]
    claim: dict[str, Any]
    claim_full_url: str | None
    items: list[tuple[int, str | None]]
    skipped: dict[str, int]
    cancelled: frozenset[int] = frozenset()

    @property
    def problem(self) -> str | None:
        """Why there is no case, in a sentence (None when there is one)."""
        return "; ".join(f"{why} ({where})" if where else why for _, where, why in self.missing) or None


def _day(text: str) -> dt.date | None:
    """The date ``text`` gives, or None (the case's own validation then says what is wrong with it)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def read_pas(payload: bytes, kb: KnowledgeBase) -> PasCase:
    """Read a Da Vinci PAS request Bundle (Claim first) as a case.

    Raises:
        FhirError: not UTF-8, not FHIR, invalid resources, a number over the caps, the Claim not
            first, a broken supportingInfo reference (400), no CPT/HCPCS code, diagnosis or date
            (422), too large (413).
    """
    icd10cm_release()  # read before the guard below, which refuses every file access
    with _reading():
        return _read_pas(payload, kb)


def _read_pas(payload: bytes, kb: KnowledgeBase) -> PasCase:
    bundle = _decode(payload)
    if bundle.get("resourceType") != "Bundle":
        raise FhirError([("invalid", "resourceType", "expected a PAS request Bundle (resourceType Bundle)")])
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
    for i, e in enumerate(entries):
        if not isinstance(e.get("resource"), dict):
            raise FhirError([("structure", f"Bundle.entry[{i}].resource", "every entry needs a resource")])
        validate_resource(e["resource"], f"Bundle.entry[{i}].resource")
    validate_resource({k: v for k, v in bundle.items() if k != "entry"}, "Bundle")
    if not entries or entries[0]["resource"].get("resourceType") != "Claim":
        raise FhirError([("invalid", "Bundle.entry[0]", "the first entry of a PAS request Bundle must be the Claim")])
    claim = entries[0]["resource"]
    resources = [e["resource"] for e in entries[1:]]
    index = _index(entries)
    for i, info in enumerate(claim.get("supportingInfo") or []):
        ref = (info.get("valueReference") or {}).get("reference") if isinstance(info, dict) else None
        if ref and _resolve(index, ref) is None:
            where = f"Bundle.entry[0].resource.supportingInfo[{i}].valueReference"
            raise FhirError([("not-found", where, "the reference points to no resource in the bundle")])
    history = _History(kb, {id(e["resource"]): f"Bundle.entry[{i}].resource" for i, e in enumerate(entries)})
    history.read([r for r in resources if r.get("resourceType") in _HISTORY_TYPES])
    for r in resources:
        if r.get("resourceType") not in _HISTORY_TYPES:
            history.skipped[str(r.get("resourceType"))] += 1
    request, items, missing, cancelled = _claim_request(claim, kb)
    history.skipped.update(
        {"Claim.item (no CPT or HCPCS code)": sum(1 for _, c in items if c is None)} if request else {}
    )
    case_in = None
    if request is not None:
        case: dict[str, Any] = {"id": _clean_id(str(claim.get("id") or "pas-claim")), "request": request}
        patient = _ref_id(claim.get("patient"))
        if patient:
            case["patient"] = _clean_id(patient)
        history.fill(case)
        case_in = _case_in(case)
    full_url = entries[0].get("fullUrl")
    skipped = {k: v for k, v in history.skipped.items() if v}
    url = full_url if isinstance(full_url, str) else None
    return PasCase(case_in, missing, bundle, claim, url, items, skipped, frozenset(cancelled))


def _index(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for e in entries:
        r = e["resource"]
        if isinstance(e.get("fullUrl"), str):
            out[e["fullUrl"]] = r
            tail = "/".join(e["fullUrl"].rstrip("/").split("/")[-2:])
            out.setdefault(tail, r)
        if r.get("id"):
            out.setdefault(f"{r.get('resourceType')}/{r.get('id')}", r)
    return out


def _resolve(index: dict[str, dict[str, Any]], ref: str) -> dict[str, Any] | None:
    return index.get(ref) or index.get("/".join(ref.rstrip("/").split("/")[-2:]))


def _cancelled(item: dict[str, Any]) -> bool:
    """Whether a Claim item is cancelled by an update (PAS ``modifierextension-infoCancelled`` true)."""
    return any(
        isinstance(m, dict) and m.get("url") == INFO_CANCELLED and m.get("valueBoolean") is True
        for m in item.get("modifierExtension") or []
    )


def _claim_request(
    claim: dict[str, Any], kb: KnowledgeBase
) -> tuple[dict[str, Any] | None, list[tuple[int, str | None]], list[Issue], list[int]]:
    codes: list[dict[str, Any]] = []
    items: list[tuple[int, str | None]] = []
    cancelled: list[int] = []
    levels: list[str] = []
    side = None
    for i, item in enumerate(claim.get("item") or []):
        code = procedure_code(item.get("productOrService"))
        sequence = int(item.get("sequence") or i + 1)
        items.append((sequence, code))
        if _cancelled(item):
            cancelled.append(sequence)
            continue
        if code is None:
            continue
        line: dict[str, Any] = {"code": code}
        units = _decimal(
            (item.get("quantity") or {}).get("value"), f"Bundle.entry[0].resource.item[{i}].quantity.value"
        )
        if units is not None:
            line["units"] = int(units)
        mods = [c["code"] for m in item.get("modifier") or [] for c in _codings(m)]
        if mods:
            line["modifiers"] = mods
            side = next((MODIFIER_SIDES[m] for m in mods if m in MODIFIER_SIDES), side)
        cls = _code_in(item.get("productOrService"), OUR_PROCEDURES)
        if cls and not _known(kb, cls, GR.Procedure):
            where = f"Bundle.entry[0].resource.item[{i}].productOrService"
            raise FhirError([("invalid", where, "not a procedure class of the knowledge base")])
        if cls:
            line["procedure"] = cls
        _, item_levels = _sites(item.get("subSite") or [])
        levels += [lv for lv in item_levels if lv not in levels]
        codes.append(line)
    missing: list[Issue] = []
    if not codes:
        missing.append(("required", "Bundle.entry[0].resource.item", "no item has a CPT or HCPCS code"))
    given = claim.get("diagnosis") or []
    coded = [(i, code) for i, d in enumerate(given) if (code := icd10cm(d.get("diagnosisCodeableConcept")))]
    coded.sort(key=lambda pair: given[pair[0]].get("sequence") or 0)
    diagnoses = [code for _, code in coded]
    if not diagnoses:
        missing.append(("required", "Bundle.entry[0].resource.diagnosis", "no ICD-10-CM diagnosis"))
    first = (claim.get("item") or [{}])[0]
    date = _date(first.get("servicedDate")) or _date((first.get("servicedPeriod") or {}).get("start"))
    date = date or _date(claim.get("created"))
    if not date:
        missing.append(("required", "Bundle.entry[0].resource.created", "no date of service"))
    elif when := _day(date):  # a code the release in force does not have: refused, as a payer's intake refuses it
        refused: list[Issue] = [
            ("code-invalid", f"Bundle.entry[0].resource.diagnosis[{i}].diagnosisCodeableConcept", why)
            for i, code in coded
            if (why := refusal(code, when, kb)) is not None
        ]
        if refused:
            raise FhirError(refused)
    if missing:
        return None, items, missing, cancelled
    request: dict[str, Any] = {"date": date, "codes": codes, "diagnoses": diagnoses}
    if side:
        request["laterality"] = side
    if levels:
        request["levels"] = levels
    for info in claim.get("supportingInfo") or []:
        category = _code_in(info.get("category"), OUR_VALUES)
        value = _code_in(info.get("code"), OUR_VALUES)
        if category == "image-guidance" and value:
            request["imageGuidance"] = value
        elif category == "contrast":
            if isinstance(info.get("valueBoolean"), bool):
                request["contrast"] = info["valueBoolean"]
            elif value in CONTRAST_CODES:
                request["contrast"] = CONTRAST_CODES[value]
        elif category == "purpose" and value:
            request["purpose"] = value
        elif category == "same-day-blocks-justified" and isinstance(info.get("valueBoolean"), bool):
            request["sameDayBlocksJustified"] = info["valueBoolean"]
    return request, items, [], cancelled


__all__ = ["PasCase", "read_pas"]
