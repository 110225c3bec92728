"""The Da Vinci PAS answer: every PAS request a prior-authorization response Bundle.

:func:`review` judges a request when it can and pends it for a clinician reviewer when it cannot
(``pas_review.py``); :func:`claim_response_bundle` writes the response, a ``collection`` Bundle
whose first entry is a ClaimResponse (one item per Claim.item, each with its X12 review action:
A1 certified in total, A3 not certified, A4 pended, C cancelled), whose process notes are the
reasons (each with its criterion's verification tag, advisory ones marked), the information needed
and the notes of single items, followed by the Patient, insurer and requestor of the request with
references that resolve in the Bundle (``pas_echo.py``). :func:`judge` is the determination alone,
for ``POST /determinations``, which refuses what cannot be judged.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rdflib import Graph

from reasoner.compare import relevant_policies
from reasoner.errors import CaseError, FhirError
from reasoner.intake.json_case.to_rdf import to_case
from reasoner.intake.json_case.triples import code_iri
from reasoner.intake.parsed import ParsedCase
from reasoner.interop.fhir_output import no_nulls
from reasoner.interop.pas_echo import Echo, absent
from reasoner.interop.pas_review import OUTCOME_WORDS, REVIEW, Review, of_determination, pended
from reasoner.model import Determination
from reasoner.pipeline import determine_parsed

if TYPE_CHECKING:
    from reasoner.intake.fhir.pas import PasCase
    from reasoner.knowledge.base import KnowledgeBase
    from reasoner.knowledge.entities import Policy

REVIEW_ACTION = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewAction"
REVIEW_ACTION_CODE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewActionCode"
X12_306 = "https://codesystem.x12.org/005010/306"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
RESPONSE_PROFILE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-pas-response-bundle"
CLAIM_RESPONSE_PROFILE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-claimresponse"
INQUIRY_RESPONSE_PROFILE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-pas-inquiry-response-bundle"
CLAIM_INQUIRY_RESPONSE_PROFILE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/profile-claiminquiryresponse"
ITEM_TRACE_NUMBER = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-itemTraceNumber"

__all__ = ["REVIEW", "Review", "choose_policy", "claim_response_bundle", "judge", "review"]


def check_policy(kb: KnowledgeBase, policy: str | None) -> None:
    """Nothing when ``policy`` is None or a policy of ``kb``.

    Raises:
        FhirError: 422 for an unknown policy (the valid ids listed, the one sent not repeated).
    """
    if policy is not None and policy not in kb.policies:
        valid = ", ".join(sorted(kb.policies))
        raise FhirError([("invalid", "policy", "unknown policy; valid policies: " + valid)], status=422)


def choose_policy(case: Graph, kb: KnowledgeBase, policy: str | None) -> str:
    """The policy to judge a FHIR request under: ``policy`` if given, else the one relevant policy.

    Raises:
        FhirError: 422 for an unknown policy, or when no policy or several policies address the
            requested codes (the issue lists them; pass ``?policy=``).
    """
    valid = sorted(kb.policies)
    if policy is not None:
        check_policy(kb, policy)
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
        case = to_case(pas.case, kb)  # the JSON case form's graph: judged exactly like a JSON case
        chosen = policy if policy is not None or pas.case.policy is None else pas.case.policy
        return determine_parsed(case, kb, policy=choose_policy(case.graph, kb, chosen))
    except FhirError:
        raise
    except CaseError as exc:
        raise FhirError([("invalid", None, exc.message)], status=422) from None


def review(pas: PasCase, kb: KnowledgeBase, *, policy: str | None) -> Review:
    """The review of a PAS request: judged when it can be, else pended (A4) for a clinician reviewer.

    Judged under ``policy``, else the one policy that addresses the requested codes. Pended, with
    the reason as a note, when no policy addresses them, when several do and none is named (each
    one's outcome is a note, for the reviewer), when the Claim lacks a CPT/HCPCS code, an ICD-10-CM
    diagnosis or a date (each missing item a note), or when the case it maps to cannot be judged.

    Raises:
        FhirError: 422 when ``policy`` names no policy of the knowledge base.
    """
    check_policy(kb, policy)
    codes = [c for s, c in pas.items if c is not None and s not in pas.cancelled]
    addressed = kb.policies_addressing(code_iri(c) for c in codes)
    if pas.case is None:
        return pended(pas, kb, [] if addressed or not codes else [_no_policy(codes)])
    chosen = policy or pas.case.policy
    try:
        case = to_case(pas.case, kb)  # the JSON case form's graph: judged exactly like a JSON case
        if chosen is None and len(addressed) != 1:
            if not addressed:
                return pended(pas, kb, [_no_policy(codes)])
            return pended(pas, kb, _several(case, kb, addressed))
        return of_determination(pas, determine_parsed(case, kb, policy=chosen or addressed[0].id))
    except CaseError as exc:
        return pended(pas, kb, [f"The request cannot be judged as sent: {exc.message}"])


def _no_policy(codes: list[str]) -> str:
    return (
        f"No policy in the knowledge base addresses the requested code(s) {', '.join(dict.fromkeys(codes))}: "
        "none has a coverage position on them or names them as falling back to general review."
    )


def _several(case: ParsedCase, kb: KnowledgeBase, policies: list[Policy]) -> list[str]:
    ids = ", ".join(p.id for p in policies)
    notes = [
        f"Several policies address the requested codes ({ids}) and the request does not say which applies: "
        "the clinician reviewer chooses (a request sent with ?policy=ID is judged under that policy)."
    ]
    for p in policies:
        d = determine_parsed(case, kb, policy=p.id)
        notes.append(f"Under {p.label} ({p.id}): {OUTCOME_WORDS[d.outcome]}.")
    return notes


def claim_response_bundle(
    pas: PasCase, answer: Review | Determination, *, now: datetime, inquiry: bool = False
) -> dict[str, Any]:
    """The PAS response Bundle for a request reviewed as ``answer`` (a determination is reviewed first).

    Args:
        pas: the request as read by ``intake.fhir.pas.read_pas`` (the Claim is answered, its parties carried).
        answer: the request's review (:func:`review`), or the determination of its case.
        now: the response time (``Bundle.timestamp`` and ``ClaimResponse.created``); give it a time zone.
        inquiry: ``pas`` is an inquiry (``Claim/$inquire``): the Bundle has PAS's inquiry-response profiles.
    """
    result = answer if isinstance(answer, Review) else of_determination(pas, answer)
    claim, claim_url = pas.claim, pas.claim_full_url
    stamp = now.isoformat(timespec="seconds")
    response_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{result.number}|{claim_url or claim.get('id', '')}"))
    echo = Echo(pas.bundle)
    notes = list(result.notes)
    items = []
    requested = {i.get("sequence"): i for i in claim.get("item") or [] if isinstance(i, dict)}
    for item in result.items:
        numbers = list(range(len(notes) + 1, len(notes) + 1 + len(item.notes)))
        notes += item.notes
        asked = requested.get(item.sequence, {}).get("extension") or []
        traces = [e for e in asked if isinstance(e, dict) and e.get("url") == ITEM_TRACE_NUMBER]
        items.append(
            {
                "extension": traces,
                "itemSequence": item.sequence,
                "noteNumber": numbers,
                "adjudication": [
                    {
                        "extension": [_review_action(item.action, item.display, result.number)],
                        "category": {"coding": [{"system": ADJUDICATION, "code": "submitted"}]},
                    }
                ],
            }
        )
    response: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": response_id,
        "meta": {"profile": [CLAIM_INQUIRY_RESPONSE_PROFILE if inquiry else CLAIM_RESPONSE_PROFILE]},
        "identifier": claim.get("identifier"),
        "status": "active",
        "type": claim.get("type"),
        "use": "preauthorization",
        "patient": echo.reference(claim.get("patient"), claim_url),
        "created": stamp,
        "insurer": echo.reference(claim.get("insurer"), claim_url),
        "requestor": echo.reference(claim["provider"], claim_url) if claim.get("provider") else None,
        "request": _request(claim, claim_url),
        "outcome": "complete",
        "disposition": result.disposition,
        "item": items,
        "processNote": [{"number": i, "type": "display", "text": text} for i, text in enumerate(notes, 1)],
    }
    response_url = f"urn:uuid:{response_id}"
    bundle_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bundle|{response_id}"))
    out: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": bundle_id,
        "meta": {"profile": [INQUIRY_RESPONSE_PROFILE if inquiry else RESPONSE_PROFILE]},
        "identifier": pas.bundle.get("identifier") or {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{bundle_id}"},
        "type": "collection",
        "timestamp": stamp,
        "entry": [{"fullUrl": response_url, "resource": response}, *echo.entries()],
    }
    return no_nulls(out)


def _review_action(code: str, display: str, number: str) -> dict[str, Any]:
    return {
        "url": REVIEW_ACTION,
        "extension": [
            {
                "url": REVIEW_ACTION_CODE,
                "valueCodeableConcept": {"coding": [{"system": X12_306, "code": code, "display": display}]},
            },
            {"url": "number", "valueString": number},
        ],
    }


def _request(claim: dict[str, Any], claim_url: str | None) -> dict[str, Any]:
    """The Claim answered: its RESTful URL (on the requester's server, outside the Bundle) and first identifier."""
    out: dict[str, Any] = {}
    if claim_url and claim_url.startswith(("http://", "https://")):
        out["reference"] = claim_url
    identifiers = claim.get("identifier")
    if isinstance(identifiers, list) and identifiers and isinstance(identifiers[0], dict):
        out["identifier"] = identifiers[0]
    return out or absent()
