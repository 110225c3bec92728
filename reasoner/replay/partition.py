"""Replay one partition of cases on a worker: each determined under both versions, only the differences kept.

The knowledge bases arrive as :class:`KnowledgeFiles` (the bytes the driver checked) and are
loaded once per worker process, then reused by every partition it is given.
"""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass, field

from reasoner.knowledge.base import KnowledgeBase
from reasoner.knowledge.files import KnowledgeFiles
from reasoner.replay.answers import NOT_DETERMINED, Answer, answer
from reasoner.replay.cases import Case
from reasoner.replay.tally import Tally

_loaded: dict[str, KnowledgeBase] = {}
_loading = threading.Lock()

#: The version name of a store source's kept determination, standing in for ``--from``.
STORED = "stored"


@dataclass
class Rows:
    """The differences of one partition: rows of the Parquet tables, in their columns' order (output.SCHEMAS)."""

    changes: list[tuple[str, str, str, str, list[str]]] = field(default_factory=list)  # case, policy, before, after
    criteria: list[tuple[str, str, str, str, str]] = field(
        default_factory=list
    )  # case, policy, criterion, before, after
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # case, version, code


@dataclass
class Replayed:
    """A partition's tally and rows."""

    tally: Tally
    rows: Rows


def knowledge_base(files: KnowledgeFiles) -> KnowledgeBase:
    """The knowledge base of these files, loaded once per process (the driver checked them)."""
    key = files.content_hash
    with _loading:
        if key not in _loaded:
            _loaded[key] = KnowledgeBase.from_files(files, checks="none")
            gc.collect()
            gc.freeze()  # read-only for the life of the worker: keep the collector off it
        return _loaded[key]


def _before(case: Case, before: KnowledgeBase | None, policy: str | None) -> Answer:
    if before is None:
        return case.stored if case.stored is not None else Answer.failed("no-stored-determination")
    return answer(case.payload, case.fmt, before, policy)


def replay(
    cases: list[Case], before: KnowledgeFiles | None, after: KnowledgeFiles, policy: str | None = None
) -> Replayed:
    """Determine each case under ``before`` (None: its stored determination) and ``after``; tally what changed."""
    kb_before = knowledge_base(before) if before is not None else None
    kb_after = knowledge_base(after)
    tally, rows = Tally(), Rows()
    names = ("before", "after") if before is not None else (STORED, "after")
    for case in cases:
        chosen = policy or case.policy
        if case.error is not None:
            old = new = Answer.failed(case.error)
        else:
            old = _before(case, kb_before, chosen)
            new = answer(case.payload, case.fmt, kb_after, chosen or old.policy)
        _compare(case.id, chosen, old, new, names, tally, rows)
    return Replayed(tally, rows)


def _compare(
    ident: str, chosen: str | None, old: Answer, new: Answer, names: tuple[str, str], tally: Tally, rows: Rows
) -> None:
    policy = new.policy or old.policy or chosen or "(no policy)"
    tally.transition((policy, old.outcome, new.outcome), ident)
    tally.undetermined += old.error is not None or new.error is not None
    for name, got in zip(names, (old, new), strict=True):
        if got.error is not None:
            tally.failure((name, got.error), ident)
            rows.failures.append((ident, name, got.error))
    if NOT_DETERMINED in (old.outcome, new.outcome):
        statuses: list[tuple[str, str, str]] = []  # nothing to compare criterion by criterion
    else:
        was, now = dict(old.statuses), dict(new.statuses)
        statuses = [
            (cid, was.get(cid, "not-applied"), now.get(cid, "not-applied"))
            for cid in sorted(was.keys() | now.keys())
            if was.get(cid) != now.get(cid)
        ]
    if old.outcome == new.outcome and not statuses:
        return
    tally.changed += 1
    rows.changes.append((ident, policy, old.outcome, new.outcome, [cid for cid, _, _ in statuses]))
    for cid, was_status, now_status in statuses:
        tally.status_change((cid, was_status, now_status), ident)
        rows.criteria.append((ident, policy, cid, was_status, now_status))
