"""Preparing the knowledge base (parse, rules, closure, indexes), this checkout against another revision, same run.

Two measures, for the bundled knowledge base and for a copy with ``--policies`` generated policies
(each tree's own bench/generated.py):

- **first load**: ``KnowledgeBase.from_files(files, checks="none")`` in a fresh process with an
  empty cache folder but for the ICD-10-CM index (so every file is parsed): what a load costs after
  an edit, once lint's verdict is known;
- **prepare**: ``KnowledgeBase._prepared(files, "none")`` again in a warm process (files parsed,
  modules imported, the closures the process remembers forgotten): the preparation alone, the
  closure's share at its largest.

The other revision is checked out into a temporary git worktree; each round runs one fresh process
per tree, knowledge base and measure, the trees taking turns. The ratio is of the medians over the
rounds.

    python -m bench.prepare --baseline REV [--policies 50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import baseline

ROOT = Path(__file__).resolve().parent.parent

# Run inside each tree: its own reasoner package, its own knowledge base and generator.
_TIMER = """
import json, statistics, sys, tempfile, time
from pathlib import Path
root = Path(sys.argv[1]); sys.path.insert(0, str(root)); n = int(sys.argv[2]); mode = sys.argv[3]
from reasoner.knowledge.base import KnowledgeBase
from reasoner.knowledge.files import KnowledgeFiles
if n:
    from bench.generated import knowledge_base_with
    root = knowledge_base_with(n, Path(tempfile.mkdtemp(prefix="bench-prepare-")))
files = KnowledgeFiles.read(root)
if mode == "first":
    start = time.perf_counter(); kb = KnowledgeBase.from_files(files, checks="none"); took = time.perf_counter() - start
else:
    kb = KnowledgeBase._prepared(files, "none")  # parses, imports, and builds what is kept per process
    times = []
    for _ in range(3):
        try:  # what a process remembers of earlier closures (issue 23) would make this a repeat, not a preparation
            from reasoner.knowledge import owl_rl
            owl_rl._REMEMBERED.clear()
        except ImportError:
            pass
        start = time.perf_counter()
        kb = KnowledgeBase._prepared(files, "none")
        times.append(time.perf_counter() - start)
    took = statistics.median(times)
print(json.dumps({"s": took, "triples": len(kb.ontology)}))
"""


def _time(tree: Path, policies: int, mode: str, warm: Path) -> dict[str, float]:
    """One run in a fresh process; ``first`` gets a fresh cache folder holding only ``warm``'s ICD-10-CM index."""
    with tempfile.TemporaryDirectory(prefix="bench-prepare-cache-") as cache:
        if mode == "first":
            shutil.copytree(warm / "icd10cm", Path(cache) / "icd10cm")
        env = {**os.environ, "GR_CACHE_DIR": cache if mode == "first" else str(warm)}
        done = subprocess.run(
            [sys.executable, "-c", _TIMER, str(tree), str(policies), mode],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
    if done.returncode != 0:
        raise SystemExit(f"timing in {tree} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare against")
    parser.add_argument("--policies", type=int, default=50, help="generated policies in the larger knowledge base")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    rev = baseline.short(args.baseline)
    sizes, modes = (0, args.policies), ("first", "prepare")
    runs: dict[tuple[str, int, str], list[dict[str, float]]] = {
        (t, n, m): [] for t in ("baseline", "this") for n in sizes for m in modes
    }
    with baseline.worktree(args.baseline, "bench-prepare-") as (base, tmp):
        trees = {"baseline": base, "this": ROOT}
        warm = {name: tmp / f"cache-{name}" for name in trees}
        for name, tree in trees.items():  # each tree's own warm cache folder: its parses and its ICD-10-CM index
            _time(tree, 0, "prepare", warm[name])
        for _ in range(args.rounds):
            for n in sizes:
                for mode in modes:
                    for name, tree in trees.items():
                        runs[name, n, mode].append(_time(tree, n, mode, warm[name]))
    print(f"baseline {rev} vs this checkout ({baseline.this_checkout()}): {args.rounds} rounds")
    print("| policies added | measure | closed triples (base / this) | base s | this s | ratio | fastest s | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        for mode in modes:
            b = [r["s"] for r in runs["baseline", n, mode]]
            t = [r["s"] for r in runs["this", n, mode]]
            triples = f"{runs['baseline', n, mode][0]['triples']:,.0f} / {runs['this', n, mode][0]['triples']:,.0f}"
            mb, mt = statistics.median(b), statistics.median(t)
            print(
                f"| {n} | {mode} | {triples} | {mb:.2f} | {mt:.2f} | {mt / mb:.2f}x | "
                f"{min(b):.2f} / {min(t):.2f} | {min(t) / min(b):.2f}x |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
