"""Slow and lying clients against a real server: read deadlines (issue 13, item 6).

An idle connection, headers that never end, a Content-Length larger than the body, a body that
trickles in: each is answered 408 (or closed, when nothing of a request came) instead of holding a
connection until the client gives up. ``guideline-reasoner serve`` runs in a child process with
one-second deadlines; waits are hang guards, not speed claims. The same server shows that every
answer names its request and knowledge base, and that the access log carries the request id.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from ..conftest import EXAMPLES, ROOT
from ..server_process import ServerProcess

CASE = (EXAMPLES / "sij-rfa-two-blocks.json").read_bytes()  # medically necessary
HANG_GUARD_S = 60.0


@pytest.fixture(scope="module")
def one_worker() -> Iterator[ServerProcess]:
    """One worker with short read deadlines."""
    env = {"GR_HEADER_TIMEOUT_S": "1", "GR_BODY_TIMEOUT_S": "3", "GR_BODY_IDLE_TIMEOUT_S": "1"}
    server = ServerProcess("--kb", str(ROOT), env=env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.close()


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=HANG_GUARD_S)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection (the hang guard fails the test otherwise)."""
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _status_and_body(raw: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


# --- read deadlines ----------------------------------------------------------------------------------


def test_an_idle_connection_is_closed(one_worker: ServerProcess) -> None:
    with _connect(one_worker) as sock:
        assert _read_all(sock) == b""  # closed without a word: nothing of a request came


def test_headers_that_never_end_get_408(one_worker: ServerProcess) -> None:
    with _connect(one_worker) as sock:
        sock.sendall(b"POST /determinations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
        status, body = _status_and_body(_read_all(sock))
    assert (status, body["code"]) == (408, "request-timeout")


def test_a_content_length_that_lies_gets_408(one_worker: ServerProcess) -> None:
    with _connect(one_worker) as sock:
        sock.sendall(
            b"POST /determinations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n" + CASE[:100]
        )
        status, body = _status_and_body(_read_all(sock))
    assert (status, body["code"]) == (408, "request-timeout")


def test_a_trickling_body_gets_408(one_worker: ServerProcess) -> None:
    """Never idle long enough for the pause deadline, but too slow for the body deadline."""
    with _connect(one_worker) as sock:
        sock.sendall(
            b"POST /determinations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(CASE)
        )
        sock.settimeout(0.3)
        received = b""
        for byte in CASE:
            try:
                sock.sendall(bytes([byte]))
                received += sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if received and b"\r\n\r\n" in received:
                break
        sock.settimeout(HANG_GUARD_S)
        try:
            received += _read_all(sock)
        except OSError:
            pass
    status, body = _status_and_body(received)
    assert (status, body["code"]) == (408, "request-timeout")


def test_keep_alive_requests_still_work_in_turn(one_worker: ServerProcess) -> None:
    request = (
        b"POST /determinations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(CASE) + CASE
    )
    with _connect(one_worker) as sock:
        for _ in range(2):
            sock.sendall(request)
            raw = b""
            while b"\r\n\r\n" not in raw:
                raw += sock.recv(65536)
            head, _, body = raw.partition(b"\r\n\r\n")
            fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:])
            length = int({k.lower(): v for k, v in fields.items()}[b"content-length"])
            while len(body) < length:
                body += sock.recv(65536)
            assert head.startswith(b"HTTP/1.1 200") and json.loads(body)["outcome"] == "medically-necessary"
            time.sleep(0.2)  # well within the header deadline of the next request


def test_every_answer_names_its_request_and_knowledge_base(one_worker: ServerProcess) -> None:
    status, headers, body = one_worker.request("POST", "/determinations", CASE, {"content-type": "application/json"})
    assert status == 200
    assert headers["x-knowledge-base"] == body["knowledgeBase"]
    assert headers["x-knowledge-base-generation"] == "1"
    assert len(headers["x-request-id"]) == 16
    deadline = time.monotonic() + HANG_GUARD_S  # the access-log line is written once the answer is sent
    while headers["x-request-id"] not in one_worker.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    line = next(x for x in one_worker.output().splitlines() if headers["x-request-id"] in x)
    assert "POST /determinations 200 " in line
