"""A served knowledge base: one for every worker, supervised workers, and never one that does not lint.

Issue 13, items 4 and 5: a reload reached one worker of two, a killed worker was not replaced, and
a knowledge base with lint findings was served. ``guideline-reasoner serve`` runs in a child
process; waits are hang guards, and timings are measured by ``bench/resilience.py``.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import EXAMPLES, FIXTURES, ROOT
from ..server_process import ServerProcess

CASE = (EXAMPLES / "sij-rfa-two-blocks.json").read_bytes()  # necessary at 50 % relief, not at 75 %
TOKEN = "s3cret"
GUIDELINE = Path("ontology") / "guidelines" / "sij-clinical-pathway.ttl"
HANG_GUARD_S = 60.0


def _kb_copy(root: Path) -> Path:
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(ROOT / "shapes", root / "shapes")
    return root


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    """Two supervised workers on a copy of the knowledge base that the tests edit, with reload on."""
    root = _kb_copy(tmp_path_factory.mktemp("served"))
    server = ServerProcess("--kb", str(root), "--workers", "2", "--no-store", env={"GR_ADMIN_TOKEN": TOKEN})
    try:
        server.wait_ready()
        _both_workers(server, lambda _headers, _version: None)  # both are listening
        yield server, root
    finally:
        server.close()


# --- fail closed --------------------------------------------------------------------------------------


def test_serve_refuses_a_knowledge_base_with_lint_findings(tmp_path: Path) -> None:
    root = _kb_copy(tmp_path / "kb")
    shutil.copy(FIXTURES / "lint" / "ontology--placeholder.ttl", root / "ontology" / "guidelines")
    server = ServerProcess("--kb", str(root))
    try:
        assert server.process.wait(timeout=HANG_GUARD_S * 3) == 3
        out = server.output()
    finally:
        server.close()
    assert "lint findings, so it is not used" in out
    assert "ontology/guidelines/ontology--placeholder.ttl:11:1: placeholder:" in out


# --- two workers: one knowledge base, supervised -------------------------------------------------------


def _both_workers(server: ServerProcess, check: object) -> set[int]:
    """Ask /version on new connections until both workers answered (each answer checked)."""
    seen: set[int] = set()
    deadline = time.monotonic() + HANG_GUARD_S
    while len(seen) < 2 and time.monotonic() < deadline:
        status, headers, body = server.get("/version")
        assert status == 200
        check(headers, body)  # type: ignore[operator]
        seen.add(body["worker"])
    assert len(seen) == 2, "only one worker ever answered"
    return seen


def test_connections_opened_together_are_spread_over_the_workers(two_workers: tuple[ServerProcess, Path]) -> None:
    """Each worker listens with its own socket: a burst of keep-alive connections is not all one worker's.

    With one shared socket, all of them went to whichever worker woke first. The kernel spreads
    connections by a hash, so 32 connections all on one of two workers has a chance of 2 in 2**32.
    """
    server, _ = two_workers
    conns = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=HANG_GUARD_S) for _ in range(32)]
    try:
        for conn in conns:
            conn.connect()
        workers = set()
        for conn in conns:
            conn.request("GET", "/version")
            workers.add(json.loads(conn.getresponse().read())["worker"])
    finally:
        for conn in conns:
            conn.close()
    assert len(workers) == 2


def test_a_reload_reaches_every_worker(two_workers: tuple[ServerProcess, Path]) -> None:
    server, root = two_workers
    before = server.get("/version")[2]
    path = root / GUIDELINE
    text = path.read_text()
    start = text.index("sijp:lbb-min-relief\n")
    path.write_text(text[:start] + text[start:].replace('gr:value "50"^^xsd:decimal', 'gr:value "75"^^xsd:decimal', 1))
    auth = {"authorization": f"Bearer {TOKEN}"}
    status, _, body = server.request("POST", "/admin/reload", headers=auth)
    assert status == 200 and body["status"] == "reloaded", body
    assert body["generation"] == before["generation"] + 1 and body["knowledgeBase"] != before["knowledgeBase"]
    new = body["knowledgeBase"]
    answers = []
    for _ in range(200):
        status, headers, d = server.request("POST", "/determinations", CASE, {"content-type": "application/json"})
        answers.append((status, headers["x-knowledge-base"], d["knowledgeBase"], d["outcome"]))
    assert set(answers) == {(200, new, new, "not-medically-necessary")}

    def on_new(headers: dict[str, str], v: dict[str, object]) -> None:
        assert (v["knowledgeBase"], v["generation"]) == (new, body["generation"])
        assert headers["x-knowledge-base"] == new

    _both_workers(server, on_new)
    # An unchanged knowledge base is not published again.
    status, _, again = server.request("POST", "/admin/reload", headers=auth)
    assert (status, again["status"], again["generation"]) == (200, "unchanged", body["generation"])


def test_a_refused_reload_is_seen_by_every_worker(two_workers: tuple[ServerProcess, Path]) -> None:
    server, root = two_workers
    live = server.get("/version")[2]
    path = root / GUIDELINE
    good = path.read_text()
    path.write_text(good.replace("gr:usesThreshold sijp:lbb-min-count", "gr:useThreshold sijp:lbb-min-count", 1))
    try:
        status, _, body = server.request("POST", "/admin/reload", headers={"authorization": f"Bearer {TOKEN}"})
    finally:
        path.write_text(good)
    assert status == 409 and body["status"] == "refused"
    assert any(": undeclared: " in p for p in body["problems"]), body["problems"]

    def still_live(_headers: dict[str, str], v: dict[str, object]) -> None:
        assert (v["knowledgeBase"], v["generation"]) == (live["knowledgeBase"], live["generation"])
        assert v["refusedReload"]["error"] == "the knowledge base does not lint clean"  # type: ignore[index]

    _both_workers(server, still_live)


def test_a_killed_worker_is_replaced_and_loads_the_served_generation(two_workers: tuple[ServerProcess, Path]) -> None:
    server, root = two_workers
    served = server.get("/version")[2]
    # An edit nobody reloaded: a replaced worker must not pick it up from the files.
    path = root / GUIDELINE
    good = path.read_text()
    path.write_text(good.replace('rdfs:label "SIJ clinical pathway"', 'rdfs:label "SIJ pathway, edited"', 1))
    try:
        workers = server.workers()
        assert len(workers) == 2
        victim = served["worker"]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + HANG_GUARD_S * 2
        while time.monotonic() < deadline:
            now = server.workers()
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.1)
        assert len(server.workers() - {victim}) == 2, "the killed worker was not replaced"

        def same_generation(_headers: dict[str, str], v: dict[str, object]) -> None:
            assert (v["knowledgeBase"], v["generation"]) == (served["knowledgeBase"], served["generation"])

        seen = _both_workers(server, same_generation)
        assert victim not in seen
    finally:
        path.write_text(good)
