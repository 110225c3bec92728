"""Replay at scale: generated cases under two knowledge-base versions, on 1 and then 2 Dask workers.

Same run, this machine: the per-case time of the in-process loop (``determine`` under both
versions, one process) as the baseline; then the same cases replayed on a LocalCluster of one
worker and of two, with throughput, the ratio of the two, per-case time against the baseline,
and peak memory per worker and of the driver. The edit is the one the replay tests make (a
diagnostic facet block counts from 60 % relief, not 80 %). Its own module because Dask's
worker processes are started with ``spawn``.

    python -m bench.replay [--cases 100000] [--sample 2000] [--partition 500]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import mix

ROOT = Path(__file__).resolve().parent.parent
THRESHOLD = "mfacet:block-min-relief\n"


def edited_knowledge_base(dest: Path) -> Path:
    """A copy of the bundled knowledge base under ``dest`` with the facet block threshold lowered to 60 %."""
    shutil.copytree(ROOT / "ontology", dest / "ontology")
    shutil.copytree(ROOT / "shapes", dest / "shapes")
    path = dest / "ontology" / "guidelines" / "medicare-facet-lcd.ttl"
    text = path.read_text()
    start = text.index(THRESHOLD)
    edited = text[:start] + text[start:].replace('gr:value "80"^^xsd:decimal', 'gr:value "60"^^xsd:decimal', 1)
    if edited == text:
        raise SystemExit("the facet block threshold is no longer 80 %: update bench/replay.py")
    path.write_text(edited)
    return dest


def in_process(lines: Path, edited: Path, sample: int, rounds: int = 3) -> float:
    """Median over rounds of ms per case, both versions determined in this process (the baseline).

    Each round takes cases it has not seen (a knowledge base remembers some answers by content).
    """
    from reasoner.knowledge.files import KnowledgeFiles
    from reasoner.replay.cases import line_case
    from reasoner.replay.partition import knowledge_base, replay

    before, after = KnowledgeFiles.read(ROOT), KnowledgeFiles.read(edited)
    knowledge_base(before), knowledge_base(after)
    with lines.open("rb") as f:
        cases = [line_case(f.readline().strip(), "x") for _ in range(sample * rounds + 50)]
    replay(cases[-50:], before, after)  # warm
    per_case = []
    for n in range(rounds):
        chunk = cases[n * sample : (n + 1) * sample]
        start = time.perf_counter()
        replay(chunk, before, after)
        per_case.append(1000 * (time.perf_counter() - start) / len(chunk))
    return statistics.median(per_case)


def replayed(lines: Path, edited: Path, out: Path, workers: int, partition: int) -> dict[str, object]:
    from reasoner.replay.cluster import peak_memory_mb
    from reasoner.replay.job import Plan, replay_history
    from reasoner.replay.progress import progress

    plan = Plan(source=str(lines), after=str(edited), out=out, before=str(ROOT), workers=workers, partition=partition)
    Path("/proc/self/clear_refs").write_text("5")  # Linux: the driver's peak from here on
    start = time.perf_counter()
    result = replay_history(plan, lambda total: progress(total))
    result["run"]["wall"] = time.perf_counter() - start
    result["run"]["driverMB"] = peak_memory_mb()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2000, help="cases the in-process baseline determines")
    parser.add_argument("--partition", type=int, default=500)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        edited = edited_knowledge_base(folder / "kb")
        lines = folder / "cases.jsonl"
        start = time.perf_counter()
        mix.write_jsonl(lines, args.cases)
        size = lines.stat().st_size / 1e6
        print(f"generated {args.cases:,} cases ({size:.0f} MB of JSON Lines) in {time.perf_counter() - start:.1f} s")
        baseline = in_process(lines, edited, min(args.sample, args.cases // 4))
        print(f"in process: {baseline:.2f} ms per case (both versions; median of 3 rounds of {args.sample:,})")
        runs = {}
        for workers in (1, 2):
            runs[workers] = replayed(lines, edited, folder / f"out-{workers}", workers, args.partition)
        one, two = runs[1], runs[2]
        for key in ("run",):
            one_run, two_run = one.pop(key), two.pop(key)
        identical = one == two
        print("| workers | cases | wall s | run s | cases/s | ms per case per worker | peak MB per worker |")
        print("|---|---|---|---|---|---|---|")
        for n, run in ((1, one_run), (2, two_run)):
            per_case = 1000 * run["seconds"] * n / one["cases"]
            peaks = ", ".join(f"{mb:.0f}" for mb in run["peakMemoryMB"].values())
            print(
                f"| {n} | {one['cases']:,} | {run['wall']:.1f} | {run['seconds']:.1f} | {run['casesPerSecond']:,.0f} "
                f"| {per_case:.2f} | {peaks} |"
            )
        scaling = two_run["casesPerSecond"] / one_run["casesPerSecond"]
        per_case_one = 1000 * one_run["seconds"] / one["cases"]
        print(f"2 workers / 1: {scaling:.2f}x the throughput (issue 20: at least 1.7x)")
        print(
            f"1 worker: {per_case_one:.2f} ms per case against {baseline:.2f} in process: "
            f"{per_case_one / baseline:.2f}x (issue 20: within 1.5x)"
        )
        print(
            f"driver peak memory during the replay: {one_run['driverMB']:.0f} MB (1 worker), "
            f"{two_run['driverMB']:.0f} MB (2); same summary from both runs: {identical}"
        )
        print(f"changed: {one['changed']:,} cases, {one['outcomeChanged']:,} outcomes; "
              f"not determined: {one['notDetermined']:,}")  # fmt: skip
        print(json.dumps({"transitions changed": [t for t in one["transitions"] if not t["unchanged"]]})[:600])
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
