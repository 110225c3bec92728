"""What a replay counts: outcome transitions, criterion changes and failures, each with a few example case ids.

A tally is small whatever the number of cases (counts, and at most :data:`EXAMPLES` ids per
line), and two tallies add up; so partitions are tallied where they are replayed and only the
tallies travel. The examples are the smallest case ids, so every run over the same cases,
however it is split and scheduled, gives the same summary.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

EXAMPLES = 3

Transition = tuple[str, str, str]  # (policy, outcome before, outcome after)
StatusChange = tuple[str, str, str]  # (criterion id, status before, status after)
Failure = tuple[str, str]  # (version: before, after or stored; error code)


def _fewest(ids: list[str], more: list[str]) -> list[str]:
    return sorted(set(ids) | set(more))[:EXAMPLES]


@dataclass
class Tally:
    """Counts over replayed cases; ``+=`` merges another tally into this one."""

    cases: int = 0
    changed: int = 0
    undetermined: int = 0  # cases not determined under at least one version
    transitions: Counter[Transition] = field(default_factory=Counter)
    transition_examples: dict[Transition, list[str]] = field(default_factory=dict)
    status_changes: Counter[StatusChange] = field(default_factory=Counter)
    criterion_examples: dict[str, list[str]] = field(default_factory=dict)
    failures: Counter[Failure] = field(default_factory=Counter)
    failure_examples: dict[Failure, list[str]] = field(default_factory=dict)

    def transition(self, key: Transition, case: str) -> None:
        """Count one case's outcome before and after (changed or not)."""
        self.cases += 1
        self.transitions[key] += 1
        if key[1] != key[2]:
            self.transition_examples[key] = _fewest(self.transition_examples.get(key, []), [case])

    def status_change(self, key: StatusChange, case: str) -> None:
        """Count one criterion whose status changed for one case."""
        self.status_changes[key] += 1
        self.criterion_examples[key[0]] = _fewest(self.criterion_examples.get(key[0], []), [case])

    def failure(self, key: Failure, case: str) -> None:
        """Count one case that could not be determined under one version."""
        self.failures[key] += 1
        self.failure_examples[key] = _fewest(self.failure_examples.get(key, []), [case])

    def criterion_cases(self) -> Counter[str]:
        """Per criterion, the cases whose status of it changed (a case changes a criterion's status once)."""
        cases: Counter[str] = Counter()
        for (cid, _was, _now), count in self.status_changes.items():
            cases[cid] += count
        return cases

    def __iadd__(self, other: Tally) -> Tally:
        self.cases += other.cases
        self.changed += other.changed
        self.undetermined += other.undetermined
        self.transitions.update(other.transitions)
        self.status_changes.update(other.status_changes)
        self.failures.update(other.failures)
        for key, ids in other.transition_examples.items():
            self.transition_examples[key] = _fewest(self.transition_examples.get(key, []), ids)
        for cid, ids in other.criterion_examples.items():
            self.criterion_examples[cid] = _fewest(self.criterion_examples.get(cid, []), ids)
        for failure, ids in other.failure_examples.items():
            self.failure_examples[failure] = _fewest(self.failure_examples.get(failure, []), ids)
        return self
