"""The prior-authorization metrics report: counts and times to decision, in total, per policy and per code.

Built from ``time-to-decision.rq``'s rows (one per determination; SPARQL has no median). Approved,
denied and pended count the engine's answers; overturned, the reviewers' reversals. A time to
decision runs from storing to deciding (zero for an approval; a review's time otherwise); one still
awaiting review has none. p90 is the nearest-rank percentile. A determination with several codes
counts under each.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from reasoner.analytics import queries
from reasoner.store.base import DeterminationStore

PENDED = ("pended-information-needed", "pended-clinician-review")


def parse_since(value: str) -> datetime:
    """A date or date-time (ISO 8601); a date is its midnight, a time without offset is UTC.

    Raises:
        ValueError: saying what is accepted.
    """
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("not a date or date-time (ISO 8601, e.g. 2026-12-01 or 2026-12-01T09:00:00Z)") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def build(rows: Iterable[Mapping[str, str]], since: datetime | None = None) -> dict[str, Any]:
    """The report from time-to-decision rows, of determinations stored at or after ``since``."""
    kept = [r for r in rows if since is None or datetime.fromisoformat(r["storedAt"]) >= since]
    by_policy: dict[str, list[Mapping[str, str]]] = {}
    by_code: dict[str, list[Mapping[str, str]]] = {}
    for r in kept:
        by_policy.setdefault(r["policy"], []).append(r)
        for code in sorted(set(r.get("codes", "").split())):
            by_code.setdefault(code, []).append(r)
    return {
        "since": since.isoformat() if since else None,
        "totals": _figures(kept),
        "policies": [{"policy": p, **_figures(rs)} for p, rs in sorted(by_policy.items())],
        "codes": [{"code": c, **_figures(rs)} for c, rs in sorted(by_code.items())],
    }


def report(store: DeterminationStore, since: datetime | None = None) -> dict[str, Any]:
    """The report over what ``store`` keeps (an empty store: zero counts, no times)."""
    return build(queries.run(store, "time-to-decision"), since)


def _figures(rows: list[Mapping[str, str]]) -> dict[str, Any]:
    times = sorted(
        (datetime.fromisoformat(r["decidedAt"]) - datetime.fromisoformat(r["storedAt"])).total_seconds()
        for r in rows
        if "decidedAt" in r
    )
    return {
        "determinations": len(rows),
        "approved": sum(r["outcome"] == "medically-necessary" for r in rows),
        "denied": sum(r["outcome"] == "not-medically-necessary" for r in rows),
        "pended": sum(r["outcome"] in PENDED for r in rows),
        "overturned": sum(r["status"] == "overturned" for r in rows),
        "awaitingReview": sum(r["status"] == "awaiting-review" for r in rows),
        "decided": len(times),
        "medianSecondsToDecision": statistics.median(times) if times else None,
        "p90SecondsToDecision": times[math.ceil(0.9 * len(times)) - 1] if times else None,
    }
