"""A replay from start to end, without the command line: resolve the versions, check them, run, summarise, write.

``command.py`` parses the options and calls :func:`replay_history`; the tests and the bench call it directly.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasoner.authoring.impact import materialise
from reasoner.knowledge.base import KnowledgeBase
from reasoner.knowledge.files import KnowledgeFiles
from reasoner.render.replay import to_html, to_markdown
from reasoner.replay import cluster
from reasoner.replay.progress import Progress
from reasoner.replay.sources import STORE, open_source
from reasoner.replay.summary import Version, summary
from reasoner.store.base import DeterminationStore

#: What the output folder holds besides the Parquet tables (reasoner/replay/output.py).
SUMMARIES = ("summary.json", "summary.md", "summary.html")


@dataclass(frozen=True, slots=True)
class Plan:
    """What to replay, against what, and where the answers go.

    ``before`` None: a store source's kept determinations (else the knowledge base in force,
    ``current``, which the command fills in). ``repo``: where a git revision is looked up.
    """

    source: str
    after: str
    out: Path
    before: str | None = None
    current: Path | None = None
    policy: str | None = None
    scheduler: str | None = None
    workers: int = 2
    partition: int = 500
    repo: Path = Path(".")


def _files(version: str, repo: Path, tmp: Path) -> KnowledgeFiles:
    return KnowledgeFiles.read(materialise(version, repo, tmp))


def replay_history(
    plan: Plan, progress: Callable[[int | None], Progress], store: DeterminationStore | None = None
) -> dict[str, Any]:
    """Replay ``plan.source``; write the tables and the summaries under ``plan.out``; return the summary.

    ``progress`` makes the display, given how many cases the source holds (None: unknown).

    The version after must lint clean, as it would to be served; the one before is only loaded.

    Raises:
        VersionError: a version is neither a knowledge-base folder nor a git revision.
        KnowledgeBaseError: a version cannot be loaded (or, after, has lint findings).
        SourceError: the source names nothing a replay can read.
        UnknownPolicyError: ``plan.policy`` is not a policy of the version after.
        ClusterError: the cluster cannot be reached or lost its workers.
    """
    source = open_source(plan.source, store=store)
    with tempfile.TemporaryDirectory() as tmp:
        after_files = _files(plan.after, plan.repo, Path(tmp))
        before_files: KnowledgeFiles | None = None
        before = Version("stored determinations", None)
        if plan.before is not None or plan.source != STORE:
            name = plan.before or str(plan.current or ".")
            before_files = _files(name, plan.repo, Path(tmp))
            before = Version(name, before_files.content_hash)
        # The cluster first: a scheduler that is not there is said before seconds of checking.
        with cluster.client(plan.scheduler, plan.workers) as c:
            after_kb = KnowledgeBase.from_files(after_files)
            if plan.policy is not None:
                after_kb.policy(plan.policy)  # UnknownPolicyError, naming the valid ones
            if before_files is not None:
                KnowledgeBase.from_files(before_files, checks="load")
            finished = cluster.run(
                c, source, before_files, after_files, plan.out, policy=plan.policy, partition=plan.partition,
                progress=progress(source.total),
            )  # fmt: skip
    labels = {c.id: c.label for c in after_kb.criteria.values()}
    result = summary(
        finished.tally,
        source=source.name,
        before=before,
        after=Version(plan.after, after_files.content_hash),
        labels=labels,
        run=finished.run(),
    )
    (plan.out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    (plan.out / "summary.md").write_text(to_markdown(result))
    (plan.out / "summary.html").write_text(to_html(result))
    return result
