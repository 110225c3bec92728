"""HTTP throughput and latency of POST /determinations over loopback, with 1 and 2 workers.

The server runs as `guideline-reasoner serve --workers N`; the load comes from wrk (a C load
generator, Debian package `wrk`) in a separate process, posting the seed case.

    python -m bench.http [--seconds 20] [--connections 8] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
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
    exe = Path(sys.executable).with_name("guideline-reasoner")
    server = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--workers", str(workers), "--no-store"],
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
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument(
        "--connections",
        type=int,
        nargs="+",
        default=[1, 32],
        help="open connections; 1 measures latency without queueing, 32 throughput",
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(LUA.format(path=SEED))
        print(
            f"machine: {os.uname().machine}, cores: {len(os.sched_getaffinity(0))}; wrk 1 thread, "
            f"{args.seconds} s per run; body: {SEED.name}"
        )
        print("| workers | connections | requests/s | p50 ms | p99 ms | non-2xx |")
        print("|---|---|---|---|---|---|")
        for workers in args.workers:
            for r in run(workers, args.seconds, args.connections, script):
                print(
                    f"| {workers} | {r['connections']:.0f} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} "
                    f"| {r['errors']:.0f} |"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
