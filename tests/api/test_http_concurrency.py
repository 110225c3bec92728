"""Concurrent determinations over HTTP (docs/threats.md E1, E3).

* E1: 16 determinations fired at once into a fresh process whose app has not judged anything yet
  (pyshacl's SPARQL parser is not thread-safe on first use), in mixed formats and Accept headers;
  run twice, each time in a new interpreter.
* 32 concurrent warm determinations give byte-identical answers.
* E3: /health answers while 4 determinations run, against the app under uvicorn in its own
  process (how fast it answers is measured by bench/responsiveness.py, not asserted here).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph

from reasoner.intake.jsonld import CONTEXT_URL

from ..conftest import EXAMPLES, ROOT
from .conftest import JSON, TURTLE

JSONLD = {"content-type": "application/ld+json"}
SEED_JSON = (EXAMPLES / "sij-seed-neurectomy.json").read_bytes()
SEED_TTL = (EXAMPLES / "sij-seed-neurectomy.ttl").read_bytes()
SEED_JSONLD = json.dumps(
    {
        "@context": CONTEXT_URL,
        "@graph": json.loads(Graph().parse(data=SEED_TTL, format="turtle").serialize(format="json-ld")),
    }
).encode()
OUTCOME = "not-medically-necessary"

# What each response format must contain for the seed case's outcome.
EXPECTED_IN = {
    "application/json": '"outcome":"not-medically-necessary"',
    "text/markdown": "# Determination: Not medically necessary",
    "text/html": "<h1>Determination: Not medically necessary</h1>",
    "text/turtle": '"not-medically-necessary"',
    "application/ld+json": '"not-medically-necessary"',
}

COLD_SCRIPT = r"""
import json, sys, threading
from pathlib import Path

from fastapi.testclient import TestClient

from api import create_app
from api.settings import Settings

root, bodies_file, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
bodies = [(ctype, text.encode()) for ctype, text in json.loads(bodies_file.read_text())]
accepts = [None, "application/json", "text/markdown", "text/html", "text/turtle", "application/ld+json", "*/*"]
results = [None] * n
settings = Settings(kb_dir=root, sparql_concurrency=1)
with TestClient(create_app(settings), raise_server_exceptions=False, client=("127.0.0.1", 50000)) as client:
    barrier = threading.Barrier(n)

    def work(i):
        ctype, body = bodies[i % len(bodies)]
        accept = accepts[i % len(accepts)]
        headers = {"content-type": ctype}
        if accept is not None:
            headers["accept"] = accept
        try:
            barrier.wait(timeout=60)
            r = client.post("/determinations", content=body, headers=headers)
            results[i] = {
                "input": ctype,
                "accept": accept,
                "status": r.status_code,
                "media": r.headers.get("content-type", "").split(";")[0],
                "body": r.text,
            }
        except Exception as exc:
            results[i] = {"input": ctype, "accept": accept, "error": f"{type(exc).__name__}: {exc}"}

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
print("SUMMARY " + json.dumps({"results": results}))
"""


@pytest.mark.parametrize("run", [1, 2])
def test_16_concurrent_cold_determinations(tmp_path: Path, run: int) -> None:
    bodies = tmp_path / "bodies.json"
    bodies.write_text(
        json.dumps(
            [
                ["application/json", SEED_JSON.decode()],
                ["text/turtle", SEED_TTL.decode()],
                ["application/ld+json", SEED_JSONLD.decode()],
            ]
        )
    )
    proc = subprocess.run(
        [sys.executable, "-c", COLD_SCRIPT, str(ROOT), str(bodies), "16"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next((x for x in proc.stdout.splitlines() if x.startswith("SUMMARY ")), None)
    assert line is not None, proc.stdout[-2000:] + proc.stderr[-2000:]
    results = json.loads(line.removeprefix("SUMMARY "))["results"]
    assert len(results) == 16 and all(r is not None for r in results), "a thread did not finish"
    errors = [r for r in results if "error" in r or r["status"] != 200]
    assert not errors, [{k: (v[:300] if isinstance(v, str) else v) for k, v in r.items()} for r in errors]
    for r in results:
        media = r["media"]
        wanted = "application/json" if r["accept"] in (None, "*/*") else r["accept"]
        assert media == wanted, r
        if media == "application/json":
            assert json.loads(r["body"])["outcome"] == OUTCOME, r["body"][:300]
        else:
            assert EXPECTED_IN[media] in r["body"], (media, r["body"][:300])
    assert {r["input"] for r in results} == {"application/json", "text/turtle", "application/ld+json"}
    assert len({r["media"] for r in results}) == 5


def test_32_concurrent_warm_determinations_are_identical(client: TestClient) -> None:
    baseline = client.post("/determinations", content=SEED_JSON, headers=JSON)
    assert baseline.status_code == 200 and baseline.json()["outcome"] == OUTCOME
    inputs = [(SEED_JSON, JSON), (SEED_TTL, TURTLE), (SEED_JSONLD, JSONLD)]
    barrier = threading.Barrier(32)

    def one(i: int) -> tuple[int, str]:
        body, headers = inputs[i % len(inputs)]
        barrier.wait(timeout=30)
        r = client.post("/determinations", content=body, headers=headers)
        return r.status_code, r.text

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(one, range(32)))
    assert [status for status, _ in results] == [200] * 32
    assert {text for i, (_, text) in enumerate(results) if i % len(inputs) == 0} == {baseline.text}
    # The id digests the case as submitted, so it differs by form; everything else is the same.
    ids = {i % len(inputs): set() for i in range(len(inputs))}
    for i, (_, text) in enumerate(results):
        ids[i % len(inputs)].add(json.loads(text).pop("determinationId"))
    assert all(len(found) == 1 for found in ids.values())
    unnamed = {json.dumps({**json.loads(text), "determinationId": None}) for _, text in results}
    assert len(unnamed) == 1


def _larger_case(n: int) -> bytes:
    """The seed case with ``n`` of each kind of fact (a valid case that takes longer to judge)."""
    case = json.loads(SEED_JSON)
    for key in ("priorProcedures", "examFindings", "conservativeCare", "imagingFindings"):
        case[key] = (case[key] * n)[:n]
    return json.dumps(case).encode()


_SERVE = (
    "import socket, sys, uvicorn\n"
    "sock = socket.socket(fileno=int(sys.argv[1]))\n"
    "config = uvicorn.Config('api.main:app_factory', factory=True, log_level='warning', access_log=False)\n"
    "uvicorn.Server(config).run(sockets=[sock])\n"
)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app under uvicorn in its own process, on a loopback socket this test opened (no port race).

    Latency is measured over a real socket: in-process (TestClient), the client's threads compete
    with the server's for the GIL and the numbers say more about the test than the server.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    log = tmp_path_factory.mktemp("uvicorn") / "stderr.txt"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(sock.fileno())],
            pass_fds=[sock.fileno()],
            env={**os.environ, "GR_KB_DIR": str(ROOT)},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    sock.close()
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx2.Client(base_url=base, trust_env=False, timeout=5) as http:
            deadline = time.monotonic() + 90
            while True:
                assert proc.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "the server did not start"
                try:
                    if http.get("/health").status_code == 200:
                        break
                except httpx2.TransportError:
                    time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_health_answers_while_determinations_run(live_server: str) -> None:
    """E3: /health answers while 4 determinations are in flight (none is judged on the event loop).

    The latency is a benchmark's business (bench/responsiveness.py): on a loaded machine any
    bound here would fail for reasons that are not the server's.
    """
    larger = _larger_case(200)
    stop = threading.Event()
    lock = threading.Lock()
    in_flight = [0]
    statuses: list[int] = []

    def worker() -> None:
        with httpx2.Client(base_url=live_server, trust_env=False, timeout=60) as http:
            while not stop.is_set():
                with lock:
                    in_flight[0] += 1
                r = http.post("/determinations", content=larger, headers={**JSON, "accept": "text/html"})
                with lock:
                    in_flight[0] -= 1
                statuses.append(r.status_code)

    with httpx2.Client(base_url=live_server, trust_env=False, timeout=60) as http:
        first = http.post("/determinations", content=larger, headers=JSON)  # warm, and check it is valid
        assert first.status_code == 200, first.text[:300]
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(4)]
        for t in threads:
            t.start()
            time.sleep(0.02)
        try:
            time.sleep(0.5)  # all four are inside the app by now
            busy = []
            for _ in range(10):
                with lock:
                    busy.append(in_flight[0])
                r = http.get("/health")
                assert r.status_code == 200 and r.json() == {"status": "ok"}
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
    assert statuses and set(statuses) == {200}
    assert max(busy) >= 3, f"determinations in flight while /health was asked: {busy}"
