"""A PAS inquiry answered from what was kept: the request it names, and where that request now stands.

A request is found by its key (:func:`claim_key`): the Claim's first identifier (PAS's trace
number) and the patient's first identifier, as the submission and the inquiry both carry them.
Until a clinician reviews it, the request is answered as it was at submission; once reviewed,
every item gets the action of the reviewer's decision (A1 certified, A3 not certified, A4 pended,
A6 modified) and the review is the first note.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reasoner.interop.pas_echo import Echo
from reasoner.interop.pas_review import CANCELLED, MODIFIED, REVIEW, ItemReview, Review, of_determination
from reasoner.model import UNJUDGED, Determination, Outcome, PolicyOut
from reasoner.store.records import Review as ClinicianReview
from reasoner.store.records import ReviewAction, ReviewStatus, Stored

if TYPE_CHECKING:
    from reasoner.intake.fhir.pas import PasCase
    from reasoner.knowledge.base import KnowledgeBase


_DONE = {ReviewAction.UPHOLD: "upheld", ReviewAction.OVERTURN: "overturned", ReviewAction.MODIFY: "modified"}


def claim_key(pas: PasCase) -> str | None:
    """The key a request and its inquiries share: ``system|value`` of the Claim's and the patient's first identifiers.

    None when the Claim has no identifier (such a request cannot be inquired about).
    """
    claim_id = _first_identifier(pas.claim)
    if claim_id is None:
        return None
    patient_ref = (pas.claim.get("patient") or {}).get("reference")
    patient = Echo(pas.bundle).resource(patient_ref, pas.claim_full_url) if isinstance(patient_ref, str) else None
    patient_id = _first_identifier(patient or {})
    return claim_id + ("|" + patient_id if patient_id else "")


def unjudged(pas: PasCase, kb: KnowledgeBase, review: Review) -> Determination:
    """What is kept of a request pended without a determination (no policy could judge it), for a reviewer."""
    return Determination(
        determinationId=review.number,
        case=str(pas.claim.get("id") or "PAS request"),
        policy=PolicyOut(
            id=UNJUDGED,
            label="No policy: the request could not be judged against a guideline",
            publisher="",
            version="",
            effectiveDate="",
        ),
        knowledgeBase=kb.content_hash,
        outcome=Outcome.PENDED_REVIEW,
        outcomeLabel=Outcome.PENDED_REVIEW.label,
        clinicianReview=True,
        requested=[],
        rationale=list(review.notes),
        criteria=[],
        missingInformation=[],
        nextSteps=[],
        references=[],
    )


def inquiry_review(inquiry: PasCase, stored: Stored, reviews: list[ClinicianReview]) -> Review:
    """The review an inquiry is answered with: as submitted, or as the last clinician review decided."""
    d = stored.determination()
    last = reviews[-1] if reviews and stored.status not in (ReviewStatus.AWAITING, ReviewStatus.AUTOMATED) else None
    if last is None:
        answered = of_determination(inquiry, d)
        waiting = ("Awaiting clinician review: the answer below is a recommendation.",) if d.clinicianReview else ()
        return Review(stored.id, d.outcomeLabel, (*waiting, *answered.notes), answered.items)
    final = Outcome(last.outcome)
    action = MODIFIED if last.action == ReviewAction.MODIFY else REVIEW[final]
    when = last.at.date().isoformat()
    said = f"Reviewed by {last.reviewer} on {when}: {_DONE[last.action]}; final outcome {final.label}."
    reason = (f"Reviewer's reason: {last.reason}",) if last.reason else ()
    notes = (said, *reason, *(f"At submission: {line}" for line in d.rationale))
    items = tuple(
        ItemReview(sequence, CANCELLED if sequence in inquiry.cancelled else action) for sequence, _ in inquiry.items
    )
    return Review(stored.id, final.label, notes, items)


def _first_identifier(resource: dict[str, Any]) -> str | None:
    identifiers = resource.get("identifier")
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    if not isinstance(identifiers, list) or not identifiers or not isinstance(identifiers[0], dict):
        return None
    system, value = identifiers[0].get("system"), identifiers[0].get("value")
    return f"{system or ''}|{value}" if isinstance(value, str) and value else None
