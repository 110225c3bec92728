"""A structural check of Da Vinci CRD 2.2.1's coverage-information extension, for the tests.

Written from the extension's StructureDefinition in the CRD 2.2.1 IG source
(``input/fsh/extensions/CoverageInformation.fsh`` of HL7/davinci-crd at tag 2.2.1): the
sub-extensions with their cardinalities and value types, the required code bindings, ``detail``'s
own parts, and the invariants crd-ci-q1 to q9; plus the hook rules of CRD's "Hooks" page that bear
on the extension (hook-19: a supporting hook asks for no clinical or administrative documentation).
:func:`coverage_information_problems` returns each breach in words (empty when there is none).
FHIR.js (tests/fhir_validation.py) checks the resource against FHIR R4, which knows nothing of
this profile; this checks the profile.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

URL = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
MANY = 1_000_000


@dataclass(frozen=True)
class Part:
    """One sub-extension: its cardinality, the value[x] types it may have, the codes a required binding allows."""

    min: int
    max: int
    types: frozenset[str]
    codes: frozenset[str] | None = None


def _part(lo: int, hi: int, *types: str, codes: Iterable[str] | None = None) -> Part:
    return Part(lo, hi, frozenset(types), frozenset(codes) if codes is not None else None)


_ORDER_TYPES = (
    "Appointment",
    "CommunicationRequest",
    "DeviceRequest",
    "MedicationRequest",
    "NutritionOrder",
    "ServiceRequest",
    "VisionPrescription",
)
PARTS: dict[str, Part] = {
    "coverage": _part(1, 1, "valueReference"),
    "covered": _part(1, 1, "valueCode", codes=("covered", "not-covered", "conditional", "indeterminate")),
    "pa-needed": _part(
        0, 1, "valueCode", codes=("no-auth", "auth-needed", "satisfied", "performpa", "conditional", "indeterminate")
    ),
    "doc-needed": _part(0, MANY, "valueCode", codes=("clinical", "admin", "patient", "conditional", "indeterminate")),
    "doc-purpose": _part(0, MANY, "valueCode", codes=("withpa", "withclaim", "withorder", "retain-doc", "OTH")),
    "info-needed": _part(
        0, MANY, "valueCode", codes=("performer", "location", "timeframe", "contract-window", "detail-code", "OTH")
    ),
    "billingCode": _part(0, MANY, "valueCoding"),
    "reason": _part(0, MANY, "valueCodeableConcept"),
    "detail": _part(0, MANY),  # complex: its own parts below
    "dependency": _part(0, MANY, "valueReference"),
    "questionnaire": _part(0, MANY, "valueCanonical"),
    "date": _part(1, 1, "valueDate"),
    "coverage-assertion-id": _part(1, 1, "valueString"),
    "satisfied-pa-id": _part(0, 1, "valueString"),
    "contact": _part(0, MANY, "valueContactDetail"),
    "expiry-date": _part(0, 1, "valueDate"),
}
DETAIL_PARTS: dict[str, Part] = {
    "category": _part(1, 1, "valueCode", codes=("cat-limitation", "cat-decisional", "cat-other")),
    "code": _part(1, 1, "valueCodeableConcept"),
    "value": _part(1, 1, "valueBoolean", "valueString", "valueUrl", "valueQuantity", "valuePeriod"),
    "qualification": _part(0, 1, "valueString"),
}
#: crd-ci-q7: a reason coded from this value set (CRD's temporary codes) needs no text.
ASSERTION_REASONS = frozenset(
    {"gold-card", "no-member-found", "no-active-coverage", "coverage-not-found", "auth-out-network", "technical"}
)
CRD_TEMP = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"
_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
_REFERENCE_TYPE = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?$")


def coverage_information_problems(ext: Any, *, supporting_hook: bool = False) -> list[str]:
    """Every way ``ext`` breaks CRD 2.2.1's coverage-information rules, in words; empty when it keeps them.

    ``supporting_hook``: the extension answers a supporting hook (order-select, encounter-start,
    encounter-discharge), where hook-19 forbids ``doc-needed`` clinical or admin.
    """
    if not isinstance(ext, dict) or ext.get("url") != URL:
        return [f"not a coverage-information extension (url must be {URL})"]
    problems = ["coverage-information: a complex extension has no value[x] (ext-1)"] if _values(ext) else []
    parts = _parts(ext, PARTS, "coverage-information", problems)
    for i, detail in enumerate(parts.get("detail", [])):
        where = f"detail[{i}]"
        detail_parts = _parts(detail, DETAIL_PARTS, where, problems)
        for j, value in enumerate(
            v for e in detail_parts.get("value", []) for k, v in e.items() if k == "valueQuantity"
        ):
            if "comparator" in value:
                problems.append(f"{where}.value[{j}]: a SimpleQuantity has no comparator")
    problems += _references(parts)
    problems += _invariants(_codes(parts), parts)
    if supporting_hook and {"clinical", "admin"} & set(_codes(parts).get("doc-needed", [])):
        problems.append("hook-19: a supporting hook's coverage information asks for no clinical or admin documentation")
    return problems


def _values(ext: dict[str, Any]) -> list[str]:
    return [k for k in ext if k.startswith("value")]


def _parts(ext: dict[str, Any], known: dict[str, Part], where: str, problems: list[str]) -> dict[str, list[Any]]:
    """The sub-extensions by url, checking each one's shape, value type, code and the cardinalities."""
    found: dict[str, list[dict[str, Any]]] = {}
    subs = ext.get("extension")
    if not isinstance(subs, list) or not subs:
        problems.append(f"{where}: no sub-extensions")
        return {}
    for k, sub in enumerate(subs):
        url = sub.get("url") if isinstance(sub, dict) else None
        if url not in known:
            problems.append(f"{where}.extension[{k}]: unknown sub-extension {url!r}")
            continue
        found.setdefault(url, []).append(sub)
        part = known[url]
        values = _values(sub)
        if not part.types:  # complex
            if values:
                problems.append(f"{where}.{url}: a complex part has no value[x]")
            continue
        if "extension" in sub:
            problems.append(f"{where}.{url}: a simple part has no sub-extensions (ext-1)")
        if len(values) != 1:
            problems.append(f"{where}.{url}: must have exactly one value[x], has {len(values)}")
            continue
        if values[0] not in part.types:
            problems.append(f"{where}.{url}: {values[0]} is not one of {', '.join(sorted(part.types))}")
            continue
        value = sub[values[0]]
        if part.codes is not None and value not in part.codes:
            problems.append(f"{where}.{url}: code {value!r} is not in the required value set")
        if values[0] == "valueDate" and not (isinstance(value, str) and _DATE.match(value)):
            problems.append(f"{where}.{url}: not a FHIR date")
        if values[0] in ("valueString", "valueCode", "valueUrl", "valueCanonical") and not (
            isinstance(value, str) and value.strip()
        ):
            problems.append(f"{where}.{url}: an empty {values[0]}")
    for url, part in known.items():
        n = len(found.get(url, []))
        if not part.min <= n <= part.max:
            most = "*" if part.max == MANY else str(part.max)
            problems.append(f"{where}.{url}: {n} found, cardinality {part.min}..{most}")
    return found


def _codes(parts: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    return {url: [s["valueCode"] for s in subs if "valueCode" in s] for url, subs in parts.items()}


def _references(parts: dict[str, list[dict[str, Any]]]) -> list[str]:
    problems = []
    for url, allowed in (("coverage", ("Coverage",)), ("dependency", _ORDER_TYPES)):
        for sub in parts.get(url, []):
            ref = sub.get("valueReference") or {}
            target = ref.get("type") or (
                m.group(1) if (m := _REFERENCE_TYPE.search(ref.get("reference", ""))) else None
            )
            if target not in allowed:
                problems.append(f"{url}: must reference {' or '.join(allowed)}, references {target or 'nothing'}")
    return problems


def _invariants(codes: dict[str, list[str]], parts: dict[str, list[dict[str, Any]]]) -> list[str]:
    problems = []
    keyed = {k: set(codes.get(k, [])) for k in ("covered", "pa-needed", "doc-needed", "doc-purpose", "info-needed")}
    decisions = keyed["covered"] | keyed["pa-needed"] | keyed["doc-needed"]
    has = {url: bool(parts.get(url)) for url in PARTS}
    if has["questionnaire"] and not has["doc-needed"]:
        problems.append("crd-ci-q1: questionnaire only with doc-needed")
    if "not-covered" in keyed["covered"] and has["pa-needed"]:
        problems.append("crd-ci-q2: not-covered has no pa-needed")
    if ("conditional" in decisions) != has["info-needed"]:
        problems.append("crd-ci-q3: info-needed if and only if covered, pa-needed or doc-needed is conditional")
    if keyed["pa-needed"] & {"satisfied", "no-auth", "noauth", "not-covered"} and "withpa" in keyed["doc-purpose"]:
        problems.append("crd-ci-q4: no doc-purpose withpa when prior authorization is not needed")
    if ("satisfied" in keyed["pa-needed"]) != has["satisfied-pa-id"]:
        problems.append("crd-ci-q5: satisfied-pa-id if and only if pa-needed is satisfied")
    if "OTH" in keyed["info-needed"] and not has["reason"]:
        problems.append("crd-ci-q6: info-needed OTH needs a reason")
    if "OTH" in keyed["info-needed"] and not has["detail"]:
        problems.append("info-needed OTH needs a detail explaining the information needed (the element's definition)")
    for k, sub in enumerate(parts.get("reason", [])):
        concept = sub.get("valueCodeableConcept") or {}
        coded = [
            c for c in concept.get("coding") or [] if c.get("system") == CRD_TEMP and c.get("code") in ASSERTION_REASONS
        ]
        if not (isinstance(concept.get("text"), str) and concept["text"].strip()) and not coded:
            problems.append(f"crd-ci-q7: reason[{k}] is neither coded from the assertion reasons nor has text")
    if keyed["doc-purpose"] - {"conditional"} and not has["reason"]:
        problems.append("crd-ci-q8: doc-purpose needs a reason")
    if "indeterminate" in decisions and not has["reason"]:
        problems.append("crd-ci-q9: an indeterminate decision needs a reason")
    return problems
