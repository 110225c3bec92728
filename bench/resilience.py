"""A load run against two supervised workers, with a worker killed and a reload in the middle.

`guideline-reasoner serve --workers 2` on a copy of the knowledge base; client threads post a case
over keep-alive connections (reconnecting after an error) for the whole run. At a third of the run
one worker gets SIGKILL; at two thirds a threshold is edited and `POST /admin/reload` is called.
Reported: requests and failures per phase, how long the supervisor took to bring a new worker
into service, how long the reload took, and whether any answer given after the reload returned
came from the old knowledge base (it must not).

    python -m bench.resilience [--seconds 30] [--connections 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASE = (ROOT / "examples" / "cases" / "sij-rfa-two-blocks.json").read_bytes()
TOKEN = "bench-token"


@dataclass
class Answer:
    """One request as the client saw it."""

    sent: float
    took: float
    status: int  # 0: the connection failed
    kb: str
    client: int


@dataclass
class Run:
    """Everything the client threads saw."""

    answers: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


def _client(port: int, record: Run, client: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not record.stop.is_set():
        sent = time.monotonic()
        try:
            conn.request("POST", "/determinations", CASE, {"content-type": "application/json"})
            response = conn.getresponse()
            response.read()
            kb = response.getheader("x-knowledge-base", "")
            answer = Answer(sent, time.monotonic() - sent, response.status, kb, client)
        except (OSError, http.client.HTTPException):
            answer = Answer(sent, time.monotonic() - sent, 0, "", client)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        with record.lock:
            record.answers.append(answer)
    conn.close()


def _version(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=30) as r:  # noqa: S310 - loopback
        return json.loads(r.read())  # type: ignore[no-any-return]


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited")
        try:
            _version(port)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def _summary(name: str, answers: list[Answer]) -> str:
    failed = [a for a in answers if a.status != 200]
    times = sorted(a.took * 1000 for a in answers if a.status == 200)
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))] if times else float("nan")
    median = statistics.median(times) if times else float("nan")
    return f"| {name} | {len(answers)} | {len(failed)} | {median:.1f} | {p99:.1f} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args(argv)
    lines, ok = run(args.seconds, args.connections)
    print("\n".join(lines))
    return 0 if ok else 1


def run(seconds: float, connections: int) -> tuple[list[str], bool]:
    """The run's report as Markdown lines, and whether it held (a new worker, no stale answer)."""
    from tests.server_process import free_port

    work = Path(tempfile.mkdtemp(prefix="bench-resilience-"))
    for folder in ("ontology", "shapes"):
        shutil.copytree(ROOT / folder, work / folder)
    port = free_port()
    env = {**os.environ, "GR_ADMIN_TOKEN": TOKEN}
    command = [
        sys.executable,
        "-m",
        "api.cli",
        "serve",
        "--workers",
        "2",
        "--no-store",
        "--port",
        str(port),
        "--kb",
        str(work),
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    record = Run()
    try:
        _wait_ready(port, server)
        old_kb = str(_version(port)["knowledgeBase"])
        threads = [threading.Thread(target=_client, args=(port, record, i)) for i in range(connections)]
        start = time.monotonic()
        for t in threads:
            t.start()

        time.sleep(seconds / 3)
        before = _workers(server.pid)
        victim = int(_version(port)["worker"])  # type: ignore[call-overload]
        killed = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        back = None
        while time.monotonic() - killed < 60:  # a worker that was not there before answers
            try:
                if int(_version(port)["worker"]) not in before:  # type: ignore[call-overload]
                    back = time.monotonic() - killed
                    break
            except OSError:
                pass  # a connection the kernel had queued for the killed worker
            time.sleep(0.05)

        time.sleep(max(0.0, start + 2 * seconds / 3 - time.monotonic()))
        path = work / "ontology" / "guidelines" / "sij-clinical-pathway.ttl"
        text = path.read_text()
        at = text.index("sijp:lbb-min-relief\n")
        path.write_text(text[:at] + text[at:].replace('gr:value "50"^^xsd:decimal', 'gr:value "75"^^xsd:decimal', 1))
        asked = time.monotonic()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/admin/reload", method="POST", headers={"authorization": f"Bearer {TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=120) as r:  # noqa: S310 - loopback
            reload = json.loads(r.read())
        returned = time.monotonic()

        time.sleep(max(0.0, start + seconds - time.monotonic()))
        record.stop.set()
        for t in threads:
            t.join()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)

    answers = sorted(record.answers, key=lambda a: a.sent)
    stale = [a for a in answers if a.sent > returned and a.status == 200 and a.kb == old_kb]
    lost = [a for a in answers if a.status != 200]
    worst = max((sum(a.client == c for a in lost) for c in range(connections)), default=0)
    lines = [
        f"2 workers, {connections} keep-alive connections posting a case for {seconds:g} s; one worker killed at a",
        "third of the run, a reload at two thirds.",
        "",
        "| phase | requests | failed | median ms | p99 ms |",
        "|---|---|---|---|---|",
        _summary("before the kill", [a for a in answers if a.sent < killed]),
        _summary("kill to reload", [a for a in answers if killed <= a.sent < asked]),
        _summary("during the reload", [a for a in answers if asked <= a.sent < returned]),
        _summary("after the reload", [a for a in answers if a.sent >= returned]),
        "",
        f"- killed worker {victim}; a new worker answered after {back:.2f} s" if back else "- no new worker answered",
        f"- failed requests in all: {len(lost)}; at most {worst} on one connection (its request in flight)",
        f"- reload: {reload['status']} generation {reload['generation']} in {returned - asked:.2f} s",
        f"- answers sent after the reload returned that used the old knowledge base: {len(stale)}",
    ]
    return lines, not stale and back is not None


def _workers(parent: int) -> set[int]:
    """The worker processes of the supervisor."""
    out = subprocess.run(["pgrep", "-P", str(parent), "-f", "multiprocessing.spawn"], capture_output=True, text=True)
    return {int(p) for p in out.stdout.split()}


if __name__ == "__main__":
    raise SystemExit(main())
