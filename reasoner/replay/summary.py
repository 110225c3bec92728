"""The replay's summary as data: what a policy committee reads, from a tally (rendered by reasoner/render/replay.py).

Everything but ``run`` depends only on the cases and the two versions, never on how the work
was split or scheduled: two runs over the same history give the same summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reasoner.model import Outcome
from reasoner.replay.tally import Tally

APPROVED = Outcome.MEDICALLY_NECESSARY.value


@dataclass(frozen=True, slots=True)
class Version:
    """One side of the comparison: what the user named and the knowledge base's content hash."""

    name: str
    knowledge_base: str | None  # None: the determinations kept in the store

    def as_json(self) -> dict[str, str | None]:
        """As the summary gives it."""
        return {"name": self.name, "knowledgeBase": self.knowledge_base}


def summary(
    tally: Tally,
    *,
    source: str,
    before: Version,
    after: Version,
    labels: Mapping[str, str],
    run: Mapping[str, Any],
) -> dict[str, Any]:
    """The summary: counts, transitions, criteria that changed, failures, and how the run went."""
    criterion_cases = tally.criterion_cases()
    by_criterion: dict[str, list[dict[str, Any]]] = {}
    for (cid, was, now), count in sorted(tally.status_changes.items()):
        by_criterion.setdefault(cid, []).append({"before": was, "after": now, "cases": count})
    return {
        "source": source,
        "before": before.as_json(),
        "after": after.as_json(),
        "cases": tally.cases,
        "changed": tally.changed,
        "outcomeChanged": sum(n for (_, was, now), n in tally.transitions.items() if was != now),
        "approvalsLost": sum(n for (_, was, now), n in tally.transitions.items() if was == APPROVED != now),
        "approvalsGained": sum(n for (_, was, now), n in tally.transitions.items() if was != APPROVED == now),
        "notDetermined": tally.undetermined,
        "transitions": [
            {
                "policy": policy,
                "before": was,
                "after": now,
                "unchanged": was == now,
                "cases": count,
                "examples": tally.transition_examples.get((policy, was, now), []),
            }
            for (policy, was, now), count in sorted(
                tally.transitions.items(), key=lambda item: (item[0][1] == item[0][2], item[0])
            )
        ],
        "criteria": [
            {
                "criterion": cid,
                "label": labels.get(cid, ""),
                "cases": criterion_cases[cid],
                "changes": changes,
                "examples": tally.criterion_examples.get(cid, []),
            }
            for cid, changes in sorted(by_criterion.items(), key=lambda i: (-criterion_cases[i[0]], i[0]))
        ],
        "failures": [
            {"version": v, "code": code, "cases": count, "examples": tally.failure_examples.get((v, code), [])}
            for (v, code), count in sorted(tally.failures.items())
        ],
        "run": dict(run),
    }
