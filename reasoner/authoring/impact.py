"""The impact of a knowledge-base edit: which determinations change between two versions.

Each version is a git revision (its ontology/, shapes/ and examples/ are exported to a temporary
folder) or a folder holding ontology/ and shapes/. Every example case is determined under both,
under each policy its expectations name (else the policy the case names), and every change of
outcome or criterion status is listed with the criteria responsible.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from reasoner.authoring.casetests import case_files, expectations
from reasoner.errors import ReasonerError, UnknownPolicyError, VersionError
from reasoner.intake.turtle import CaseFormat
from reasoner.knowledge.base import KnowledgeBase
from reasoner.pipeline import determine


@dataclass(frozen=True, slots=True)
class Change:
    """One case under one policy whose answer differs between the versions."""

    case: str
    policy: str
    outcome: tuple[str, str]
    criteria: tuple[tuple[str, str, str], ...]  # (criterion id, before, after)

    def lines(self) -> list[str]:
        """Human-readable: the outcome change, then one line per criterion responsible."""
        head = f"{self.case} [{self.policy}]: "
        head += (
            f"{self.outcome[0]} -> {self.outcome[1]}" if self.outcome[0] != self.outcome[1] else f"{self.outcome[0]}"
        )
        return [head, *(f"    {cid}: {before} -> {after}" for cid, before, after in self.criteria)]


@dataclass(frozen=True, slots=True)
class ImpactReport:
    """The changed determinations and how many stayed the same."""

    changes: tuple[Change, ...]
    unchanged: int
    skipped: tuple[str, ...]
    """One line per case and policy that cannot be determined under a version: ``name [policy]: why``."""


def materialise(version: str, repo: Path, into: Path) -> Path:
    """A folder for ``version``: the folder itself, or a git revision exported into ``into``.

    Raises:
        VersionError: neither a knowledge-base folder nor a revision of ``repo``.
    """
    folder = Path(version)
    if folder.is_dir():
        if not (folder / "ontology").is_dir():
            raise VersionError(f"{version}: a folder must hold ontology/ and shapes/")
        return folder
    check = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{version}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        raise VersionError(f"{version}: not a folder and not a git revision of {repo}")
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", check.stdout.strip(), "ontology", "shapes", "examples"],
        capture_output=True,
        check=True,
    ).stdout
    target = into / check.stdout.strip()[:12]
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def _cases(roots: list[Path], extra: list[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in [r / "examples" / "cases" for r in roots] + extra:
        if folder.is_dir():
            for case in case_files(folder):
                found.setdefault(case.name, case)
    return found


def _answer(case: Path, kb: KnowledgeBase, policy: str | None) -> tuple[str, dict[str, str]] | str:
    """The outcome and criterion statuses, or why the case cannot be determined."""
    fmt: CaseFormat = "json" if case.suffix == ".json" else "turtle"
    try:
        d = determine(case.read_bytes(), fmt, kb, policy=policy)
    except UnknownPolicyError:
        return f"has no policy {policy}" if policy else "has no policy the case names"
    except ReasonerError as exc:
        first = exc.message.splitlines()[0]
        return f"cannot determine it ({exc.code}: {first[:200]}{'…' if len(first) > 200 else ''})"
    return d.outcome.value, {c.id: c.status.value for c in d.criteria}


def impact(before: Path, after: Path, *, cases: list[Path] | None = None) -> ImpactReport:
    """Determine every example case under both knowledge bases and list what changed.

    The knowledge base after the edit must lint clean, as it would to be served; the one before
    is history, and is only loaded (an older revision may not pass today's lint).
    """
    kb_before, kb_after = KnowledgeBase.load(before, checks="load"), KnowledgeBase.load(after)
    changes: list[Change] = []
    skipped: list[str] = []
    unchanged = 0
    for name, case in sorted(_cases([after, before], cases or []).items()):
        policies = [e["policy"] for e in expectations(case)] or [None]
        for policy in policies:
            old, new = _answer(case, kb_before, policy), _answer(case, kb_after, policy)
            label = policy or "its own policy"
            if isinstance(old, str) or isinstance(new, str):
                why = [
                    f"the version {when} {answer}"
                    for when, answer in (("before", old), ("after", new))
                    if isinstance(answer, str)
                ]
                skipped.append(f"{name} [{label}]: {'; '.join(why)}")
                continue
            diffs = tuple(
                (cid, old[1].get(cid, "(not applied)"), new[1].get(cid, "(not applied)"))
                for cid in sorted(set(old[1]) | set(new[1]))
                if old[1].get(cid) != new[1].get(cid)
            )
            if old[0] != new[0] or diffs:
                changes.append(Change(name, label, (old[0], new[0]), diffs))
            else:
                unchanged += 1
    return ImpactReport(tuple(changes), unchanged, tuple(skipped))
