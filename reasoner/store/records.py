"""What the store keeps and hands back: a stored determination, a clinician's review, and their statuses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from rdflib import Graph

from reasoner.intake.json_case.schema import CaseIn
from reasoner.intake.json_case.to_rdf import to_case
from reasoner.knowledge.base import KnowledgeBase
from reasoner.model import Determination, Outcome


class ReviewAction(StrEnum):
    """What a clinician reviewer did with a determination."""

    UPHOLD = "uphold"
    OVERTURN = "overturn"
    MODIFY = "modify"


class ReviewStatus(StrEnum):
    """Where a stored determination stands.

    A favourable answer (medically necessary) is final as the engine gave it (``automated``); any
    other answer is a recommendation ``awaiting-review`` until a clinician upholds, overturns or
    modifies it. A review binds the digest of the determination it read: stored again with another
    digest (a new engine or knowledge base), the determination awaits a review of its own.
    """

    AWAITING = "awaiting-review"
    AUTOMATED = "automated"
    UPHELD = "upheld"
    OVERTURNED = "overturned"
    MODIFIED = "modified"


REVIEWED = {
    ReviewAction.UPHOLD: ReviewStatus.UPHELD,
    ReviewAction.OVERTURN: ReviewStatus.OVERTURNED,
    ReviewAction.MODIFY: ReviewStatus.MODIFIED,
}


def initial_status(outcome: str) -> ReviewStatus:
    """A favourable outcome needs no clinician; every other one waits for one."""
    return ReviewStatus.AUTOMATED if outcome == Outcome.MEDICALLY_NECESSARY else ReviewStatus.AWAITING


class StoreError(Exception):
    """A store operation that cannot be done as asked; ``code`` names the problem for an API."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class KeptCase:
    """A case as kept with its determination: its text and what that text is.

    ``application/json``: the JSON case form (a JSON case as validated, or what a FHIR request
    mapped to), judged again exactly as it was; ``application/n-triples``: a Turtle or JSON-LD
    case's triples as intake sanitised them; ``application/fhir+json``: a PAS request Bundle that
    gave no case (no diagnosis, no code), as received, for the clinician reviewer.
    """

    media_type: str
    text: str

    @classmethod
    def of(cls, case: CaseIn) -> KeptCase:
        """A JSON case form, as it is kept."""
        return cls("application/json", case.model_dump_json())


@dataclass(frozen=True, slots=True)
class ReviewIn:
    """A clinician's decision on a determination, as asked.

    ``digest``: the digest of the determination the reviewer read (what :attr:`Stored.digest`
    says); the review is refused if the stored determination no longer has it. ``outcome``: the
    reviewer's outcome, required to overturn (and different from the engine's) or to modify;
    upholding keeps the engine's. ``reason``: required to overturn or modify.
    """

    action: ReviewAction
    reviewer: str
    digest: str
    outcome: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Review:
    """A review as kept. ``reason`` is clinical text: it is read only with the case facts."""

    id: str
    action: ReviewAction
    reviewer: str
    at: datetime
    digest: str
    outcome: str
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The review as JSON (its reason only when it was read with it)."""
        out: dict[str, Any] = {
            "id": self.id,
            "action": self.action.value,
            "reviewer": self.reviewer,
            "at": self.at.isoformat(),
            "digest": self.digest,
            "outcome": self.outcome,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True, slots=True)
class Stored:
    """A kept determination: its id, what it decided, where it stands and its JSON form as stored.

    ``stored_at``: when it was first stored; ``decided_at`` and ``final_outcome``: when and how
    it became final (None while it awaits review). ``submitted_by``: every principal that asked for
    it (apps read only their own). ``claim``: a PAS Claim identifier it answered, for ``$inquire``.
    """

    id: str
    policy: str
    outcome: str
    digest: str
    stored_at: datetime
    json: str
    status: ReviewStatus
    final_outcome: str | None
    decided_at: datetime | None
    submitted_by: tuple[str, ...] = ()
    claims: tuple[str, ...] = ()

    def determination(self) -> Determination:
        """The determination as the engine gave it."""
        return Determination.model_validate_json(self.json)

    def with_record(self, reviews: list[Review]) -> str:
        """The determination's JSON with its record added (``record``), indented."""
        return json.dumps({**json.loads(self.json), "record": self.record(reviews)}, indent=2, ensure_ascii=False)

    def record(self, reviews: list[Review]) -> dict[str, Any]:
        """Where the determination stands, as JSON: its status, final outcome, times and reviews."""
        return {
            "status": self.status.value,
            "finalOutcome": self.final_outcome,
            "finalOutcomeLabel": Outcome(self.final_outcome).label if self.final_outcome else None,
            "storedAt": self.stored_at.isoformat(),
            "decidedAt": self.decided_at.isoformat() if self.decided_at else None,
            "digest": self.digest,
            "reviews": [r.as_json() for r in reviews],
        }


def check_review(review: ReviewIn, stored: Stored) -> str:
    """The final outcome ``review`` gives ``stored``; raises :class:`StoreError` for a review that cannot stand."""
    if not review.reviewer.strip():
        raise StoreError("reviewer-required", "a review names its reviewer")
    if review.digest != stored.digest:
        raise StoreError(
            "digest-mismatch",
            f"the review is of {review.digest!r} but the determination stored is {stored.digest!r}: read it again",
        )
    known = [o.value for o in Outcome]
    if review.outcome is not None and review.outcome not in known:
        raise StoreError("unknown-outcome", f"outcome {review.outcome!r} is not one of: {', '.join(known)}")
    if review.action == ReviewAction.UPHOLD:
        if review.outcome not in (None, stored.outcome):
            raise StoreError("outcome-mismatch", "upholding keeps the determination's outcome: overturn or modify it")
        return stored.outcome
    if not (review.reason or "").strip():
        raise StoreError("reason-required", f"a reason is required to {review.action.value} a determination")
    if review.outcome is None:
        raise StoreError("outcome-required", f"to {review.action.value} a determination, give the reviewer's outcome")
    if review.action == ReviewAction.OVERTURN and review.outcome == stored.outcome:
        raise StoreError("outcome-unchanged", "overturning gives another outcome than the determination's")
    return review.outcome


def case_graph(kept: KeptCase, kb: KnowledgeBase) -> Graph | None:
    """The facts of a kept case as a graph (a JSON case form is mapped as intake maps it); None for a PAS Bundle."""
    if kept.media_type == "application/fhir+json":
        return None
    if kept.media_type == "application/json":
        return to_case(CaseIn.model_validate_json(kept.text), kb).graph
    g = Graph()
    g.parse(data=kept.text, format="nt")
    return g
