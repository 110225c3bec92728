"""The FHIR twins of JSON example cases: a Da Vinci PAS request Bundle and a CDS Hooks order-sign request.

For ``examples/cases/<name>.json`` this writes ``examples/fhir/<name>.pas.json`` and
``examples/fhir/<name>.order-sign.json``, the same case in FHIR R4 as docs/fhir-mapping.md reads it,
in the conventions of the seed's twins (``sij-seed-neurectomy.*.json``)::

    python -m tools.fhir_examples examples/cases/pap-initial-b1-hst.json   # one or more cases
    python -m tools.fhir_examples --check examples/cases/pap-*.json         # exit 1 if a twin differs

The request becomes the Claim (PAS) or the draft orders (a DeviceRequest for a DME code, else a
ServiceRequest); each document a DocumentReference; each observation, condition, treatment, device
and usage sample the resource the intake maps to that fact, citing its document (``derivedFrom``,
``evidence``, ``report``). It writes the generic facts of issue 17 only: a case with spine history
(``priorProcedures``, ``examFindings``, ...) or request fields other than date, codes and diagnoses
is refused, naming the field. The files are committed and reviewed like hand-written ones;
tests/test_fhir_examples_new_policies.py judges each twin against the case's expected file, so a
mistake here cannot pass unnoticed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "examples" / "fhir"
BASE = "http://example.org/fhir/"
OURS = "https://w3id.org/guideline-reasoner/"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PAS_TEMP = "http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes"
PAS_EXT = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
#: LOINC codes given beside our observation class (the knowledge base declares none yet; our class is read).
LOINC_OF = {"BodyMassIndex": ("39156-5", "Body mass index (BMI) [Ratio]")}
#: A document's kind in the case form, as a LOINC document type.
DOCUMENT_TYPES = {
    "clinic-note": ("11506-3", "Progress note"),
    "procedure-note": ("28570-0", "Procedure note"),
    "imaging-report": ("18748-4", "Diagnostic imaging study"),
    "physical-exam": ("29545-1", "Physical findings"),
    "patient-report": ("51855-5", "Patient Note"),
}
SUPPORTED = {"id", "policy", "patient", "request", "documents", "observations", "conditions", "treatments"}
SUPPORTED |= {"devices", "usageSeries"}
REQUEST_FIELDS = {"date", "codes", "diagnoses", "purpose"}
#: The history prefetch of the service's discovery (reasoner.interop.cds_hooks.PREFETCH) and the type each holds.
PREFETCH = {
    "conditions": "Condition",
    "procedures": "Procedure",
    "observations": "Observation",
    "devices": "Device",
    "deviceUse": "DeviceUseStatement",
}
_CODE = re.compile(r"^(\d{4}[0-9FTU]|[A-V]\d{4})$")
_LOINC_CODE = re.compile(r"^\d{1,7}-\d$")


class Unsupported(ValueError):
    """A case field this script cannot write in FHIR (write that twin by hand, or extend the script)."""


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _concept(*codings: dict[str, Any]) -> dict[str, Any]:
    return {"coding": list(codings)}


def _procedure_concept(code: str) -> dict[str, Any]:
    """A CPT or HCPCS code (CPT's system for five digits), or our procedure class."""
    if _CODE.match(code):
        return _concept(_coding(CPT if code[:1].isdigit() else HCPCS, code))
    return _concept(_coding(OURS + "procedure", code))


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def _number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


class _Twin:
    """The FHIR resources of one JSON case: the request's parts and the history."""

    def __init__(self, case: dict[str, Any]) -> None:
        for key in case:
            if key not in SUPPORTED:
                raise Unsupported(f"{key}: not written by this script")
        for key in case["request"]:
            if key not in REQUEST_FIELDS:
                raise Unsupported(f"request.{key}: not written by this script")
        self.case = case
        self.name = str(case["id"])
        self.patient = str(case.get("patient") or "patient-0001")
        self.date = str(case["request"]["date"])
        self.documents = {str(d["id"]): d for d in case.get("documents") or []}
        self.history: list[dict[str, Any]] = []
        self._ids: set[str] = set()

    def ref(self, r: dict[str, Any]) -> str:
        return f"{r['resourceType']}/{r['id']}"

    def subject(self) -> dict[str, Any]:
        return {"reference": f"Patient/{self.patient}"}

    def new_id(self, stem: str) -> str:
        n = 1
        while f"{stem}-{n}" in self._ids:
            n += 1
        self._ids.add(f"{stem}-{n}")
        return f"{stem}-{n}"

    def cites(self, fact: dict[str, Any]) -> list[dict[str, Any]]:
        source = fact.get("source")
        return [{"reference": f"DocumentReference/{source}"}] if source in self.documents else []

    def build(self) -> None:
        self.history += [self.document(doc) for doc in self.documents.values()]
        self.history += [self.observation(o) for o in self.case.get("observations") or []]
        self.history += [self.condition(c) for c in self.case.get("conditions") or []]
        self.history += [self.treatment(t) for t in self.case.get("treatments") or []]
        self.history += [r for d in self.case.get("devices") or [] for r in self.device(d)]
        self.history += [r for s in self.case.get("usageSeries") or [] for r in self.series(s)]

    def document(self, doc: dict[str, Any]) -> dict[str, Any]:
        code, display = DOCUMENT_TYPES.get(str(doc.get("kind")), DOCUMENT_TYPES["clinic-note"])
        r: dict[str, Any] = {"resourceType": "DocumentReference", "id": str(doc["id"]), "status": "current"}
        r["type"] = _concept(_coding(LOINC, code, display))
        r["subject"] = self.subject()
        if doc.get("date"):
            r["date"] = f"{doc['date']}T12:00:00Z"
        r["content"] = [{"attachment": {"contentType": "text/plain", "title": str(doc.get("title") or doc["id"])}}]
        self._ids.add(r["id"])
        return r

    def observation_code(self, code: str) -> dict[str, Any]:
        if _LOINC_CODE.match(code):
            return _concept(_coding(LOINC, code))
        codings = [_coding(OURS + "observation", code)]
        if code in LOINC_OF:
            codings.insert(0, _coding(LOINC, *LOINC_OF[code]))
        return _concept(*codings)

    def value(self, fact: dict[str, Any]) -> dict[str, Any]:
        """The value[x] of an observation or a component of the case form."""
        if "valueBoolean" in fact:
            return {"valueBoolean": bool(fact["valueBoolean"])}
        if "valueCode" in fact:
            return {"valueCodeableConcept": _concept(_coding(OURS + "observation", str(fact["valueCode"])))}
        if fact.get("value") is None:
            return {}
        quantity: dict[str, Any] = {"value": _number(fact["value"])}
        if fact.get("unit"):
            quantity.update({"unit": fact["unit"], "system": UCUM, "code": fact["unit"]})
        return {"valueQuantity": quantity}

    def observation(self, o: dict[str, Any]) -> dict[str, Any]:
        code = str(o["code"])
        r: dict[str, Any] = {"resourceType": "Observation", "id": self.new_id(_kebab(code)), "status": "final"}
        r["code"] = self.observation_code(code)
        r["subject"] = self.subject()
        if o.get("date"):
            r["effectiveDateTime"] = o["date"]
        elif o.get("period"):
            r["effectivePeriod"] = dict(o["period"])
        r.update(self.value(o))
        if o.get("method"):
            r["method"] = _procedure_concept(str(o["method"]))
        if self.cites(o):
            r["derivedFrom"] = self.cites(o)
        parts = [{"code": self.observation_code(str(c["code"])), **self.value(c)} for c in o.get("components") or []]
        if parts:
            r["component"] = parts
        return r

    def condition(self, c: dict[str, Any]) -> dict[str, Any]:
        codings = [_coding(ICD10CM, str(c["code"]))] if c.get("code") else []
        if c.get("kind"):
            codings.append(_coding(OURS + "condition", str(c["kind"])))
        stem = _kebab(str(c["kind"])) if c.get("kind") else "condition-" + str(c["code"]).lower().replace(".", "")
        r: dict[str, Any] = {"resourceType": "Condition", "id": self.new_id(stem)}
        status = c.get("status")
        if status in ("active", "resolved"):
            clinical = _coding("http://terminology.hl7.org/CodeSystem/condition-clinical", str(status))
            r["clinicalStatus"] = _concept(clinical)
        verification = "refuted" if status == "absent" else "confirmed"
        r["verificationStatus"] = _concept(
            _coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", verification)
        )
        r["code"] = _concept(*codings)
        r["subject"] = self.subject()
        if c.get("onset"):
            r["onsetDateTime"] = c["onset"]
        if self.cites(c):
            r["evidence"] = [{"detail": self.cites(c)}]
        return r

    def treatment(self, t: dict[str, Any]) -> dict[str, Any]:
        """A medication or programme as a Procedure (one whose result is stated: Procedure.outcome)."""
        codings = [_coding(OURS + "procedure", str(t["kind"]))] if t.get("kind") else []
        if t.get("code"):
            codings = _procedure_concept(str(t["code"]))["coding"] + codings
        stem = _kebab(str(t.get("kind") or t.get("code")))
        r: dict[str, Any] = {"resourceType": "Procedure", "id": self.new_id(stem)}
        r["status"] = "completed" if t.get("end") else "in-progress"
        r["code"] = _concept(*codings)
        r["subject"] = self.subject()
        period = {k: t[k] for k in ("start", "end") if t.get(k)}
        if period:
            r["performedPeriod"] = period
        if t.get("outcome"):
            r["outcome"] = _concept(_coding(OURS + "case", str(t["outcome"])))
        if self.cites(t):
            r["report"] = self.cites(t)
        return r

    def device(self, d: dict[str, Any]) -> list[dict[str, Any]]:
        """The Device (HCPCS type) and, when its set-up is dated, a DeviceUseStatement."""
        if d.get("outcome"):
            raise Unsupported("devices.outcome: FHIR intake does not read a device's outcome")
        device_id = str(d.get("id") or self.new_id("device"))
        self._ids.add(device_id)
        device: dict[str, Any] = {"resourceType": "Device", "id": device_id, "status": "active"}
        device.update({"type": _procedure_concept(str(d["code"])), "patient": self.subject()})
        if not d.get("start"):
            return [device]
        use: dict[str, Any] = {"resourceType": "DeviceUseStatement", "id": self.new_id(f"{device_id}-use")}
        use["status"] = "completed" if d.get("end") else "active"
        use["subject"] = self.subject()
        use["timingPeriod"] = {k: d[k] for k in ("start", "end") if d.get(k)}
        use["device"] = {"reference": f"Device/{device_id}"}
        if self.cites(d):
            use["derivedFrom"] = self.cites(d)
        return [device, use]

    def series(self, s: dict[str, Any]) -> list[dict[str, Any]]:
        """One Observation per dated sample, naming the device (a day without data has none)."""
        samples = list(s.get("samples") or [])
        if s.get("start") and s.get("values") is not None:
            start = dt.date.fromisoformat(str(s["start"]))
            samples = [
                {"date": (start + dt.timedelta(days=i)).isoformat(), "value": v} for i, v in enumerate(s["values"])
            ]
        out = []
        for sample in samples:
            if sample.get("value") is None:
                continue
            r: dict[str, Any] = {"resourceType": "Observation", "id": self.new_id(f"{_kebab(str(s['code']))}-use")}
            r.update({"status": "final", "code": self.observation_code(str(s["code"])), "subject": self.subject()})
            r["effectiveDateTime"] = sample["date"]
            r.update(self.value({"value": sample["value"], "unit": s.get("unit")}))
            if s.get("device"):
                r["device"] = {"reference": f"Device/{s['device']}"}
            if self.cites(s):
                r["derivedFrom"] = self.cites(s)
            out.append(r)
        return out


def _parties(twin: _Twin) -> list[dict[str, Any]]:
    """The Patient, the requesting and paying Organizations and the Coverage, as in the seed's twins."""
    patient = {"resourceType": "Patient", "id": twin.patient, "name": [{"family": "EXAMPLE", "given": ["PAT"]}]}
    patient["gender"] = "unknown"
    orgs = [
        {"resourceType": "Organization", "id": oid, "active": True, "name": name, "type": [_concept(_coding(x12, t))]}
        for oid, name, t, x12 in (
            ("requestor-0001", "EXAMPLE CLINIC", "X3", "https://codesystem.x12.org/005010/98"),
            ("insurer-0001", "EXAMPLE HEALTH PLAN", "PR", "https://codesystem.x12.org/005010/98"),
        )
    ]
    coverage: dict[str, Any] = {"resourceType": "Coverage", "id": "coverage-0001", "status": "active"}
    coverage.update({"subscriberId": "00000000001", "beneficiary": twin.subject()})
    relationship = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
    coverage["relationship"] = _concept(_coding(relationship, "self"))
    coverage["payor"] = [{"reference": "Organization/insurer-0001"}]
    return [patient, *orgs, coverage]


def _item(twin: _Twin, sequence: int, line: dict[str, Any]) -> dict[str, Any]:
    code = str(line["code"])
    dme = code[:1] in "EKL"  # durable medical equipment, rented, at home; else a surgical service
    x12 = "https://codesystem.x12.org/005010/"
    item: dict[str, Any] = {
        "extension": [
            {"url": PAS_EXT + name, "valueCodeableConcept": _concept(_coding(x12 + table, code))}
            for name, table, code in (
                ("extension-serviceItemRequestType", "1525", "HS"),
                ("extension-certificationType", "1322", "I"),
            )
        ],
        "sequence": sequence,
        "diagnosisSequence": list(range(1, len(twin.case["request"]["diagnoses"]) + 1)),
        "category": _concept(_coding(x12 + "1365", "12" if dme else "2")),
        "productOrService": _concept(_coding(HCPCS, code)),
    }  # fmt: skip
    if line.get("modifiers"):
        item["modifier"] = [_concept(_coding(CPT, str(m))) for m in line["modifiers"]]
    item["servicedDate"] = twin.date
    pos = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
    item["locationCodeableConcept"] = _concept(_coding(pos, "12" if dme else "22"))
    item["quantity"] = {"value": int(line.get("units") or 1)}
    return item


def pas_bundle(case: dict[str, Any]) -> dict[str, Any]:
    """The PAS request Bundle of a JSON case: the Claim first, then the parties and the history."""
    twin = _Twin(case)
    twin.build()
    created = f"{twin.date}T09:30:00-05:00"
    trace = {"system": "http://example.org/PATIENT_EVENT_TRACE_NUMBER", "value": twin.name.upper()}
    claim: dict[str, Any] = {"resourceType": "Claim", "id": twin.name, "identifier": [trace], "status": "active"}
    claim["type"] = _concept(_coding("http://terminology.hl7.org/CodeSystem/claim-type", "professional"))
    claim.update({"use": "preauthorization", "patient": twin.subject(), "created": created})
    claim["insurer"] = {"reference": "Organization/insurer-0001"}
    claim["provider"] = {"reference": "Organization/requestor-0001"}
    claim["priority"] = _concept(_coding("http://terminology.hl7.org/CodeSystem/processpriority", "normal"))
    additional = _concept(_coding(PAS_TEMP, "additionalInformation"))
    info = [
        {"sequence": i, "category": additional, "valueReference": {"reference": twin.ref(r)}}
        for i, r in enumerate(twin.history, start=1)
    ]
    purpose = case["request"].get("purpose")
    if purpose:  # a supportingInfo of our case value "purpose", first
        said = {"category": _concept(_coding(OURS + "case", "purpose"))}
        said["code"] = _concept(_coding(OURS + "case", purpose))
        rest = [{k: v for k, v in x.items() if k != "sequence"} for x in info]
        info = [{"sequence": i} | x for i, x in enumerate([said, *rest], 1)]
    if info:
        claim["supportingInfo"] = info
    claim["diagnosis"] = [
        {"sequence": i, "diagnosisCodeableConcept": _concept(_coding(ICD10CM, str(d)))}
        for i, d in enumerate(case["request"]["diagnoses"], start=1)
    ]
    claim["insurance"] = [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/coverage-0001"}}]
    claim["item"] = [_item(twin, i, line) for i, line in enumerate(case["request"]["codes"], start=1)]
    entries = [claim, *_parties(twin), *twin.history]
    return {
        "resourceType": "Bundle",
        "id": f"{twin.name}-pas",
        "identifier": {"system": "http://example.org/SUBMITTER_TRANSACTION_IDENTIFIER", "value": twin.name.upper()},
        "type": "collection",
        "timestamp": created,
        "entry": [{"fullUrl": BASE + twin.ref(r), "resource": r} for r in entries],
    }


def _order(twin: _Twin, line: dict[str, Any]) -> dict[str, Any]:
    """A draft order: a DeviceRequest for durable medical equipment (HCPCS E, K, L), else a ServiceRequest."""
    code = str(line["code"])
    reasons = [_concept(_coding(ICD10CM, str(d))) for d in twin.case["request"]["diagnoses"]]
    word = twin.case["request"].get("purpose")
    purpose = _concept(_coding(OURS + "case", str(word))) if word else None
    if code[:1] in "EKL":
        order: dict[str, Any] = {"resourceType": "DeviceRequest", "id": f"{twin.name}-{code}"[:64]}
        order.update({"status": "draft", "intent": "order", "codeCodeableConcept": _procedure_concept(code)})
        order.update({"subject": twin.subject(), "occurrenceDateTime": twin.date})
        order.update({"authoredOn": twin.date, "requester": {"reference": "Practitioner/example"}})
        if purpose:  # a DeviceRequest has no category: a parameter coded with our "purpose"
            said = _concept(_coding(OURS + "case", "purpose"))
            order["parameter"] = [{"code": said, "valueCodeableConcept": purpose}]
        return {**order, "reasonCode": reasons}
    order = {"resourceType": "ServiceRequest", "id": f"{twin.name}-{code}"[:64], "status": "draft", "intent": "order"}
    order["code"] = _procedure_concept(code)
    if purpose:
        order["category"] = [purpose]
    order["quantityQuantity"] = {"value": int(line.get("units") or 1)}
    order.update({"subject": twin.subject(), "occurrenceDateTime": twin.date})
    order.update({"requester": {"reference": "Practitioner/example"}, "reasonCode": reasons})
    return order


def _searchset(twin: _Twin, kind: str, resources: list[dict[str, Any]]) -> dict[str, Any]:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(resources)}
    bundle["link"] = [{"relation": "self", "url": f"{BASE}{kind}?patient={twin.patient}"}]
    entries = [{"fullUrl": BASE + twin.ref(r), "resource": r, "search": {"mode": "match"}} for r in resources]
    return {**bundle, "entry": entries} if entries else bundle


def order_sign(case: dict[str, Any]) -> dict[str, Any]:
    """The CDS Hooks order-sign request of a JSON case: its orders drafted, its history prefetched."""
    twin = _Twin(case)
    twin.build()
    patient, _, _, coverage = _parties(twin)
    orders = [_order(twin, line) for line in case["request"]["codes"]]
    of = {k: [r for r in twin.history if r["resourceType"] == k] for k in PREFETCH.values()}
    prefetch: dict[str, Any] = {"patient": patient}
    for key, kind in PREFETCH.items():  # the service's prefetch; devices only when the case has some
        if of[kind] or key in ("conditions", "procedures", "observations"):
            prefetch[key] = _searchset(twin, kind, of[kind])
    prefetch["coverage"] = _searchset(twin, "Coverage", [coverage])
    return {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{BASE}{twin.name}/order-sign")),
        "context": {
            "userId": "Practitioner/example",
            "patientId": twin.patient,
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"fullUrl": BASE + twin.ref(o), "resource": o} for o in orders],
            },
        },
        "prefetch": prefetch,
    }


def twins(case_path: Path) -> dict[Path, str]:
    """The twin files of a JSON case and their text (JSON, two-space indented, a final newline)."""
    case = json.loads(case_path.read_text(encoding="utf-8"))
    name = case_path.name.removesuffix(".json")
    return {
        OUT / f"{name}.pas.json": json.dumps(pas_bundle(case), indent=2, ensure_ascii=False) + "\n",
        OUT / f"{name}.order-sign.json": json.dumps(order_sign(case), indent=2, ensure_ascii=False) + "\n",
    }


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the twins of the cases named."""
    parser = argparse.ArgumentParser(prog="python -m tools.fhir_examples", description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="+", type=Path, help="JSON example cases (examples/cases/<name>.json)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a twin differs or is missing")
    args = parser.parse_args(argv)
    stale = []
    for case_path in args.cases:
        if case_path.name.endswith(".expected.json"):
            continue  # a case's expected answer, named by a shell glob such as examples/cases/pap-*.json
        try:
            files = twins(case_path)
        except Unsupported as exc:
            print(f"{case_path}: cannot write its FHIR twin: {exc}", file=sys.stderr)
            return 2
        for path, text in files.items():
            if args.check:
                if not path.is_file() or path.read_text(encoding="utf-8") != text:
                    stale.append(path)
            else:
                path.write_text(text, encoding="utf-8")
                print(path.relative_to(ROOT))
    for path in stale:
        print(f"differs from what the script writes: {path.relative_to(ROOT)}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
