"""Shared fixtures for hostile input: a loopback canary listener, a watch on file opens, probe files.

``Canary`` and the ``canary`` and ``watch_opens`` fixtures (as ``canary_fixture`` and
``watch_opens_fixture``) are imported by ``tests/api/test_http_security.py`` too. The HTTP client is
the API tests' own fixture (one app per test directory).
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reasoner.intake import limits as untrusted

from ..api.conftest import client  # noqa: F401 - the API tests' app, as a fixture here too


class Canary:
    """A plain TCP listener on 127.0.0.1 that counts the connections it accepts.

    It answers anything with a JSON-LD context that would remap a case into an attacker's
    vocabulary, so a server that did fetch from it would also get a usable answer.
    """

    REPLY = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/ld+json\r\nConnection: close\r\n\r\n"
        b'{"@context": {"@vocab": "http://attacker.example/leak#"}}'
    )

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self._lock = threading.Lock()
        self._hits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="canary", daemon=True)
        self._thread.start()

    @property
    def hits(self) -> int:
        with self._lock:
            return self._hits

    def url(self, path: str = "ctx.jsonld") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._hits += 1
            with conn:
                try:
                    conn.settimeout(1.0)
                    conn.recv(65536)
                    conn.sendall(self.REPLY)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()


@pytest.fixture(scope="module", name="canary")
def canary_fixture() -> Iterator[Canary]:
    c = Canary()
    yield c
    c.close()


WATCHED: set[str] = set()
OPENED: list[str] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and args and isinstance(args[0], str | bytes | Path):
        path = str(args[0] if not isinstance(args[0], bytes) else args[0].decode("utf-8", "replace"))
        if path in WATCHED:
            OPENED.append(path)


# Process-wide and permanent; it records only opens of WATCHED paths. It runs after the
# reasoner's own hook, so it sees the opens that really happen, not those the reasoner refused.
sys.addaudithook(_audit)


@pytest.fixture(name="watch_opens")
def watch_opens_fixture() -> Iterator[Callable[[str | Path], None]]:
    """Record any open() of the given paths during the test; the test fails if one happens."""
    start = len(OPENED)
    added: list[str] = []

    def watch(path: str | Path) -> None:
        added.append(str(path))
        WATCHED.add(str(path))

    yield watch
    opened = OPENED[start:]
    WATCHED.difference_update(added)
    assert not opened, f"the server opened {opened}"


@dataclass(frozen=True)
class Probes:
    """Locations a hostile case may name: the canary, an existing file, a missing one, /dev/zero."""

    canary: Canary
    existing: Path
    missing: Path

    def targets(self) -> dict[str, str]:
        """Each location by name, as a case would write it."""
        return {
            "http": self.canary.url(),
            "existing-path": str(self.existing),
            "existing-file-url": self.existing.as_uri(),
            "missing-path": str(self.missing),
            "missing-file-url": self.missing.as_uri(),
            "dev-zero": "/dev/zero",
            "dev-zero-file-url": "file:///dev/zero",
        }


@pytest.fixture
def probes(canary: Canary, tmp_path: Path, watch_opens: Callable[[str | Path], None]) -> Iterator[Probes]:
    """The probe locations, with every file watched; on exit: no connection, no open, no refusal by the hook.

    A refusal by the audit hook would mean the vetting let a reference through; tests of the hook
    itself do not use this fixture.
    """
    existing = tmp_path / "secret_ctx.json"
    existing.write_text('{"@context": {"@vocab": "http://local-file.example/LEAKED#"}}')
    missing = tmp_path / "no_such_ctx.json"
    for path in (existing, missing, "/dev/zero"):
        watch_opens(path)
    hits, refusals = canary.hits, untrusted.refusals()
    yield Probes(canary, existing, missing)
    assert canary.hits == hits, "the canary was contacted"
    assert untrusted.refusals() == refusals, "the audit hook had to refuse an access the vetting let through"
