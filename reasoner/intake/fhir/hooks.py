"""The CDS Hooks request reader: the draft orders of an order-sign or order-select call as one case.

``read_hook`` checks the hook and its context, reads the prefetch (history and Coverage; nothing is
fetched, so a missing prefetch the service needs is a 412), and makes one case of the orders, a
line per code of every order (``HookCall``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reasoner.errors import FhirError
from reasoner.intake.coverage import primary_coverage
from reasoner.intake.fhir.history import _HISTORY_TYPES, _History
from reasoner.intake.fhir.resources import (
    CONTRAST_CODES,
    OUR_PROCEDURES,
    OUR_VALUES,
    Issue,
    _case_in,
    _clean_id,
    _code_in,
    _date,
    _decimal,
    _decode,
    _known,
    _our_codes,
    _reading,
    _ref_id,
    _sites,
    icd10cm,
    procedure_code,
    validate_resource,
)
from reasoner.intake.json_case.schema import CaseIn
from reasoner.intake.json_case.triples import code_iri
from reasoner.vocab import GR

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase


BILLING_OPTIONS = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-billing-options"
HISTORY_KEYS = ("conditions", "procedures", "observations")
HOOKS = ("order-sign", "order-select")
#: The draft orders read: a ServiceRequest, or a DeviceRequest (durable medical equipment; CRD's crd-devicerequest).
ORDER_TYPES = ("ServiceRequest", "DeviceRequest")


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
        if o.get("resourceType") not in ORDER_TYPES:
            skipped[str(o.get("resourceType"))] += 1
        elif hook == "order-select" and selected and ref not in selected:
            skipped[f"{o.get('resourceType')} (not selected)"] += 1
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


def _order_concept(order: dict[str, Any]) -> Any:
    """What is ordered: a ServiceRequest's ``code``, a DeviceRequest's ``codeCodeableConcept``."""
    return order.get("code") if order.get("resourceType") == "ServiceRequest" else order.get("codeCodeableConcept")


def _purpose_parameters(parameters: list[Any]) -> list[Any]:
    """The values of a DeviceRequest's parameters whose code is our case value ``purpose``."""
    return [
        p.get("valueCodeableConcept")
        for p in parameters
        if isinstance(p, dict) and _code_in(p.get("code"), OUR_VALUES) == "purpose"
    ]


def _order_codes(order: dict[str, Any]) -> list[str]:
    concept = _order_concept(order)
    code = procedure_code(concept)
    if code:
        return [code]
    options = (concept if isinstance(concept, dict) else {}).get("extension") or []
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
        cls = _code_in(_order_concept(o), OUR_PROCEDURES)
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
        # A ServiceRequest's category; a DeviceRequest has none: a parameter coded with our "purpose".
        said = [*(o.get("category") or []), *_purpose_parameters(o.get("parameter") or [])]
        purpose = next((v for v in (_code_in(c, OUR_VALUES) for c in said) if v), None)
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
    if request.get("purpose") not in history.kb.purpose_words:  # another of our case values: not a purpose
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


__all__ = ["HookCall", "HookOrder", "read_hook"]
