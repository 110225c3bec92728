"""HTTP throughput and latency of POST /determinations over loopback, against a no-op route of the same server.

The server runs as `guideline-reasoner serve --workers N`, with one route added
(bench/http_app.py: `POST /bench/noop` reads the body and answers `{}`); the load comes from wrk
(a C load generator, Debian package `wrk`) in a separate process, posting the seed case to each
route in turn, so the ratio of the two is measured in the same run on the same server.

    python -m bench.http [--seconds 20] [--connections 4 32] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "cases" / "sij-seed-neurectomy.json"
LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = io.open("{path}", "rb"):read("*a")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server did not answer {url}")


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


@contextmanager
def serve(workers: int) -> Iterator[str]:
    """`guideline-reasoner serve --workers N` on a free loopback port, until the block ends; yields its base URL."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.http_app", "serve", "--port", str(port), "--workers", str(workers), "--no-store"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(base + "/health")
        yield base
    finally:
        server.terminate()
        server.wait(30)


def run(
    workers: int, seconds: int, connections: list[int], script: Path, *, path: str = "/determinations"
) -> list[dict[str, float]]:
    with serve(workers) as base:
        _wrk(["-c16", "-d3s"], script, base + path)  # warm every worker
        return [_parse(_wrk([f"-c{c}", f"-d{seconds}s", "--latency"], script, base + path), c) for c in connections]


def against_noop(
    workers: int, seconds: int, connections: list[int], script: Path, rounds: int, *, path: str = "/determinations"
) -> list[dict[str, float]]:
    """For each number of connections: the route and the no-op in turn, ``rounds`` times; medians of each.

    One row per connections: ``rps`` and ``noop_rps`` (medians), ``ratio`` (of the medians), and the
    route's median p50 and p99 and total non-2xx.
    """
    from bench.http_app import NOOP

    out = []
    with serve(workers) as base:
        for target in (path, NOOP):
            _wrk(["-c16", "-d3s"], script, base + target)  # warm every worker on both
        for c in connections:
            route: list[dict[str, float]] = []
            floor: list[dict[str, float]] = []
            for _ in range(rounds):
                route.append(_parse(_wrk([f"-c{c}", f"-d{seconds}s", "--latency"], script, base + path), c))
                floor.append(_parse(_wrk([f"-c{c}", f"-d{seconds}s", "--latency"], script, base + NOOP), c))
            rps = statistics.median(r["rps"] for r in route)
            noop_rps = statistics.median(r["rps"] for r in floor)
            out.append(
                {
                    "connections": float(c),
                    "rps": rps,
                    "noop_rps": noop_rps,
                    "ratio": rps / noop_rps,
                    "p50": statistics.median(r["p50"] for r in route),
                    "p99": statistics.median(r["p99"] for r in route),
                    "noop_p99": statistics.median(r["p99"] for r in floor),
                    "errors": sum(r["errors"] for r in route + floor),
                }
            )
    return out


def _wrk(options: list[str], script: Path, url: str) -> str:
    command = ["wrk", "-t1", *options, "-s", str(script), url]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def _parse(out: str, connections: int) -> dict[str, float]:
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "connections": float(connections),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(latency["50"]),
        "p99": _ms(latency["99"]),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--connections", type=int, nargs="+", default=[4, 32], help="open connections (issue 21: 4 and 32)"
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each route per row (medians)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(LUA.format(path=SEED))
        print(
            f"machine: {os.uname().machine}, cores: {len(os.sched_getaffinity(0))}; wrk 1 thread, "
            f"{args.seconds} s per run, {args.rounds} runs of each route (medians); body: {SEED.name}"
        )
        print(
            "| workers | connections | POST /determinations req/s | no-op req/s | ratio | p50 ms | p99 ms "
            "| no-op p99 ms | non-2xx |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for workers in args.workers:
            for r in against_noop(workers, args.seconds, args.connections, script, args.rounds):
                print(
                    f"| {workers} | {r['connections']:.0f} | {r['rps']:.0f} | {r['noop_rps']:.0f} | "
                    f"{r['ratio'] * 100:.0f} % | {r['p50']:.1f} | {r['p99']:.1f} | {r['noop_p99']:.1f} | "
                    f"{r['errors']:.0f} |"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
