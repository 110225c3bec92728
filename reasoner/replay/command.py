"""``guideline-reasoner replay``: a history of cases under two knowledge-base versions, on Dask.

Registered in reasoner/cli.py; imports Dask and pyarrow only when it runs (the ``replay`` extra).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from reasoner.cli_options import DataOption, StoreUrlOption, fail
from reasoner.errors import KnowledgeBaseError, UnknownPolicyError, VersionError
from reasoner.knowledge.base import default_root

EXTRA = "replay needs Dask and pyarrow: pip install 'guideline-reasoner[replay]'"


class SummaryFormat(StrEnum):
    """How the summary is printed (all three are written to the output folder)."""

    markdown = "markdown"
    json = "json"
    none = "none"


SourceArgument = Annotated[
    str,
    typer.Argument(
        metavar="SOURCE",
        help=(
            "The cases: a folder of case files (JSON, FHIR, JSON-LD, Turtle), a JSON Lines (.jsonl) or Parquet "
            "(.parquet, a 'case' column) file of JSON cases, or store: for the determination store."
        ),
    ),
]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="REV|DIR",
        help=(
            "Git revision or knowledge-base folder to compare with. Default: for store:, each case's kept "
            "determination; otherwise the knowledge base in force (--kb)."
        ),
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="A running Dask scheduler (tcp://host:port, or its scheduler file). Default: a local cluster.",
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers", "-w", min=1, metavar="N", help="Worker processes of the local cluster. Default: one per core."
    ),
]


def replay(
    source: SourceArgument,
    to: Annotated[str, typer.Option("--to", metavar="REV|DIR", help="Git revision or knowledge-base folder to try.")],
    from_: FromOption = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Where the Parquet tables and the summaries go.")
    ] = Path("replay-output"),
    policy: Annotated[
        str | None,
        typer.Option("--policy", "-p", metavar="ID", help="Determine every case under this policy (default: its own)."),
    ] = None,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    partition: Annotated[int, typer.Option("--partition", min=1, metavar="N", help="Cases per task.")] = 500,
    output: Annotated[
        SummaryFormat, typer.Option("--format", "-f", help="How the summary is printed.")
    ] = SummaryFormat.markdown,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on standard error.")] = False,
    kb_dir: Annotated[
        Path | None, typer.Option("--kb", metavar="DIR", help="The knowledge base in force (the default --from).")
    ] = None,
    data: DataOption = None,
    store_url: StoreUrlOption = None,
) -> None:
    """Determine a history of cases under two knowledge-base versions and summarise what changes.

    Writes changes.parquet, criteria.parquet and failures.parquet (case ids, outcomes, statuses
    and error codes: never what a case holds) and summary.md, summary.html and summary.json to
    --out, and prints the summary. Exit 2: bad options or source; 3: a knowledge base refused;
    4: the cluster failed.
    """
    try:
        from reasoner.replay import cluster, job
        from reasoner.replay.progress import progress
        from reasoner.replay.sources import STORE, SourceError
    except ImportError:
        raise fail(EXTRA, 2) from None
    from reasoner.render.replay import to_markdown
    from reasoner.store import StoreError
    from reasoner.store.location import open_store

    plan = job.Plan(
        source=source,
        after=to,
        out=out,
        before=from_,
        current=kb_dir or default_root(),
        policy=policy,
        scheduler=scheduler,
        workers=workers or os.cpu_count() or 1,
        partition=partition,
        repo=Path.cwd(),
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(f"{out}: cannot write the results there ({exc.strerror or type(exc).__name__})", 2) from None
    try:
        store = open_store(store_url or data) if source == STORE else None
    except StoreError as exc:
        raise fail(exc.message, 2) from None
    try:
        result = job.replay_history(plan, lambda total: progress(total, quiet=quiet), store)
    except (VersionError, SourceError, UnknownPolicyError) as exc:
        raise fail(exc.message, 2) from None
    except KnowledgeBaseError as exc:
        raise fail(exc.message, 3) from None
    except cluster.ClusterError as exc:
        raise fail(exc.message, 4) from None
    finally:
        if store is not None:
            store.close()
    if output is SummaryFormat.markdown:
        typer.echo(to_markdown(result), nl=False)
    elif output is SummaryFormat.json:
        typer.echo((out / "summary.json").read_text(), nl=False)
