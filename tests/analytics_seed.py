"""Five example determinations and two reviews, at fixed times: what the analytics tests query.

bar-bmi-33 (denied) is overturned two hours after it was stored, pap-continued-not-adherent
(denied) upheld after thirty minutes; the approvals are decided when stored; the pend awaits review.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reasoner import KnowledgeBase, determine
from reasoner.pipeline import parse_case
from reasoner.store import DeterminationStore, ReviewAction, ReviewIn, Stored

from .conftest import EXAMPLES

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
NAMES = (
    "pap-continued-not-adherent",
    "pap-continued-adherent",
    "pap-rental-phase-not-stated",
    "bar-bmi-33",
    "bar-lap-rygb",
)


def seed(store: DeterminationStore, kb: KnowledgeBase) -> dict[str, Stored]:
    """Put the five, ten minutes apart from T0 (with their case facts), and review two; the stored ones by name."""
    kept = {}
    for i, name in enumerate(NAMES):
        payload = (EXAMPLES / f"{name}.json").read_bytes()
        d = determine(payload, "json", kb)
        kept[name] = store.put(d, parse_case(payload, "json", kb).graph, now=T0 + timedelta(minutes=10 * i))
    bar = kept["bar-bmi-33"]
    store.review(
        bar.id,
        ReviewIn(ReviewAction.OVERTURN, "dr-a", bar.digest, "medically-necessary", "secret clinical reason"),
        now=bar.stored_at + timedelta(hours=2),
    )
    pap = kept["pap-continued-not-adherent"]
    store.review(pap.id, ReviewIn(ReviewAction.UPHOLD, "dr-b", pap.digest), now=pap.stored_at + timedelta(minutes=30))
    return kept
