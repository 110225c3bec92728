"""Latency of the CDS Hooks order-sign service over loopback: the seed order-sign request, sequentially.

The server runs as `guideline-reasoner serve --workers 1` on a free loopback port; one client
(httpx2, one keep-alive connection) posts the seed request N times after a warm-up and reports
the median, p99 and throughput. The goal is p99 < 100 ms.

    python -m bench.cds_hooks [--requests 300] [--warmup 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import httpx2

from .http import serve

ROOT = Path(__file__).resolve().parent.parent
REQUEST = ROOT / "examples" / "fhir" / "sij-seed-neurectomy.order-sign.json"
SERVICE = "/cds-services/guideline-reasoner-order-sign"
GOAL_P99_MS = 100.0


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def run(requests: int, warmup: int) -> dict[str, float]:
    """Start the server, post the request ``warmup + requests`` times, and time the last ``requests``."""
    with serve(1) as base:
        body = REQUEST.read_bytes()
        headers = {"content-type": "application/json"}
        times: list[float] = []
        with httpx2.Client(base_url=base, trust_env=False, timeout=30) as client:
            cards = 0
            for i in range(warmup + requests):
                start = time.perf_counter()
                r = client.post(SERVICE, content=body, headers=headers)
                elapsed = (time.perf_counter() - start) * 1000
                if r.status_code != 200:
                    raise SystemExit(f"request {i}: HTTP {r.status_code}")
                if i >= warmup:
                    times.append(elapsed)
                cards = len(r.json()["cards"])
        total_s = sum(times) / 1000
        return {
            "median": statistics.median(times),
            "p99": _p99(times),
            "max": max(times),
            "rps": len(times) / total_s,
            "cards": float(cards),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)
    print(
        f"machine: {platform.machine()}, CPython {platform.python_version()}, {platform.system()}; "
        f"cores: {len(os.sched_getaffinity(0))}; 1 worker, 1 client connection, sequential"
    )
    r = run(args.requests, args.warmup)
    print(f"request: {REQUEST.relative_to(ROOT)} -> {SERVICE} ({r['cards']:.0f} cards, one per relevant policy)")
    print("| requests | warm-up | median ms | p99 ms | max ms | requests/s |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.requests} | {args.warmup} | {r['median']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | {r['rps']:.0f} |")
    met = r["p99"] < GOAL_P99_MS
    print(f"goal p99 < {GOAL_P99_MS:.0f} ms: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
