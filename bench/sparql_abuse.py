"""SPARQL abuse over loopback: what 8 abusive queries do to /health, a determination and a trivial query.

Starts `guideline-reasoner serve` (one worker, default SPARQL settings unless given) on a free
loopback port, measures /health and POST /determinations (the seed case) alone, then fires 8
abusive 20,000-character queries at once and, while they are in flight, /health and
determinations in a loop and one trivial ``ASK {}`` half a second after them. It prints the
medians and p99 of both, the abusive queries' statuses and durations and the ASK's.

Two kinds of abuse: ``parse``, a query that is slow to parse (the worst of the shapes that
``--probe`` times, at 20,000 characters), and ``run``, a query that parses in a millisecond and
would run for hours (a three-way cartesian product over the knowledge base).

``--baseline REV`` runs the same scenarios first against the code of a git revision (extracted
with ``git archive`` into a temporary folder, nothing in the checkout changes), so that before
and after come from the same run on the same machine.

    python -m bench.sparql_abuse [--baseline main] [--kinds parse run] [--abusers 8]
    python -m bench.sparql_abuse --probe          # parse time of candidate shapes at 20,000 characters
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "cases" / "sij-seed-neurectomy.json"
LIMIT = 20_000


def _fill(make: Callable[[int], str], limit: int = LIMIT) -> str:
    """The longest query ``make(n)`` gives within ``limit`` characters."""
    lo, hi = 1, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(make(mid)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return make(lo)


def _filter(body: str) -> str:
    return "SELECT * WHERE { ?s ?p ?o FILTER(" + body + ") }"


# Candidate shapes for a query that is slow to parse. Nesting is no use to an attacker: rdflib's
# grammar recurses, and 20 to 80 levels of anything end in a RecursionError within milliseconds
# (a refusal). Long flat lists are what cost: pyparsing spends about 1 ms on every expression.
PARSE_SHAPES: dict[str, Callable[[int], str]] = {
    "COALESCE(1,1,...)": lambda n: "ASK { FILTER(COALESCE(" + ",".join("1" for _ in range(n)) + ")) }",
    "COALESCE(-1,-1,...)": lambda n: "ASK { FILTER(COALESCE(" + ",".join("-1" for _ in range(n)) + ")) }",
    "1 IN (1,1,...)": lambda n: "ASK { FILTER(1 IN (" + ",".join("1" for _ in range(n)) + ")) }",
    "CONCAT(1,1,...)": lambda n: _filter("CONCAT(" + ",".join("1" for _ in range(n)) + ")"),
    "1+1+1...": lambda n: _filter("+".join("1" for _ in range(n))),
    "?o||?o||...": lambda n: _filter("||".join("?o" for _ in range(n))),
    '?n = "i" || ...': lambda n: _filter(" || ".join(f'?o = "{i}"' for i in range(n))),
    "FILTER(?o) FILTER(?o)...": lambda n: "SELECT * WHERE { ?s ?p ?o " + " FILTER(?o)" * n + " }",
    "ORDER BY ?v ?v ...": lambda n: "SELECT * WHERE { } ORDER BY" + " ?v" * n,
    "<a>|<a>|... path": lambda n: "SELECT * WHERE { ?s " + "|".join("<a>" for _ in range(n)) + " ?o }",
    "VALUES ?x { 1 1 ... }": lambda n: "SELECT * WHERE { VALUES ?x {" + " 1" * n + " } }",
    "{ { { ... } } } nested": lambda n: "SELECT * WHERE " + "{" * n + "}" * n,
    "OPTIONAL nested": lambda n: "SELECT * WHERE { " + "OPTIONAL { " * n + "?s ?p ?o " + "} " * n + "}",
    "((((1)))) nested": lambda n: _filter("(" * n + "1" + ")" * n),
    "{..} UNION {..} ...": lambda n: "SELECT * WHERE { " + " UNION ".join("{?s ?p ?o}" for _ in range(n)) + " }",
}
SLOW_TO_PARSE = _fill(PARSE_SHAPES["COALESCE(1,1,...)"])  # the worst in --probe runs: 15 to 29 s here
SLOW_TO_RUN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # 10^11 rows
ABUSE = {"parse": SLOW_TO_PARSE, "run": SLOW_TO_RUN}
TRIVIAL = "ASK {}"


def probe(rounds: int) -> None:
    """Time parsing (and the algebra) of each candidate shape at 20,000 characters, in this process."""
    from reasoner.errors import QueryRejected
    from reasoner.sparql.vetting import vet

    vet(TRIVIAL)  # the grammar's first use
    print(f"machine: {os.uname().machine}, cores: {len(os.sched_getaffinity(0))}; best of {rounds} rounds")
    print("| shape | characters | vet s | outcome |")
    print("|---|---|---|---|")
    for name, make in PARSE_SHAPES.items():
        text = _fill(make)
        best, outcome = float("inf"), ""
        for _ in range(rounds):
            start = time.perf_counter()
            try:
                outcome = vet(text)
            except QueryRejected:
                outcome = "refused"
            best = min(best, time.perf_counter() - start)
        print(f"| {name} | {len(text)} | {best:.2f} | {outcome} |", flush=True)


# --- the server --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(checkout: Path, env: dict[str, str]) -> Iterator[int]:
    """`guideline-reasoner serve` running the code of ``checkout``, until the block ends; yields the port."""
    port = _free_port()
    exe = Path(sys.executable).with_name("guideline-reasoner")
    environment = {**os.environ, **env, "PYTHONPATH": str(checkout), "GR_KB_DIR": str(checkout)}
    server = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--no-store"],
        cwd=checkout,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if _request(port, "GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server of {checkout} did not start")
            time.sleep(0.3)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def _request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _sparql(port: int, query: str) -> tuple[str, float]:
    """POST one query; its outcome ("200", or the status and problem code) and its duration in seconds."""
    start = time.perf_counter()
    status, body = _request(port, "POST", "/sparql", query.encode(), {"content-type": "application/sparql-query"})
    elapsed = time.perf_counter() - start
    if status == 200:
        return "200", elapsed
    try:
        code = json.loads(body).get("code", "")
    except ValueError:
        code = "?"
    return f"{status} {code}", elapsed


# --- the scenario ------------------------------------------------------------------------------


@dataclass
class Timings:
    """Latencies in milliseconds of one kind of request, and any non-200 answers."""

    ms: list[float] = field(default_factory=list)
    failures: Counter[int] = field(default_factory=Counter)

    def record(self, status: int, seconds: float) -> None:
        self.ms.append(seconds * 1000)
        if status != 200:
            self.failures[status] += 1

    def summary(self) -> str:
        if not self.ms:
            return "none"
        ordered = sorted(self.ms)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        failed = f", non-200: {dict(self.failures)}" if self.failures else ""
        return f"n={len(ordered)} median {statistics.median(ordered):.1f} p99 {p99:.1f} max {ordered[-1]:.1f}{failed}"


def _health(port: int) -> tuple[int, float]:
    start = time.perf_counter()
    status, _ = _request(port, "GET", "/health")
    return status, time.perf_counter() - start


def _determination(port: int, seed: bytes) -> tuple[int, float]:
    start = time.perf_counter()
    status, _ = _request(port, "POST", "/determinations", seed, {"content-type": "application/json"})
    return status, time.perf_counter() - start


def _loop(call: Callable[[], tuple[int, float]], into: Timings, until: threading.Event, pause: float) -> None:
    while not until.is_set():
        into.record(*call())
        time.sleep(pause)


def scenario(port: int, kind: str, abusers: int, quiet_runs: int) -> list[str]:
    """Quiet latencies, then the same requests while ``abusers`` abusive queries and one ASK are in flight."""
    seed = SEED.read_bytes()
    for _ in range(5):  # warm up every path
        _health(port), _determination(port, seed), _sparql(port, TRIVIAL)
    quiet_health, quiet_det = Timings(), Timings()
    for _ in range(quiet_runs):
        quiet_health.record(*_health(port))
        quiet_det.record(*_determination(port, seed))
    trivial_alone = _sparql(port, TRIVIAL)

    done = threading.Event()
    health, det = Timings(), Timings()
    outcomes: list[tuple[str, float]] = []
    ask: list[tuple[str, float]] = []
    query = ABUSE[kind]
    threads = [threading.Thread(target=lambda: outcomes.append(_sparql(port, query))) for _ in range(abusers)]
    pollers = [
        threading.Thread(target=_loop, args=(lambda: _health(port), health, done, 0.02)),
        threading.Thread(target=_loop, args=(lambda: _determination(port, seed), det, done, 0.02)),
    ]
    started = time.perf_counter()
    for t in threads + pollers:
        t.start()
    time.sleep(0.5)
    asker = threading.Thread(target=lambda: ask.append(_sparql(port, TRIVIAL)))
    asker.start()
    for t in [*threads, asker]:
        t.join()
    done.set()
    for t in pollers:
        t.join()
    total = time.perf_counter() - started

    statuses = Counter(outcome for outcome, _ in outcomes)
    durations = sorted(seconds for _, seconds in outcomes)
    return [
        f"abuse: {abusers} x {kind} ({len(query)} characters), all sent at once; everything done after {total:.1f} s",
        f"  /health alone:               {quiet_health.summary()}",
        f"  /health under abuse:         {health.summary()}",
        f"  determination alone:         {quiet_det.summary()}",
        f"  determination under abuse:   {det.summary()}",
        f"  abusive queries:             {dict(statuses)}; durations s: " + ", ".join(f"{d:.1f}" for d in durations),
        f"  ASK {{}} alone:                {trivial_alone[0]} in {trivial_alone[1] * 1000:.0f} ms",
        f"  ASK {{}} sent 0.5 s after them: {ask[0][0]} after {ask[0][1]:.1f} s",
    ]


@contextmanager
def _checkout_of(rev: str) -> Iterator[Path]:
    """The files of ``rev`` in a temporary folder (``git archive``; the checkout is not touched)."""
    archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=ROOT, capture_output=True, check=True)
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--baseline", help="a git revision to measure first, in the same run (e.g. main)")
    parser.add_argument("--kinds", nargs="+", choices=sorted(ABUSE), default=["parse", "run"])
    parser.add_argument("--abusers", type=int, default=8)
    parser.add_argument("--quiet-runs", type=int, default=50, help="requests of each kind measured alone")
    parser.add_argument("--timeout", type=float, help="GR_SPARQL_TIMEOUT_S for the server (default: its own)")
    parser.add_argument("--concurrency", type=int, help="GR_SPARQL_CONCURRENCY for the server (default: its own)")
    parser.add_argument("--probe", action="store_true", help="only time parsing of the candidate shapes")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per shape with --probe")
    args = parser.parse_args(argv)
    if args.probe:
        probe(args.rounds)
        return 0
    env = {}
    if args.timeout is not None:
        env["GR_SPARQL_TIMEOUT_S"] = str(args.timeout)
    if args.concurrency is not None:
        env["GR_SPARQL_CONCURRENCY"] = str(args.concurrency)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    print(
        f"machine: {os.uname().machine}, cores: {len(os.sched_getaffinity(0))}; 1 worker; settings: "
        f"{env or 'the defaults'}; every client request on its own connection"
    )
    runs: list[tuple[str, Callable[[], AbstractContextManager[Path]]]] = []
    if args.baseline:
        runs.append((f"before ({args.baseline})", lambda: _checkout_of(args.baseline)))
    runs.append((f"after (working tree at {head.stdout.strip()})", lambda: _here()))
    for label, checkout in runs:
        with checkout() as path:
            for kind in args.kinds:
                with serve(path, env) as port:
                    print(f"\n## {label}")
                    for line in scenario(port, kind, args.abusers, args.quiet_runs):
                        print(line, flush=True)
    return 0


@contextmanager
def _here() -> Iterator[Path]:
    yield ROOT


if __name__ == "__main__":
    sys.exit(main())
