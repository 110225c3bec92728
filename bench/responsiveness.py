"""Does the server stay responsive while it works? /health latency while large determinations run.

`guideline-reasoner serve` (one worker, as a deployment's smallest unit); four client threads post
a case with 200 items of each kind of history (about 0.4 s each alone) and ask for the HTML
letter, while a fifth asks /health 50 times. A server that judged cases on its event loop would
answer /health only between cases. (This was a timed test; timings belong here.)

    python -m bench.responsiveness [--workers 1] [--probes 50]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = json.loads((ROOT / "examples" / "cases" / "sij-seed-neurectomy.json").read_bytes())


def larger_case(n: int) -> bytes:
    """The seed case with ``n`` of each kind of fact (valid, and slower to judge)."""
    case = dict(SEED)
    for key in ("priorProcedures", "examFindings", "conservativeCare", "imagingFindings"):
        case[key] = (SEED[key] * n)[:n]
    return json.dumps(case).encode()


def _get(port: int, path: str) -> tuple[int, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start = time.perf_counter()
    conn.request("GET", path)
    status = conn.getresponse().status
    took = time.perf_counter() - start
    conn.close()
    return status, took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--probes", type=int, default=50)
    args = parser.parse_args(argv)
    print("\n".join(run(args.workers, args.probes)))
    return 0


def run(workers: int, probes: int) -> list[str]:
    """The report as Markdown lines."""
    from tests.server_process import free_port

    port = free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", str(workers), "--no-store"]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    body = larger_case(200)
    stop = threading.Event()
    statuses: list[int] = []

    def load() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while not stop.is_set():
            conn.request("POST", "/determinations", body, {"content-type": "application/json", "accept": "text/html"})
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        conn.close()

    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if _get(port, "/health")[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        quiet = [_get(port, "/health")[1] for _ in range(probes)]
        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        busy = []
        for _ in range(probes):
            status, took = _get(port, "/health")
            assert status == 200
            busy.append(took)
            time.sleep(0.02)
        stop.set()
        for t in threads:
            t.join()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    def row(name: str, xs: list[float]) -> str:
        ms = sorted(x * 1000 for x in xs)
        p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
        return f"| {name} | {statistics.median(ms):.1f} | {statistics.mean(ms):.1f} | {p99:.1f} | {ms[-1]:.1f} |"

    return [
        f"/health on a new connection, {probes} times, {workers} worker(s), {os.cpu_count()} cores.",
        "",
        "| while | median ms | mean ms | p99 ms | max ms |",
        "|---|---|---|---|---|",
        row("idle", quiet),
        row("4 large determinations run", busy),
        "",
        f"{len(statuses)} large determinations answered meanwhile, statuses {sorted(set(statuses))}.",
    ]


if __name__ == "__main__":
    raise SystemExit(main())
