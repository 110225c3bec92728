"""The Da Vinci PAS answer: a determination as a prior-authorization response Bundle.

The response is a ``collection`` Bundle whose first entry is a ClaimResponse (one item per
Claim.item, each with the X12 review action: A1 certified in total, A3 not certified, A4 pended),
whose process notes are the reasons (each with its criterion's verification tag, advisory ones
marked) and the information needed,
followed by the Patient, insurer and provider echoed from the request with their own fullUrls.
Nothing here judges a case; :func:`claim_response_bundle` reads a finished determination.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rdflib import Graph

from .case_json import to_graph
from .comparison import relevant_policies
from .determination import Determination, Outcome
from .errors import CaseError, FhirError
from .pipeline import determine_parsed

if TYPE_CHECKING:
    from .fhir_intake import PasCase
    from .kb import KnowledgeBase

REVIEW_ACTION = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewAction"
REVIEW_ACTION_CODE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewActionCode"
X12_306 = "https://codesystem.x12.org/005010/306"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
RESPONSE_PROFILE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-pas-response-bundle"
CLAIM_RESPONSE_PROFILE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-claimresponse"

REVIEW: dict[Outcome, tuple[str, str]] = {
    Outcome.MEDICALLY_NECESSARY: ("A1", "Certified in total"),
    Outcome.NOT_MEDICALLY_NECESSARY: ("A3", "Not Certified"),
    Outcome.PENDED: ("A4", "Pending"),
    Outcome.PENDED_REVIEW: ("A4", "Pending"),  # advisory criteria not met: a clinician reviewer decides
    Outcome.NO_APPLICABLE_GUIDELINE: ("A4", "Pending"),  # sent on to a clinician reviewer
}
"""The X12 306 review action for each outcome."""


def choose_policy(case: Graph, kb: KnowledgeBase, policy: str | None) -> str:
    """The policy to judge a FHIR request under: ``policy`` if given, else the one relevant policy.

    Raises:
        FhirError: 422 for an unknown policy, or when no policy or several policies address the
            requested codes (the issue lists them; pass ``?policy=``).
    """
    valid = sorted(kb.policies)
    if policy is not None:
        if policy not in kb.policies:
            raise FhirError([("invalid", "policy", "unknown policy; valid policies: " + ", ".join(valid))], status=422)
        return policy
    relevant = [p.id for p in relevant_policies(case, kb)]
    if len(relevant) == 1:
        return relevant[0]
    if not relevant:
        why = "no policy addresses the requested codes; name one with ?policy= (valid: " + ", ".join(valid) + ")"
    else:
        why = "several policies address the requested codes; choose one with ?policy=: " + ", ".join(relevant)
    raise FhirError([("required", "policy", why)], status=422)


def judge(pas: PasCase, kb: KnowledgeBase, *, policy: str | None) -> Determination:
    """The determination of a PAS request under ``policy`` (default: see :func:`choose_policy`).

    Raises:
        FhirError: a Claim without a CPT/HCPCS code, diagnosis or date (422, the issues of
            ``pas.missing``), no policy to judge under (422), or a case that cannot be judged (422).
    """
    if pas.case is None:
        raise FhirError(pas.missing, status=422)
    try:
        graph = to_graph(pas.case, kb)  # the JSON case form's graph: judged exactly like a JSON case
        chosen = policy if policy is not None or pas.case.policy is None else pas.case.policy
        return determine_parsed(graph, kb, policy=choose_policy(graph, kb, chosen))
    except FhirError:
        raise
    except CaseError as exc:
        raise FhirError([("invalid", None, exc.message)], status=422) from None


def claim_response_bundle(pas: PasCase, d: Determination, *, now: datetime) -> dict[str, Any]:
    """The PAS response Bundle for a request judged as ``d``.

    Args:
        pas: the request as read by ``fhir_intake.read_pas`` (the raw Bundle and Claim are echoed from it).
        d: the determination of the request's case.
        now: the response time (``Bundle.timestamp`` and ``ClaimResponse.created``); give it a time zone.
    """
    claim, bundle = pas.claim, pas.bundle
    stamp = now.isoformat(timespec="seconds")
    request_ref = pas.claim_full_url or f"Claim/{claim.get('id', '')}"
    response_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{d.determinationId}|{request_ref}"))
    code, display = REVIEW[d.outcome]
    review = {
        "url": REVIEW_ACTION,
        "extension": [
            {
                "url": REVIEW_ACTION_CODE,
                "valueCodeableConcept": {"coding": [{"system": X12_306, "code": code, "display": display}]},
            },
            {"url": "number", "valueString": d.determinationId},
        ],
    }
    notes = [*d.rationale, *d.missingInformation]
    response: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": response_id,
        "meta": {"profile": [CLAIM_RESPONSE_PROFILE]},
        "status": "active",
        "type": claim.get("type"),
        "use": "preauthorization",
        "patient": claim.get("patient"),
        "created": stamp,
        "insurer": claim.get("insurer"),
        "requestor": claim.get("provider"),
        "request": {"reference": request_ref},
        "outcome": "complete",
        "disposition": d.outcomeLabel,
        "item": [
            {
                "itemSequence": sequence,
                "adjudication": [
                    {"extension": [review], "category": {"coding": [{"system": ADJUDICATION, "code": "submitted"}]}}
                ],
            }
            for sequence, _code in pas.items
        ],
        "processNote": [{"number": i, "type": "display", "text": text} for i, text in enumerate(notes, 1)],
    }
    entries = [{"fullUrl": f"urn:uuid:{response_id}", "resource": _drop_empty(response)}]
    seen: set[str] = set()
    for field in ("patient", "insurer", "provider"):
        found = _resolve(bundle, (claim.get(field) or {}).get("reference"))
        if found is not None and found["fullUrl"] not in seen:
            seen.add(found["fullUrl"])
            entries.append({"fullUrl": found["fullUrl"], "resource": found["resource"]})
    out: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bundle|{response_id}")),
        "meta": {"profile": [RESPONSE_PROFILE]},
        "identifier": bundle.get("identifier"),
        "type": "collection",
        "timestamp": stamp,
        "entry": entries,
    }
    return _drop_empty(out)


def _resolve(bundle: dict[str, Any], reference: str | None) -> dict[str, Any] | None:
    """The entry a reference points at: by fullUrl, or ``Type/id`` matching a resource or a fullUrl's end."""
    if not reference:
        return None
    for entry in bundle.get("entry", []):
        resource = entry.get("resource") or {}
        full = entry.get("fullUrl")
        own = f"{resource.get('resourceType')}/{resource.get('id')}"
        if full and (full == reference or full.endswith("/" + reference)) or own == reference:
            return {"fullUrl": full or own, "resource": resource}
    return None


def _drop_empty(obj: Any) -> Any:
    if isinstance(obj, dict):
        out = {k: _drop_empty(v) for k, v in obj.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}
    if isinstance(obj, list):
        return [v for v in (_drop_empty(x) for x in obj) if v not in (None, "", [], {})]
    return obj
