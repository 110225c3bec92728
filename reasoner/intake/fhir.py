"""FHIR R4 intake: a Da Vinci PAS request Bundle, or a CDS Hooks order request, as a case.

Resources are validated with the R4B models of fhir.resources (the resources read here are the
same in R4 and R4B) and then read as plain JSON into the case form of case_json.py, following
docs/fhir-mapping.md. Each resource that gives a fact becomes a source document named after its
type and id, so every fact keeps the resource it came from. Errors are FhirError issues with the
element's path and never the submitted value; nothing here fetches anything (reading runs under
``untrusted.untrusted_input``), and a number is checked against the caps of ``numbers.py`` before
it is converted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from rdflib import URIRef

from reasoner.errors import CaseParseError, CaseTooLarge, ExternalAccessRefused, FhirError, IssueCode
from reasoner.intake.coverage import primary_coverage
from reasoner.intake.json_case import CaseIn, code_iri
from reasoner.intake.limits import untrusted_input
from reasoner.intake.turtle import NOT_UTF8, decode_json
from reasoner.numbers import TOO_LONG, number_problem
from reasoner.vocab import FIND, GR, PROC

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase

CPT_SYSTEMS = frozenset({"http://www.ama-assn.org/go/cpt", "urn:oid:2.16.840.1.113883.6.12"})
HCPCS_SYSTEMS = frozenset(
    {
        "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "urn:oid:2.16.840.1.113883.6.285",
    }
)
ICD10CM_SYSTEMS = frozenset({"http://hl7.org/fhir/sid/icd-10-cm", "urn:oid:2.16.840.1.113883.6.90"})
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
PAIN_SEVERITY = "72514-3"
OURS = "https://w3id.org/guideline-reasoner/"
OUR_PROCEDURES = OURS + "procedure"
OUR_FINDINGS = OURS + "finding"
OUR_OBSERVATIONS = OURS + "observation"
OUR_VALUES = OURS + "case"
OUR_LEVELS = OURS + "level"
BILLING_OPTIONS = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-billing-options"
#: PAS (Claim update): a modifier extension on Claim.item saying the item is cancelled.
INFO_CANCELLED = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/modifierextension-infoCancelled"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
SIDES = {"7771000": "left", "24028007": "right", "51440002": "bilateral"}
MODIFIER_SIDES = {"LT": "left", "RT": "right", "50": "bilateral"}
#: Our case values that say whether contrast is used (a ServiceRequest's orderDetail has no boolean).
CONTRAST_CODES = {"with-contrast": True, "without-contrast": False}
PURPOSES = ("diagnostic", "therapeutic")
HISTORY_KEYS = ("conditions", "procedures", "observations")
HOOKS = ("order-sign", "order-select")
_HISTORY_TYPES = ("Procedure", "Observation", "Condition", "DocumentReference", "QuestionnaireResponse")
_RESOLVED = {"resolved", "inactive", "remission"}
_ID = re.compile(r"[^A-Za-z0-9._-]")
_CODE = re.compile(r"^(\d{4}[0-9FTU]|[A-V]\d{4})$")


Issue = tuple[IssueCode, str | None, str]


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


@dataclass(frozen=True)
class HookOrder:
    """One draft order of a hook call, as sent, with the codes read from it and where it is in the request."""

    resource: dict[str, Any]
    reference: str
    codes: list[str]
    element: str = "context.draftOrders"


@dataclass(frozen=True)
class HookCall:
    """A CDS Hooks order-sign or order-select request, read.

    The orders are signed (or selected) together, so they are one request: ``case`` has a line per
    code of every order, like a Claim with several items. It is None when no order has a CPT or
    HCPCS code or none gives an ICD-10-CM reason; ``problem`` then says why. ``coverage`` is the one
    Coverage of the ``coverage`` prefetch, else ``coverage_error`` says why there is none
    (``hook_coverage.primary_coverage``).
    """

    hook: str
    hook_instance: str
    orders: list[HookOrder]
    case: CaseIn | None
    problem: str | None
    coverage: dict[str, Any] | None
    skipped: dict[str, int] = field(default_factory=dict)
    coverage_error: FhirError | None = None


def operation_outcome(err: FhirError) -> dict[str, Any]:
    """The OperationOutcome for an error: one issue per problem, with its element when known."""
    issues = []
    for code, where, why in err.issues:
        issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": why}
        if where:
            issue["expression"] = [where]
        issues.append(issue)
    return {"resourceType": "OperationOutcome", "issue": issues}


def skipped_header(skipped: dict[str, int]) -> str:
    """The X-FHIR-Skipped header value: "Coverage=1, Organization=2"."""
    return ", ".join(f"{k}={v}" for k, v in sorted(skipped.items()))


# --- reading and validating ------------------------------------------------------------------


@contextmanager
def _reading() -> Iterator[None]:
    """Read FHIR input as untrusted input; a refused access is a FHIR error like any other."""
    try:
        with untrusted_input():
            yield
    except ExternalAccessRefused as exc:
        raise FhirError([("invalid", None, exc.message)], status=422) from None


def _decode(payload: bytes) -> dict[str, Any]:
    try:
        data = decode_json(payload)
    except CaseTooLarge as exc:
        raise FhirError([("too-costly", None, exc.message)]) from None
    except CaseParseError as exc:
        why = exc.message if exc.reason == NOT_UTF8 else f"not JSON: {exc.message}"
        raise FhirError([("structure", None, why)]) from None
    if not isinstance(data, dict) or not isinstance(data.get("resourceType", data.get("hook")), str):
        raise FhirError([("structure", None, "not a FHIR resource: no resourceType")])
    return data


def _redact(message: str, value: object) -> str:
    text = str(value) if isinstance(value, str | int | float) else ""
    return message.replace(text, "...") if len(text) >= 3 else message


def validate_resource(data: dict[str, Any], path: str) -> None:
    """Validate one resource (and everything in it) with the R4B models.

    Raises:
        FhirError: each invalid element named by its path, for example
            ``Bundle.entry[0].resource.item[0].quantity.value``.
    """
    kind = data.get("resourceType")
    try:
        model = get_fhir_model_class(str(kind))
    except (KeyError, ValueError, AttributeError):
        raise FhirError([("invalid", f"{path}.resourceType", "not a FHIR R4 resource type")]) from None
    try:
        model.model_validate(data)
    except ValidationError as exc:
        issues: list[tuple[IssueCode, str | None, str]] = []
        for err in exc.errors(include_url=False):
            where = path + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
            issues.append(("invalid", where, _redact(err["msg"], err.get("input"))))
        raise FhirError(issues[:20]) from None
    except (TypeError, ValueError) as exc:  # fhir-core raises these for some malformed primitives
        raise FhirError([("invalid", path, type(exc).__name__)]) from None


def _codings(concept: object) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict) and isinstance(c.get("code"), str)]


def _code_in(concept: object, systems: frozenset[str] | str) -> str | None:
    wanted = {systems} if isinstance(systems, str) else systems
    return next((c["code"] for c in _codings(concept) if c.get("system") in wanted), None)


def procedure_code(concept: object) -> str | None:
    """A CPT or HCPCS code; the HCPCS URIs in use are one system, and PAS sends CPT under them too."""
    code = _code_in(concept, CPT_SYSTEMS | HCPCS_SYSTEMS)
    return code if code and _CODE.match(code) else None


def icd10cm(concept: object) -> str | None:
    """An ICD-10-CM code, with its dot (``M47816`` is ``M47.816``)."""
    code = _code_in(concept, ICD10CM_SYSTEMS)
    if code is None:
        return None
    code = code.strip().upper()
    return code if "." in code or len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _date(value: object) -> str | None:
    return value[:10] if isinstance(value, str) and len(value) >= 10 else None


def _ref_id(ref: object) -> str | None:
    if isinstance(ref, dict):
        ref = ref.get("reference")
    return ref.rstrip("/").rsplit("/", 1)[-1] if isinstance(ref, str) and ref else None


def _clean_id(text: str) -> str:
    cleaned = _ID.sub("-", text).strip("-.") or "x"
    if len(cleaned) > 64:
        cleaned = cleaned[:47] + "-" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return cleaned


def _decimal(value: object, where: str) -> Decimal | None:
    """A number of the request (``where`` is its element), refused over the caps before it is converted.

    Raises:
        FhirError: a number over the caps of ``numbers.py``, or not finite.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        problem = number_problem(str(value))
    except ValueError:  # an int past Python's digit limit for str(): over the cap in any case
        problem = TOO_LONG
    if problem is not None:
        raise FhirError([("invalid", where, problem)])
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite():
        raise FhirError([("invalid", where, "a number must be finite")])
    return number


# --- the history ----------------------------------------------------------------------------------


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
            elif kind != "Observation":
                self.skipped[str(kind)] += 1

    def procedure(self, r: dict[str, Any], observations: list[dict[str, Any]]) -> None:
        if r.get("status") == "entered-in-error":
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
        else:
            self.skipped["Observation (code not read)"] += 1

    def condition(self, r: dict[str, Any]) -> None:
        if _code_in(r.get("verificationStatus"), "http://terminology.hl7.org/CodeSystem/condition-ver-status") == (
            "entered-in-error"
        ):
            return
        code = icd10cm(r.get("code"))
        if code is None:
            self.skipped["Condition (no ICD-10-CM code)"] += 1
            return
        status = _code_in(r.get("clinicalStatus"), "http://terminology.hl7.org/CodeSystem/condition-clinical")
        c: dict[str, Any] = {"code": code, "source": self.document(r, "clinic-note", _date(r.get("recordedDate")))}
        if status:
            c["status"] = "resolved" if status in _RESOLVED else "active"
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


def _known(kb: KnowledgeBase, name: str, root: URIRef) -> bool:
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]{1,80}", name):
        return False
    return any(root in kb.superclasses.get(ns[name], ()) for ns in (PROC, FIND))


def _our_codes(concepts: list[Any]) -> list[str]:
    """Every code in our case values, in order, each once, across these CodeableConcepts."""
    out: list[str] = []
    for concept in concepts:
        for c in _codings(concept):
            if c.get("system") == OUR_VALUES and c["code"] not in out:
                out.append(c["code"])
    return out


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _sites(concepts: list[Any]) -> tuple[str | None, list[str]]:
    side, levels = None, []
    for concept in concepts:
        for c in _codings(concept):
            if c.get("system") == SNOMED and c["code"] in SIDES:
                side = SIDES[c["code"]]
            elif c.get("system") == OUR_LEVELS:
                levels.append(c["code"])
    return side, levels


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


# --- PAS -------------------------------------------------------------------------------------------------


def read_pas(payload: bytes, kb: KnowledgeBase) -> PasCase:
    """Read a Da Vinci PAS request Bundle (Claim first) as a case.

    Raises:
        FhirError: not UTF-8, not FHIR, invalid resources, a number over the caps, the Claim not
            first, a broken supportingInfo reference (400), no CPT/HCPCS code, diagnosis or date
            (422), too large (413).
    """
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
    diagnoses = [
        code
        for d in sorted(claim.get("diagnosis") or [], key=lambda d: d.get("sequence") or 0)
        if (code := icd10cm(d.get("diagnosisCodeableConcept")))
    ]
    if not diagnoses:
        missing.append(("required", "Bundle.entry[0].resource.diagnosis", "no ICD-10-CM diagnosis"))
    first = (claim.get("item") or [{}])[0]
    date = _date(first.get("servicedDate")) or _date((first.get("servicedPeriod") or {}).get("start"))
    date = date or _date(claim.get("created"))
    if not date:
        missing.append(("required", "Bundle.entry[0].resource.created", "no date of service"))
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


def _case_in(case: dict[str, Any]) -> CaseIn:
    try:
        return CaseIn.model_validate(case)
    except ValidationError as exc:
        issues: list[tuple[IssueCode, str | None, str]] = [
            ("invalid", "case." + ".".join(str(p) for p in err["loc"]), _redact(err["msg"], err.get("input")))
            for err in exc.errors(include_url=False)
        ]
        raise FhirError(issues[:20]) from None


# --- CDS Hooks -------------------------------------------------------------------------------------------


def read_hook(payload: bytes, kb: KnowledgeBase, *, service_hook: str) -> HookCall:
    """Read a CDS Hooks order-sign or order-select request as one case for its orders.

    For order-select only the selected orders count (all of them when ``selections`` is empty).
    Nothing is fetched: when a requested code has a guideline and the history prefetch the
    service declares (``conditions``, ``procedures``, ``observations``) or the ``coverage`` prefetch is
    absent, not null, the answer is 412; a ``coverage`` prefetch without exactly one Coverage is
    400 (``hook_coverage``). Resources are found across the prefetch values (a relief Observation may point
    at a Procedure of another prefetch Bundle).

    Raises:
        FhirError: not UTF-8, not a hook request or the wrong hook (400), invalid resources or a
            number over the caps (400), missing prefetch (412), no single prefetched Coverage (400),
            too large (413).
    """
    with _reading():
        return _read_hook(payload, kb, service_hook=service_hook)


def _read_hook(payload: bytes, kb: KnowledgeBase, *, service_hook: str) -> HookCall:
    data = _decode(payload)
    hook = data.get("hook")
    if hook != service_hook:
        raise FhirError([("not-supported", "hook", f"this service answers {service_hook}")])
    context = data.get("context")
    if not isinstance(context, dict):
        raise FhirError([("required", "context", "a hook request needs a context")])
    draft = context.get("draftOrders")
    if not isinstance(draft, dict) or draft.get("resourceType") != "Bundle":
        raise FhirError([("required", "context.draftOrders", "draftOrders must be a Bundle")])
    validate_resource(draft, "context.draftOrders")
    given = data.get("prefetch")
    prefetch: dict[str, Any] = given if isinstance(given, dict) else {}
    resources: list[dict[str, Any]] = []
    paths: dict[int, str] = {}
    for key, value in prefetch.items():
        if isinstance(value, dict) and isinstance(value.get("resourceType"), str):
            validate_resource(value, f"prefetch.{key}")
            if value["resourceType"] == "Bundle":
                for j, e in enumerate(value.get("entry") or []):
                    if isinstance(e.get("resource"), dict):
                        resources.append(e["resource"])
                        paths[id(e["resource"])] = f"prefetch.{key}.entry[{j}].resource"
            else:
                resources.append(value)
                paths[id(value)] = f"prefetch.{key}"
    selected = {"/".join(s.rstrip("/").split("/")[-2:]) for s in context.get("selections") or [] if isinstance(s, str)}
    skipped: Counter[str] = Counter()
    orders = []
    for k, entry in enumerate(draft.get("entry") or []):
        o = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(o, dict):
            continue
        ref = f"{o.get('resourceType')}/{o.get('id')}"
        if o.get("resourceType") != "ServiceRequest":
            skipped[str(o.get("resourceType"))] += 1
        elif hook == "order-select" and selected and ref not in selected:
            skipped["ServiceRequest (not selected)"] += 1
        elif o.get("status") != "entered-in-error":
            orders.append(HookOrder(o, ref, _order_codes(o), f"context.draftOrders.entry[{k}].resource"))
    addressed = bool(kb.policies_addressing(code_iri(c) for o in orders for c in o.codes))
    coverage, coverage_error = primary_coverage(prefetch)
    if addressed:
        absent: list[Issue] = [
            ("required", f"prefetch.{k}", "the service needs this prefetch and fetches nothing")
            for k in HISTORY_KEYS
            if k not in prefetch
        ]
        if coverage_error is not None and coverage_error.status == 412:
            absent += coverage_error.issues
        if absent:
            raise FhirError(absent, status=412)
        if coverage_error is not None:
            raise coverage_error
    history = _History(kb, paths)
    history.read([r for r in resources if r.get("resourceType") in _HISTORY_TYPES])
    for r in resources:
        if r.get("resourceType") not in _HISTORY_TYPES:
            skipped[str(r.get("resourceType"))] += 1
    skipped.update(history.skipped)
    conditions = {str(r.get("id")): r for r in resources if r.get("resourceType") == "Condition"}
    case, problem = _orders_case(orders, conditions, history, context.get("patientId"))
    instance = str(data.get("hookInstance") or "")
    return HookCall(str(hook), instance, orders, case, problem, coverage, dict(skipped), coverage_error)


def _order_codes(order: dict[str, Any]) -> list[str]:
    code = procedure_code(order.get("code"))
    if code:
        return [code]
    options = (order.get("code") or {}).get("extension") or []
    return [
        c
        for ext in options
        if isinstance(ext, dict) and ext.get("url") == BILLING_OPTIONS
        if (c := procedure_code(ext.get("valueCodeableConcept")))
    ]


def _orders_case(
    orders: list[HookOrder], conditions: dict[str, dict[str, Any]], history: _History, patient: object
) -> tuple[CaseIn | None, str | None]:
    lines: list[dict[str, Any]] = []
    diagnoses: list[str] = []
    request: dict[str, Any] = {}
    for order in orders:
        o = order.resource
        units = _decimal((o.get("quantityQuantity") or {}).get("value"), f"{order.element}.quantityQuantity.value")
        cls = _code_in(o.get("code"), OUR_PROCEDURES)
        for c in order.codes:
            line: dict[str, Any] = {"code": c}
            if units is not None:
                line["units"] = int(units)
            if cls and _known(history.kb, cls, GR.Procedure):
                line["procedure"] = cls
            lines.append(line)
        reasons = [icd10cm(c) for c in o.get("reasonCode") or []]
        for ref in o.get("reasonReference") or []:
            target = conditions.get(_ref_id(ref) or "")
            reasons.append(icd10cm(target.get("code")) if target else None)
        diagnoses += [d for d in reasons if d and d not in diagnoses]
        date = (
            _date(o.get("occurrenceDateTime"))
            or _date((o.get("occurrencePeriod") or {}).get("start"))
            or _date(o.get("authoredOn"))
        )
        side, levels = _sites(o.get("bodySite") or [])
        details = _our_codes(o.get("orderDetail") or [])
        guidance = next((v for v in details if v not in CONTRAST_CODES), None)
        contrast = next((CONTRAST_CODES[v] for v in details if v in CONTRAST_CODES), None)
        purpose = next((v for v in (_code_in(c, OUR_VALUES) for c in o.get("category") or []) if v), None)
        for key, value in (("date", date), ("laterality", side), ("imageGuidance", guidance), ("purpose", purpose)):
            if value and key not in request:
                request[key] = value
        if contrast is not None and "contrast" not in request:
            request["contrast"] = contrast
        request["levels"] = request.get("levels", []) + [lv for lv in levels if lv not in request.get("levels", [])]
    if not lines:
        return None, "no order has a CPT or HCPCS code"
    if not diagnoses:
        return None, "no order gives an ICD-10-CM reason"
    request.setdefault("date", dt.date.today().isoformat())  # an order being signed now
    if request.get("purpose") not in ("diagnostic", "therapeutic"):
        request.pop("purpose", None)
    if not request["levels"]:
        del request["levels"]
    request.update({"codes": lines, "diagnoses": diagnoses})
    first = orders[0].resource.get("id") or "order"
    case: dict[str, Any] = {"id": _clean_id(str(first)), "request": request}
    if isinstance(patient, str) and patient:
        case["patient"] = _clean_id(patient)
    history.fill(case)
    try:
        return _case_in(case), None
    except FhirError as exc:
        return None, "; ".join(why for _, _, why in exc.issues)


__all__ = [
    "HookCall",
    "HookOrder",
    "PasCase",
    "operation_outcome",
    "read_hook",
    "read_pas",
    "skipped_header",
]
