"""What the reasoner's audit hook (reasoner/intake/limits.py) costs a determination.

Audit hooks cannot be removed, so the hook cannot be timed by taking it away. Instead, the
cost of one more copy of the very same hook is measured, twice: per audit event (``id()`` raises
one: the fastest of many timed loops, before and after ``--extra`` more copies), and per
determination of each case format (the fastest of ``--runs``, before and after). A counting hook
shows how many audit events a determination raises: each goes through the hook's first test.

    python -m bench.audit_hook [--runs 300] [--extra 10]
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from collections import Counter
from pathlib import Path

from reasoner import KnowledgeBase, determine
from reasoner.intake import limits as untrusted

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "examples" / "cases"


def _payloads() -> dict[str, bytes]:
    import json

    from rdflib import Graph

    from reasoner.intake.jsonld import CONTEXT_URL, vendored_context

    graph = Graph().parse(CASES / "sij-seed-neurectomy.ttl", format="turtle")
    doc = json.loads(graph.serialize(format="json-ld", context=vendored_context(), auto_compact=True))
    doc["@context"] = CONTEXT_URL
    return {
        "json": (CASES / "sij-seed-neurectomy.json").read_bytes(),
        "turtle": (CASES / "sij-seed-neurectomy.ttl").read_bytes(),
        "json-ld": json.dumps(doc).encode(),
    }


def _fastest_us(kb: KnowledgeBase, fmt: str, payload: bytes, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        determine(payload, fmt, kb, policy="sij-clinical-pathway")  # type: ignore[arg-type]
        times.append(time.perf_counter() - start)
    return min(times) * 1e6


def _event_ns() -> float:
    """Nanoseconds per ``id()`` call (an audited builtin): the fastest of 50 loops of 100,000."""
    return min(timeit.repeat("id(None)", number=100_000, repeat=50)) / 100_000 * 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--extra", type=int, default=10, help="copies of the hook added for the second timing")
    args = parser.parse_args(argv)
    kb = KnowledgeBase.load(ROOT)
    payloads = _payloads()
    for fmt, payload in payloads.items():
        _fastest_us(kb, fmt, payload, 20)  # warm
    base = {fmt: _fastest_us(kb, fmt, p, args.runs) for fmt, p in payloads.items()}
    base_ns = _event_ns()
    for _ in range(args.extra):
        sys.addaudithook(untrusted._audit)  # the reasoner's own hook, again
    more = {fmt: _fastest_us(kb, fmt, p, args.runs) for fmt, p in payloads.items()}
    hook_ns = (_event_ns() - base_ns) / args.extra
    events: Counter[str] = Counter()
    counting = [False]

    def count(event: str, _args: tuple[object, ...]) -> None:
        if counting[0]:
            events[event] += 1

    sys.addaudithook(count)
    rows = [
        f"Per audit event: {base_ns:.0f} ns for id() with the hook; one more copy of the hook adds {hook_ns:.0f} ns.",
        "",
        f"| format | determination µs (fastest of {args.runs}) | with {args.extra} more hooks µs | one hook µs "
        "(difference / copies) | audit events per determination | events x cost per event µs |",
        "|---|---|---|---|---|---|",
    ]
    for fmt, payload in payloads.items():
        events.clear()
        counting[0] = True
        determine(payload, fmt, kb, policy="sij-clinical-pathway")  # type: ignore[arg-type]
        counting[0] = False
        n = sum(events.values())
        kinds = ", ".join(f"{k} {c}" for k, c in events.most_common(3))
        rows.append(
            f"| {fmt} | {base[fmt]:.0f} | {more[fmt]:.0f} | {(more[fmt] - base[fmt]) / args.extra:.1f} | "
            f"{n}{f' ({kinds})' if kinds else ''} | {n * hook_ns / 1000:.1f} |"
        )
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
