"""Where a determination's time goes, stage by stage, in-process: the seed and long histories.

Each sample runs the pipeline once, timing each stage as ``determine`` runs it (the collector
paused, reasoner/_collector.py): reading the JSON (parse and validation), the case graph,
enrichment, validation and explanation. Then the whole ``determine`` on the same case: its time
beyond those stages (choosing the policy, the determination's id and model) is "the rest"; and
the JSON answer of it. Beside the times: the triples before and after enrichment, the (shape,
node) conformance answers validation worked out, and the facts the criteria list.

    python -m bench.stages [--items 10 100 1000] [--runs 15]

The history is bench.generated's, whose every item the facet policy reads (issue 21's measure).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from pathlib import Path

from bench.generated import case_with_relevant_history
from reasoner import KnowledgeBase, determine
from reasoner._collector import paused
from reasoner.enrich.stage import enrich
from reasoner.explain.criteria import explain
from reasoner.intake.json_case.load import load_json
from reasoner.intake.json_case.to_rdf import to_case
from reasoner.knowledge import relevance
from reasoner.pipeline import select_shapes
from reasoner.render.text import to_json
from reasoner.shacl.reader import Reader

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("read JSON", "graph", "enrich", "validate", "explain")  # what determine() runs, in order
FACET = "medicare-facet-lcd"


def sample(payload: bytes, kb: KnowledgeBase, policy: str) -> tuple[dict[str, float], dict[str, int]]:
    """One run of the stages: each one's milliseconds, and what they worked on."""
    ms, counts = _stages(payload, kb, policy)
    clock = time.perf_counter
    start = clock()
    answer = determine(payload, "json", kb, policy=policy)
    done = clock()
    to_json(answer)
    ms["JSON answer"] = (clock() - done) * 1000
    ms["whole determine"] = (done - start) * 1000
    ms["the rest of determine"] = ms["whole determine"] - sum(ms[s] for s in STAGES)
    return ms, counts


@paused  # as determine() runs them
def _stages(payload: bytes, kb: KnowledgeBase, policy: str) -> tuple[dict[str, float], dict[str, int]]:
    chosen = kb.policy(policy)
    clock = time.perf_counter
    t0 = clock()
    case = load_json(payload)
    t1 = clock()
    parsed = to_case(case, kb, relevance.for_policy(kb, chosen))
    t2 = clock()
    before = len(parsed.graph)
    enriched = enrich(parsed.graph, kb, chosen)
    t3 = clock()
    reader = Reader(enriched.graph)
    results = kb.validator.validate(enriched.graph, select_shapes(enriched, kb), reader=reader)
    t4 = clock()
    explained = explain(enriched, results, kb, reader)
    t5 = clock()
    ms = {name: (b - a) * 1000 for name, a, b in zip(STAGES, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5), strict=True)}
    counts = {
        "triples read": before,
        "triples enriched": len(enriched.graph),
        "conformance answers": len(reader.conformance),
        "facts listed": sum(len(c.facts) for c in explained.criteria),
    }
    return ms, counts  # the stages' objects go with this call, before determine() runs


def measure(payload: bytes, kb: KnowledgeBase, policy: str, runs: int) -> tuple[dict[str, float], dict[str, int]]:
    """Medians over ``runs`` samples (after five unrecorded)."""
    for _ in range(5):
        sample(payload, kb, policy)
    samples = [sample(payload, kb, policy) for _ in range(runs)]
    medians = {name: statistics.median(s[0][name] for s in samples) for name in samples[0][0]}
    return medians, samples[-1][1]


def report(kb: KnowledgeBase, items: list[int], runs: int) -> list[str]:
    """The table's lines for the seed and a history of each size in ``items``, and the issue's budget."""
    cases = [("seed", (ROOT / "examples/cases/sij-seed-neurectomy.json").read_bytes(), "sij-clinical-pathway")]
    cases += [(f"{n} items", case_with_relevant_history(n), FACET) for n in items]
    measured = [(name, *measure(payload, kb, policy, runs)) for name, payload, policy in cases]
    lines = ["| stage | " + " | ".join(name for name, _, _ in measured) + " |", "|---|" + "---|" * len(measured)]
    for stage in measured[0][1]:
        lines.append(f"| {stage} ms | " + " | ".join(f"{m[stage]:.2f}" for _, m, _ in measured) + " |")
    for count in measured[0][2]:
        lines.append(f"| {count} | " + " | ".join(str(c[count]) for _, _, c in measured) + " |")
    if len(items) > 1:
        smallest, largest = measured[1][1], measured[-1][1]
        lines.append(
            f"\n{items[-1]} items at most 10x {items[0]} (issue 21) leaves {10 * smallest['whole determine']:.1f} ms;"
            f" reading the JSON and building the graph take {largest['read JSON'] + largest['graph']:.1f} ms of it"
            f" ({largest['whole determine'] / smallest['whole determine']:.1f}x in all)."
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[10, 100, 1000], help="history sizes")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    kb = KnowledgeBase.load(ROOT)
    gc.collect()
    gc.freeze()  # the knowledge base is not the collector's business during a determination
    print("\n".join(report(kb, args.items, args.runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
