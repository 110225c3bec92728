"""Replay at scale: generated cases under two knowledge-base versions, on 2, 1 and again 2 Dask workers.

Same run, this machine: the per-case time of the in-process loop (``determine`` under both
versions, one process) as the baseline; then ``guideline-reasoner replay`` of the same cases, as
a user runs it, on a LocalCluster of two workers, of one, and of two again (the machine's drift
shows between the two-worker runs): throughput, the ratio, per-case time against the baseline,
peak memory of each worker and of the driver. The edit is the one the replay tests make (a
diagnostic facet block counts from 60 % relief, not 80 %).

    python -m bench.replay [--cases 100000] [--sample 2000] [--partition 500]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


def replayed(lines: Path, edited: Path, out: Path, workers: int, partition: int) -> dict[str, Any]:
    """The summary of ``guideline-reasoner replay`` run as a user runs it (its own process: its memory is its own)."""
    command = [
        str(Path(sys.executable).parent / "guideline-reasoner"), "replay", str(lines), "--from", str(ROOT),
        "--to", str(edited), "--out", str(out), "--workers", str(workers), "--partition", str(partition),
        "--format", "json",
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"replay failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    result["run"]["wall"] = time.perf_counter() - start
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
        # Two workers, one, two again: the machine's drift shows as a difference between the two-worker runs.
        runs = [(n, replayed(lines, edited, folder / f"out-{i}", n, args.partition)) for i, n in enumerate((2, 1, 2))]
        summaries = [{k: v for k, v in r.items() if k != "run"} for _, r in runs]
        identical = all(s == summaries[0] for s in summaries)
        cases = summaries[0]["cases"]
        print(
            "| workers | cases | wall s | run s | cases/s | ms per case per worker | peak MB per worker | driver MB |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for n, r in runs:
            run = r["run"]
            per_case = 1000 * run["seconds"] * n / cases
            peaks = ", ".join(f"{mb:.0f}" for mb in run["peakMemoryMB"].values())
            print(
                f"| {n} | {cases:,} | {run['wall']:.1f} | {run['seconds']:.1f} | {run['casesPerSecond']:,.0f} "
                f"| {per_case:.2f} | {peaks} | {run['driverPeakMemoryMB']:.0f} |"
            )
        one = runs[1][1]["run"]
        two = statistics.mean(r["run"]["casesPerSecond"] for n, r in runs if n == 2)
        per_case_one = 1000 * one["seconds"] / cases
        print(f"2 workers / 1: {two / one['casesPerSecond']:.2f}x the throughput (mean of the two 2-worker runs; "
              f"issue 20: at least 1.7x)")  # fmt: skip
        print(
            f"1 worker: {per_case_one:.2f} ms per case against {baseline:.2f} in process: "
            f"{per_case_one / baseline:.2f}x (issue 20: within 1.5x)"
        )
        print(f"same summary from all three runs: {identical}")
        first = summaries[0]
        print(f"changed: {first['changed']:,} cases, {first['outcomeChanged']:,} outcomes; "
              f"not determined: {first['notDetermined']:,}")  # fmt: skip
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
