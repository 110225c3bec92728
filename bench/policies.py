"""One determination against a knowledge base with one policy and with all of them, same run.

Builds a copy of the knowledge base that keeps only one policy's guideline and criteria files
(the vocabulary, codes and shared shapes stay), loads both, and times the same case under that
policy in each: the cost every other policy adds to a determination that does not use it.

    python -m bench.policies [--case FILE] [--policy ID] [--runs 50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.timing import samples_ms
from reasoner import KnowledgeBase, determine

ROOT = Path(__file__).resolve().parent.parent


def _one_policy_copy(policy: str, dest: Path) -> Path:
    shutil.copytree(ROOT / "ontology", dest / "ontology")
    shutil.copytree(ROOT / "shapes", dest / "shapes")
    for folder in (dest / "ontology" / "guidelines", dest / "shapes" / "criteria"):
        for path in folder.glob("*.ttl"):
            if path.stem != policy:
                path.unlink()
    return dest


def _median_ms(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """The median and the 99th percentile of ``runs`` times of ``fn()``, in milliseconds."""
    ordered = sorted(samples_ms(fn, runs))
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", type=Path, default=ROOT / "examples/cases/sij-seed-neurectomy.json")
    parser.add_argument("--policy", default="sij-clinical-pathway")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; medians are over rounds")
    args = parser.parse_args(argv)
    payload = args.case.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        loads: dict[str, list[float]] = {"one": [], "all": []}
        kbs: dict[str, KnowledgeBase] = {}
        for name, root in (("one", _one_policy_copy(args.policy, Path(tmp))), ("all", ROOT)):
            for _ in range(2):
                start = time.perf_counter()
                kbs[name] = KnowledgeBase.load(root)
                loads[name].append(time.perf_counter() - start)
        gc.collect()
        gc.freeze()
        answers = {name: determine(payload, "json", kb, policy=args.policy).model_dump() for name, kb in kbs.items()}
        for a in answers.values():
            a.pop("knowledgeBase")
            a.pop("determinationId")
        same = answers["one"] == answers["all"]
        medians: dict[str, list[float]] = {"one": [], "all": []}
        p99s: dict[str, list[float]] = {"one": [], "all": []}
        for _ in range(args.rounds):  # alternate, so drift on a shared machine hits both alike
            for name, kb in kbs.items():
                for _ in range(5):
                    determine(payload, "json", kb, policy=args.policy)
                median, p99 = _median_ms(lambda kb=kb: determine(payload, "json", kb, policy=args.policy), args.runs)
                medians[name].append(median)
                p99s[name].append(p99)
    one, full = statistics.median(medians["one"]), statistics.median(medians["all"])
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()}; cores: {len(os.sched_getaffinity(0))}"
    )
    print(f"case: {args.case.name} under {args.policy}; {args.rounds} rounds of {args.runs} runs, alternating")
    print("| knowledge base | policies | closed triples | shape triples | load s | median ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for name, label in (("one", f"only {args.policy}"), ("all", "bundled")):
        kb = kbs[name]
        print(
            f"| {label} | {len(kb.policies)} | {len(kb.ontology)} | {len(kb.shapes)} | "
            f"{min(loads[name]):.2f} | {statistics.median(medians[name]):.2f} | {statistics.median(p99s[name]):.2f} |"
        )
    print(f"ratio all/one (median of round medians): {full / one:.2f}x; identical criteria and outcome: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
