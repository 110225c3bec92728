"""One determination of a case, in-process: the prepared pipeline against the naive way, same run.

The naive way is pyshacl.validate(case, shacl_graph=<all shapes>, ont_graph=<whole knowledge
base>, inference="rdfs") on the same enriched case graph; both are turned into criterion
results by the same explain stage, and the benchmark fails unless they agree
(reasoner.pipeline.agrees_with_reference: identical, or, where the case leaves values unstated,
the same status for every criterion the prepared path decides).

    python -m bench.determination [--case FILE] [--policy ID] [--runs 50] [--naive-runs 7]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from rdflib import Graph

from reasoner import KnowledgeBase, determine
from reasoner.knowledge.base import parse_into
from reasoner.knowledge.files import KnowledgeFiles
from reasoner.pipeline import agrees_with_reference, determine_naively

ROOT = Path(__file__).resolve().parent.parent


def _times(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", type=Path, default=ROOT / "examples/cases/sij-seed-neurectomy.json")
    parser.add_argument("--policy", default=None)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--naive-runs", type=int, default=7)
    args = parser.parse_args(argv)
    payload = args.case.read_bytes()
    fmt = "json" if args.case.suffix == ".json" else "turtle"

    start = time.perf_counter()
    kb = KnowledgeBase.load(ROOT)
    load = time.perf_counter() - start
    gc.collect()
    gc.freeze()  # as the CLI does: the knowledge base is never collected, so keep the collector off it

    def fast():  # type: ignore[no-untyped-def]
        return determine(payload, fmt, kb, policy=args.policy)

    asserted = Graph()  # what a naive implementation loads: the Turtle files as written, no closure
    files = KnowledgeFiles.read(kb.root)
    for rel, data in files.ontology + files.shapes:
        parse_into(asserted, rel, data)

    def naive():  # type: ignore[no-untyped-def]
        return determine_naively(payload, fmt, kb, policy=args.policy)

    def naive_asserted():  # type: ignore[no-untyped-def]
        return determine_naively(payload, fmt, kb, policy=args.policy, ontology=asserted)

    for _ in range(5):  # warm caches and lazy imports of both paths
        fast()
    naive()
    fast_t = _times(fast, args.runs)
    naive_t = _times(naive, args.naive_runs)
    asserted_t = _times(naive_asserted, args.naive_runs)
    expected = fast()
    same = agrees_with_reference(expected, naive()) and agrees_with_reference(expected, naive_asserted())
    fast_ms, naive_ms = statistics.median(fast_t) * 1000, statistics.median(naive_t) * 1000
    asserted_ms = statistics.median(asserted_t) * 1000
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()}; cores: {len(os.sched_getaffinity(0))}"
    )
    print(
        f"case: {args.case.relative_to(ROOT) if args.case.is_relative_to(ROOT) else args.case}; "
        f"knowledge base: {len(kb.ontology)} ontology triples (closed), {len(kb.shapes)} shape triples; "
        f"load {load:.2f} s"
    )
    print("| path | runs | median ms | p99 ms |")
    print("|---|---|---|---|")
    print(f"| prepared (determine) | {args.runs} | {fast_ms:.2f} | {_p99(fast_t) * 1000:.2f} |")
    print(f"| naive, ont_graph = closed ontology | {args.naive_runs} | {naive_ms:.1f} | {_p99(naive_t) * 1000:.1f} |")
    print(
        f"| naive, ont_graph = ontology + shapes as written | {args.naive_runs} | {asserted_ms:.1f} | "
        f"{_p99(asserted_t) * 1000:.1f} |"
    )
    print(
        f"ratios naive/prepared (medians): {naive_ms / fast_ms:.1f}x (closed), {asserted_ms / fast_ms:.1f}x "
        f"(as written); determinations agree: {same}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
