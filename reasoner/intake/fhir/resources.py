"""Reading FHIR resources: decoding and validation, and the codes, dates, ids, numbers and sites in them.

What the PAS and CDS Hooks readers and the history mapping share: the code systems read, reading a
payload as untrusted input (``_reading``, ``_decode``), validating a resource with the R4B models
(``validate_resource``, each invalid element by its path, the submitted value never quoted), the
CPT/HCPCS and ICD-10-CM codes of a CodeableConcept, dates, reference ids, document ids, numbers
checked against the caps of ``numbers.py`` (``_decimal``), laterality and levels (``_sites``), and
validating the case form built from them (``_case_in``). The underscore names are shared within
``intake.fhir`` only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from rdflib import URIRef

from reasoner.errors import CaseParseError, CaseTooLarge, ExternalAccessRefused, FhirError, IssueCode
from reasoner.intake.json_case.schema import CaseIn
from reasoner.intake.limits import untrusted_input
from reasoner.intake.turtle import NOT_UTF8, decode_json
from reasoner.numbers import TOO_LONG, number_problem
from reasoner.vocab import FIND, PROC

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
OURS = "https://w3id.org/guideline-reasoner/"
OUR_PROCEDURES = OURS + "procedure"
OUR_VALUES = OURS + "case"
OUR_LEVELS = OURS + "level"
SIDES = {"7771000": "left", "24028007": "right", "51440002": "bilateral"}
#: Our case values that say whether contrast is used (a ServiceRequest's orderDetail has no boolean).
CONTRAST_CODES = {"with-contrast": True, "without-contrast": False}
_ID = re.compile(r"[^A-Za-z0-9._-]")
_CODE = re.compile(r"^(\d{4}[0-9FTU]|[A-V]\d{4})$")


Issue = tuple[IssueCode, str | None, str]


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


def _case_in(case: dict[str, Any]) -> CaseIn:
    try:
        return CaseIn.model_validate(case)
    except ValidationError as exc:
        issues: list[tuple[IssueCode, str | None, str]] = [
            ("invalid", "case." + ".".join(str(p) for p in err["loc"]), _redact(err["msg"], err.get("input")))
            for err in exc.errors(include_url=False)
        ]
        raise FhirError(issues[:20]) from None
