"""What the cores give: the seed case determined in a loop by one process, then by two at once.

Its own module because the processes are started with ``spawn``, which imports the target by
module name (``python -m bench`` runs its ``__main__`` under another name).

    python -m bench.parallel [--seconds 10]
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _loop(seconds: float, start_at: float, queue: Any) -> None:
    from reasoner import KnowledgeBase, determine

    kb = KnowledgeBase.load(ROOT)
    gc.collect()
    gc.freeze()
    payload = (ROOT / "examples/cases/sij-seed-neurectomy.json").read_bytes()
    for _ in range(20):
        determine(payload, "json", kb)
    time.sleep(max(0.0, start_at - time.time()))
    count, begin = 0, time.perf_counter()
    while time.perf_counter() - begin < seconds:
        determine(payload, "json", kb)
        count += 1
    queue.put(count / (time.perf_counter() - begin))


def parallel(seconds: float) -> tuple[list[str], dict[str, float]]:
    """Rows of a Markdown table, and the two-process total over the one-process total."""
    ctx = mp.get_context("spawn")
    rows = ["| processes | determinations/s, all together | ms per determination, each process |", "|---|---|---|"]
    totals = {}
    for n in (1, 2):
        queue = ctx.Queue()
        start_at = time.time() + 8  # after every process has loaded the knowledge base
        procs = [ctx.Process(target=_loop, args=(seconds, start_at, queue)) for _ in range(n)]
        for p in procs:
            p.start()
        try:
            rates = [queue.get(timeout=60 + seconds) for _ in procs]
        finally:
            for p in procs:
                p.join(10)
                if p.is_alive():
                    p.kill()
        totals[n] = sum(rates)
        rows.append(f"| {n} | {sum(rates):.0f} | {1000 * n / sum(rates):.2f} |")
    return rows, {"scaling": totals[2] / totals[1], "one": totals[1]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args(argv)
    rows, summary = parallel(args.seconds)
    print("\n".join(rows))
    print(f"two processes / one: {summary['scaling']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
