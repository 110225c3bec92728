"""The review a PAS request gets: a review action (X12 306) per Claim item, and the notes that say why.

A request the engine can judge under one policy is reviewed from its determination
(:func:`of_determination`): each item gets the review action of the outcome, except an item whose
code the policy does not address or that has no CPT or HCPCS code (pended, A4, for a clinician
reviewer) and an item an update cancels (C). A request it cannot judge (no policy addresses the
codes, several do and none was chosen, no diagnosis, no coded item, a case that cannot be judged as
sent) is pended for a clinician reviewer (:func:`pended`): every item A4, the reasons and the
missing information as notes. Nothing here reads FHIR or builds resources; see ``pas.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reasoner.intake.json_case.triples import code_iri
from reasoner.interop.pas_echo import Echo
from reasoner.model import Determination, Outcome

if TYPE_CHECKING:
    from reasoner.intake.fhir.pas import PasCase
    from reasoner.knowledge.base import KnowledgeBase

CERTIFIED, NOT_CERTIFIED, PENDED, MODIFIED, CANCELLED = "A1", "A3", "A4", "A6", "C"
ACTION_DISPLAY = {
    CERTIFIED: "Certified in total",
    NOT_CERTIFIED: "Not Certified",
    PENDED: "Pending",  # as HL7's PAS examples write A4
    MODIFIED: "Modified",  # a clinician reviewer's modification (an inquiry's answer)
    CANCELLED: "Cancelled",
}
"""The X12 306 review actions this service answers, with their displays."""

REVIEW: dict[Outcome, str] = {
    Outcome.MEDICALLY_NECESSARY: CERTIFIED,
    Outcome.NOT_MEDICALLY_NECESSARY: NOT_CERTIFIED,  # a recommendation: adverse outcomes carry clinicianReview
    Outcome.PENDED: PENDED,
    Outcome.PENDED_REVIEW: PENDED,  # advisory criteria not met: a clinician reviewer decides
    Outcome.NO_APPLICABLE_GUIDELINE: PENDED,  # sent on to a clinician reviewer
}
"""The X12 306 review action of each outcome."""

OUTCOME_WORDS = {
    Outcome.MEDICALLY_NECESSARY: "medically necessary",
    Outcome.NOT_MEDICALLY_NECESSARY: "not medically necessary",
    Outcome.PENDED: "pended for information",
    Outcome.PENDED_REVIEW: "pended for clinician review",
    Outcome.NO_APPLICABLE_GUIDELINE: "no applicable guideline",
}
"""Each outcome in the words of a note."""
SENT_TO_REVIEWER = "Pended for a clinician reviewer: the request cannot be judged against a guideline as sent."
#: What each missing element of ``PasCase.missing`` means, as a note (keyed by the element).
_MISSING = {
    "Bundle.entry[0].resource.item": (
        "Information needed: no item has a CPT or HCPCS code (Claim.item.productOrService), "
        "and guidelines are found by those codes."
    ),
    "Bundle.entry[0].resource.diagnosis": "Information needed: an ICD-10-CM diagnosis (Claim.diagnosis).",
    "Bundle.entry[0].resource.created": (
        "Information needed: the date of service (Claim.item.servicedDate or Claim.created)."
    ),
}


@dataclass(frozen=True)
class ItemReview:
    """One Claim item's review action and the notes about that item alone."""

    sequence: int
    action: str
    notes: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        """The review action's display."""
        return ACTION_DISPLAY[self.action]


@dataclass(frozen=True)
class Review:
    """What a PAS request is answered: the number, the disposition, the notes and each item's review action.

    ``number`` is the review number (the determination id when a determination was made, else a
    digest of the knowledge base and the Claim); ``notes`` are about the request as a whole, the
    items' own notes follow them in the ClaimResponse. ``determination``: the one it was made
    from, if any (what is kept of the request).
    """

    number: str
    disposition: str
    notes: tuple[str, ...]
    items: tuple[ItemReview, ...]
    determination: Determination | None = None


def of_determination(pas: PasCase, d: Determination) -> Review:
    """The review of a request judged as ``d``: the outcome's action for every item the policy addresses."""
    coverage = {line.code: line.coverageStatus for line in d.requested}
    # A diagnosis the request pends on (a category, say) is noted on each item it is given for.
    coded = tuple(dx.problem for dx in d.diagnoses if dx.problem)

    def judged(sequence: int, code: str) -> ItemReview:
        if coverage.get(code) == "not-addressed" and d.outcome is not Outcome.NO_APPLICABLE_GUIDELINE:
            why = f"the policy '{d.policy.label}' does not address this code; {_TO_REVIEWER}"
            return ItemReview(sequence, PENDED, (f"{_item(sequence, code)}: {why}",))
        return ItemReview(sequence, REVIEW[d.outcome], tuple(f"{_item(sequence, code)}: {why}" for why in coded))

    notes = (*d.rationale, *d.missingInformation, *_updates(pas))
    return Review(d.determinationId, d.outcomeLabel, notes, _items(pas, judged), d)


def pended(pas: PasCase, kb: KnowledgeBase, reasons: list[str]) -> Review:
    """The review of a request that cannot be judged: every item pended (A4) for a clinician reviewer.

    ``reasons`` say why, before the missing information of ``pas.missing``; each item that has no
    CPT or HCPCS code, or whose code no policy addresses, is named in a note of its own.
    """

    def unjudged(sequence: int, code: str) -> ItemReview:
        if kb.policies_addressing([code_iri(code)]):
            return ItemReview(sequence, PENDED)
        why = f"no policy in the knowledge base addresses this code; {_TO_REVIEWER}"
        return ItemReview(sequence, PENDED, (f"{_item(sequence, code)}: {why}",))

    missing = [_MISSING.get(where or "", f"{why} ({where})") for _, where, why in pas.missing]
    notes = (SENT_TO_REVIEWER, *reasons, *missing, *_updates(pas))
    digest = hashlib.sha256(
        "\n".join([kb.content_hash, "pended", *reasons, json.dumps(pas.claim, sort_keys=True)]).encode()
    ).hexdigest()[:32]
    return Review(digest, Outcome.PENDED_REVIEW.label, notes, _items(pas, unjudged))


_TO_REVIEWER = "sent to a clinician reviewer."
_UNCODED = "no CPT or HCPCS code, so no guideline can be found for it; " + _TO_REVIEWER


def _items(pas: PasCase, coded: Callable[[int, str], ItemReview]) -> tuple[ItemReview, ...]:
    """Each item's review: C when the update cancels it, A4 without a CPT or HCPCS code, else ``coded``'s."""
    out = []
    for sequence, code in pas.items:
        if sequence in pas.cancelled:
            why = "cancelled by this update; not reviewed."
            out.append(ItemReview(sequence, CANCELLED, (f"{_item(sequence, code)}: {why}",)))
        elif code is None:
            out.append(ItemReview(sequence, PENDED, (f"{_item(sequence, code)}: {_UNCODED}",)))
        else:
            out.append(coded(sequence, code))
    return tuple(out)


def _item(sequence: int, code: str | None) -> str:
    return f"Item {sequence}" + (f" ({code})" if code else "")


def _updates(pas: PasCase) -> list[str]:
    """A note per earlier request the Claim updates (``Claim.related``), named by its first identifier."""
    echo, notes = Echo(pas.bundle), []
    for related in pas.claim.get("related") or []:
        claim = related.get("claim") if isinstance(related, dict) else None
        if not isinstance(claim, dict):
            continue
        ref = claim.get("reference")
        found = echo.resource(ref, pas.claim_full_url) if isinstance(ref, str) else None
        ids = (found or {}).get("identifier") or [claim.get("identifier") or {}]
        value = ids[0].get("value") if isinstance(ids[0], dict) else None
        name = f"the request with identifier {value}" if isinstance(value, str) else "an earlier request"
        notes.append(f"This request updates {name} (Claim.related); each item is reviewed as it now stands.")
    return notes
