"""This checkout against another revision, same run: one determination per case, medians and ratios.

The knowledge-base load (lint verdicts cached by content, as in the CLI) is timed once per round too.

The other revision is checked out into a temporary git worktree. Each round times every case in a
fresh process per tree, the trees taking turns, so drift on a shared 2-core machine falls on both
alike; the ratio is of the medians over the rounds. Each tree determines its own copy of the case
file (the case form may differ between revisions).

    python -m bench.versus --baseline REV [--case examples/cases/X.json ...] [--history 1000] [--rounds 7] [--runs 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from bench import baseline

ROOT = Path(__file__).resolve().parent.parent
CASES = ("examples/cases/sij-seed-neurectomy.json", "examples/cases/facet-rfa-initial.json")

# Run inside each tree: its own reasoner package, its own knowledge base, its own case files.
_TIMER = """
import gc, json, statistics, sys, time
from pathlib import Path
root = Path(sys.argv[1]); sys.path.insert(0, str(root))
from reasoner import KnowledgeBase, determine
start = time.perf_counter(); kb = KnowledgeBase.load(root); loaded = time.perf_counter() - start
gc.collect(); gc.freeze()
out = {"(knowledge-base load, once per round)": {"median_ms": loaded * 1000, "outcome": "-"}}
for rel in sys.argv[3:]:
    policy = None
    if rel.startswith("history:"):  # the facet example with a history the policy reads in full (bench/generated.py)
        from bench.generated import case_with_relevant_history
        payload, policy = case_with_relevant_history(int(rel.split(":")[1])), "medicare-facet-lcd"
    else:
        payload = (root / rel).read_bytes()
    runs = int(sys.argv[2]) if policy is None else max(5, int(sys.argv[2]) // 20)
    for _ in range(20 if policy is None else 3):
        d = determine(payload, "json", kb, policy=policy)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        determine(payload, "json", kb, policy=policy)
        times.append(time.perf_counter() - start)
    out[rel] = {"median_ms": statistics.median(times) * 1000, "outcome": d.outcome.value}
print(json.dumps(out))
"""


def _time(tree: Path, runs: int, cases: list[str]) -> dict[str, dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-c", _TIMER, str(tree), str(runs), *cases], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"timing in {tree} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare against, e.g. a commit or tag")
    parser.add_argument("--case", action="append", help=f"case file relative to the checkout (default: {CASES})")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--runs", type=int, default=200, help="determinations per case per round")
    parser.add_argument(
        "--history",
        type=int,
        action="append",
        default=[],
        help="also the facet example with N history items its policy reads in full (a twentieth of the runs)",
    )
    args = parser.parse_args(argv)
    cases = (args.case or list(CASES)) + [f"history:{n}" for n in args.history]
    rev = baseline.short(args.baseline)
    rounds: dict[str, list[dict[str, dict[str, object]]]] = {"baseline": [], "this": []}
    with baseline.worktree(args.baseline, "bench-versus-") as (base, _tmp):
        for _ in range(args.rounds):
            rounds["baseline"].append(_time(base, args.runs, cases))
            rounds["this"].append(_time(ROOT, args.runs, cases))
    this = baseline.this_checkout()
    print(f"baseline {rev} vs this checkout ({this}): {args.rounds} rounds x {args.runs} determinations")
    # The fastest round of each tree too: on a shared machine a round can be slowed whole, never sped up.
    print("| case | baseline median ms | this median ms | ratio | fastest rounds ms | ratio | outcome (base / this) |")
    print("|---|---|---|---|---|---|---|")
    for rel in [*cases, "(knowledge-base load, once per round)"]:
        bs = [float(r[rel]["median_ms"]) for r in rounds["baseline"]]  # type: ignore[arg-type]
        ts = [float(r[rel]["median_ms"]) for r in rounds["this"]]  # type: ignore[arg-type]
        b, t = statistics.median(bs), statistics.median(ts)
        outcomes = f"{rounds['baseline'][0][rel]['outcome']} / {rounds['this'][0][rel]['outcome']}"
        fastest = f"{min(bs):.2f} / {min(ts):.2f} | {min(ts) / min(bs):.2f}x"
        print(f"| {Path(rel).name} | {b:.2f} | {t:.2f} | {t / b:.2f}x | {fastest} | {outcomes} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
