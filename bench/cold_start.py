"""A cold ``guideline-reasoner determine`` of the seed case: this checkout against earlier revisions, in one run.

Each version runs as a new process, as a user runs the command, on its own knowledge base
unchanged since its previous run (an author's day: the same knowledge base, command after
command). Earlier revisions are checked out with ``git worktree`` into a temporary folder and
run from there; each version has a cache folder of its own, warmed by one untimed run, so what
is timed is the start on an unchanged knowledge base, not the first run ever. Bytecode is
compiled first, as an installed package has it. The first run of this checkout with an empty
cache folder (everything worked out: lint, SHACL-for-SHACL, parse, prepare) is timed too.

    python -m bench.cold_start [--runs 7] [--baseline e1ba785 e873713]

Defaults: ``e1ba785``, the code issue 21 measured (a lint verdict remembered, nothing else), and
``e873713``, the code before issue 21 (SHACL-for-SHACL passes remembered too).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import baseline

ROOT = Path(__file__).resolve().parent.parent
SEED = "examples/cases/sij-seed-neurectomy.json"
BASELINES = {"e1ba785": "the code issue 21 measured", "e873713": "before issue 21"}
# The command as the console script runs it, from the version's own folder.
_CLI = "import sys; sys.path.insert(0, {root!r}); from api.cli import app; app(['determine', {case!r}])"


def time_determine(code: Path, cache: Path, case: str = SEED, kb: Path | None = None) -> float:
    """Wall seconds of ``determine`` of ``case`` (relative to ``code``) in a new process of the version at ``code``.

    ``kb``: the knowledge base to load; by default the version's own (its folder).
    """
    env = dict(os.environ, GR_CACHE_DIR=str(cache), PYTHONDONTWRITEBYTECODE="1")
    env.pop("GUIDELINE_REASONER_KB", None)
    if kb is not None:
        env["GUIDELINE_REASONER_KB"] = str(kb)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _CLI.format(root=str(code), case=case)],
        cwd=code,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def measure(runs: int, baselines: list[str]) -> list[tuple[str, str, list[float]]]:
    """(version, what it is, wall seconds of each timed run); this checkout first."""
    rows: list[tuple[str, str, list[float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        versions = [("this checkout", "", ROOT)]
        for rev in baselines:
            folder = Path(tmp) / f"rev-{rev}"
            subprocess.run(["git", "worktree", "add", "--detach", "-q", str(folder), rev], cwd=ROOT, check=True)
            versions.append((rev, BASELINES.get(rev, ""), folder))
        try:
            for i, (_name, _what, root) in enumerate(versions):
                baseline.compile_bytecode(root)
                if i == 0:
                    first = time_determine(root, Path(tmp) / "cache-first")
                    rows.append(("this checkout, empty cache folder", "everything worked out", [first]))
                time_determine(root, Path(tmp) / f"cache-{i}")  # warm: the lint verdict and what the version remembers
            timed: dict[int, list[float]] = {i: [] for i in range(len(versions))}
            for _ in range(runs):  # in turn, so that a busy moment of the machine falls on every version
                for i, (_name, _what, root) in enumerate(versions):
                    timed[i].append(time_determine(root, Path(tmp) / f"cache-{i}"))
            rows[1:1] = [(name, what, timed[i]) for i, (name, what, _root) in enumerate(versions)]
        finally:
            for _name, _what, root in versions[1:]:
                subprocess.run(["git", "worktree", "remove", "--force", str(root)], cwd=ROOT, check=False)
    return rows


def table(rows: list[tuple[str, str, list[float]]]) -> list[str]:
    """Markdown rows, with each version's median against this checkout's."""
    ours = statistics.median(next(t for name, _w, t in rows if name == "this checkout"))
    out = ["| version | what | runs | median s | fastest s | median / this checkout |", "|---|---|---|---|---|---|"]
    for name, what, times in rows:
        median = statistics.median(times)
        out.append(f"| {name} | {what} | {len(times)} | {median:.2f} | {min(times):.2f} | {median / ours:.1f}x |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", nargs="*", default=list(BASELINES), help="git revisions to compare with")
    args = parser.parse_args(argv)
    print(f"cold `guideline-reasoner determine {SEED}`, wall seconds, {args.runs} runs of each version in turn")
    print("\n".join(table(measure(args.runs, args.baseline))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
