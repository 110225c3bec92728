"""An author's edit loop: the first ``determine`` after an edit, this checkout against another revision, same run.

Each tree gets its own copy of its knowledge base and its own cache folder. Each round, per tree in
turn, one fresh ``guideline-reasoner determine`` of the seed case (wall time of the whole command):

- **unchanged**: nothing edited since the last command;
- **shapes edit**: a criterion's ``sh:message`` changed (shapes/criteria/medicare-facet-lcd.ttl);
- **ontology edit**: a policy's ``rdfs:label`` changed (ontology/guidelines/medicare-facet-lcd.ttl);
- **first**: an empty cache folder, as on a fresh install (``--first``; about 12 s a run).

Each edit writes new text, so no verdict of an earlier round applies. The ratio is of the medians.

    python -m bench.edit_loop --baseline REV [--rounds 5] [--first]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import baseline

ROOT = Path(__file__).resolve().parent.parent
SHAPES = "shapes/criteria/medicare-facet-lcd.ttl"
ONTOLOGY = "ontology/guidelines/medicare-facet-lcd.ttl"
_COMMAND = "import sys; sys.path.insert(0, sys.argv[1]); from reasoner.cli import app; app(sys.argv[2:])"


def _run(tree: Path, kb: Path, cache: Path) -> float:
    """Seconds for one ``determine`` of the seed case in a fresh process."""
    case = str(tree / "examples/cases/sij-seed-neurectomy.json")
    env = {**os.environ, "GR_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _COMMAND, str(tree), "determine", case, "--kb", str(kb)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"determine in {tree} failed:\n{done.stderr[-2000:]}")
    return took


def _edit(kb: Path, rel: str, before: str, mark: str) -> None:
    """Put ``mark`` at the start of the first ``before"`` text in ``kb/rel``."""
    path = kb / rel
    text = path.read_text()
    at = text.index(before + '"') + len(before) + 1
    path.write_text(text[:at] + mark + " " + text[at:])


def table(rev: str, rounds: int, first: bool) -> list[str]:
    """The Markdown table of this checkout against ``rev`` (a header line, then the table)."""
    measures = ["unchanged", "shapes edit", "ontology edit", *(["first"] if first else [])]
    runs: dict[tuple[str, str], list[float]] = {(t, m): [] for t in ("baseline", "this") for m in measures}
    with baseline.worktree(rev, "bench-edit-") as (base, tmp):
        trees = {"baseline": base, "this": ROOT}
        kbs, caches = {}, {}
        for name, tree in trees.items():
            kbs[name], caches[name] = tmp / f"kb-{name}", tmp / f"cache-{name}"
            for part in ("ontology", "shapes"):
                shutil.copytree(tree / part, kbs[name] / part)
            _run(tree, kbs[name], caches[name])  # warm: lint, prepare, the ICD-10-CM index
        for r in range(rounds):
            for name, tree in trees.items():
                kb, cache = kbs[name], caches[name]
                runs[name, "unchanged"].append(_run(tree, kb, cache))
                _edit(kb, SHAPES, "sh:message ", f"Round {r}:")
                runs[name, "shapes edit"].append(_run(tree, kb, cache))
                _edit(kb, ONTOLOGY, "rdfs:label ", f"Round {r}:")
                runs[name, "ontology edit"].append(_run(tree, kb, cache))
                if first:
                    empty = tmp / f"empty-{name}-{r}"
                    runs[name, "first"].append(_run(tree, kb, empty))
                    shutil.rmtree(empty, ignore_errors=True)
    out = [
        f"baseline {baseline.short(rev)} vs this checkout ({baseline.this_checkout()}): {rounds} rounds, "
        "one command's wall time",
        "",
        "| command | base median s | this median s | ratio | fastest s (base / this) |",
        "|---|---|---|---|---|",
    ]
    for m in measures:
        b, t = runs["baseline", m], runs["this", m]
        mb, mt = statistics.median(b), statistics.median(t)
        out.append(f"| {m} | {mb:.2f} | {mt:.2f} | {mt / mb:.2f}x | {min(b):.2f} / {min(t):.2f} |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--first", action="store_true", help="also time a command with an empty cache folder")
    args = parser.parse_args(argv)
    baseline.short(args.baseline)  # an unknown revision stops here, before any copy
    print("\n".join(table(args.baseline, args.rounds, args.first)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
