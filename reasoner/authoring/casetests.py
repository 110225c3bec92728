"""Example cases as tests: each case file has ``<name>.expected.json`` beside it.

The expected file lists, per policy, the outcome and every criterion status, and optionally the
next steps, the first reason (the criterion's label, which the reason follows with its tag, such
as ``[V2]``, and a colon) and the missing information. ``guideline-reasoner test`` and the
test suite both use :func:`run_case`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasoner.errors import ReasonerError
from reasoner.intake.turtle import CaseFormat
from reasoner.knowledge.base import KnowledgeBase
from reasoner.pipeline import determine


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One example case under one policy: what differed from its expectation (nothing when it passed)."""

    case: Path
    policy: str
    differences: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """True when the determination matched every expected item."""
        return not self.differences


def case_files(folder: Path) -> list[Path]:
    """Example cases (Turtle or JSON) in a folder, expected files excluded."""
    return sorted(
        p for p in folder.glob("*") if p.suffix in (".json", ".ttl") and not p.name.endswith(".expected.json")
    )


def expectations(case: Path) -> list[dict[str, Any]]:
    """The expectations beside a case file (empty when it has none)."""
    expected = case.with_name(f"{case.stem}.expected.json")
    if not expected.is_file():
        return []
    data = json.loads(expected.read_text())
    return list(data["expectations"])


def run_case(case: Path, expected: dict[str, Any], kb: KnowledgeBase) -> CaseResult:
    """Determine one case under the expectation's policy and list every difference."""
    fmt: CaseFormat = "json" if case.suffix == ".json" else "turtle"
    policy = expected["policy"]
    try:
        d = determine(case.read_bytes(), fmt, kb, policy=policy)
    except ReasonerError as exc:
        return CaseResult(case, policy, (f"error: {exc.message}",))
    diffs = []
    if d.outcome.value != expected["outcome"]:
        diffs.append(f"outcome: expected {expected['outcome']}, got {d.outcome.value}")
    got = {c.id: c.status.value for c in d.criteria}
    want: dict[str, str] = expected["criteria"]
    for cid in sorted(set(want) | set(got)):
        if cid not in got:
            diffs.append(f"criterion {cid}: expected {want[cid]}, not applied")
        elif cid not in want:
            diffs.append(f"criterion {cid}: not expected, got {got[cid]}")
        elif want[cid] != got[cid]:
            diffs.append(f"criterion {cid}: expected {want[cid]}, got {got[cid]}")
    if "nextSteps" in expected and [s.step for s in d.nextSteps] != expected["nextSteps"]:
        diffs.append(f"next steps: expected {expected['nextSteps']}, got {[s.step for s in d.nextSteps]}")
    if "firstRationale" in expected and not (
        d.rationale and d.rationale[0].startswith((expected["firstRationale"] + ":", expected["firstRationale"] + " ["))
    ):
        diffs.append(f"first reason: expected {expected['firstRationale']!r}, got {(d.rationale or [''])[0]!r}")
    if "missingInformation" in expected and d.missingInformation != expected["missingInformation"]:
        diffs.append(f"missing information: expected {expected['missingInformation']}, got {d.missingInformation}")
    return CaseResult(case, policy, tuple(diffs))


def run_all(folder: Path, kb: KnowledgeBase, *, policy: str | None = None) -> list[CaseResult]:
    """Every example case in a folder, under every policy its expectations name (or only ``policy``)."""
    return [
        run_case(case, e, kb)
        for case in case_files(folder)
        for e in expectations(case)
        if policy is None or e["policy"] == policy
    ]
