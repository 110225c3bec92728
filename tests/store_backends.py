"""The determination store's backends for tests: the ``store`` fixture runs a test on each.

``embedded``: an Oxigraph database in the test's temporary folder. ``remote``: a RemoteStore on an
Oxigraph server (``oxigraph serve``, from the ``oxigraph`` package of the test extra), emptied
(``CLEAR ALL``) before each test. A module that sets ``SHARED_SPARQL_STORE = True`` (only
tests/test_store.py: a file's tests run in one process, and no other file may clear that server
meanwhile) uses the server at ``$GR_TEST_SPARQL_STORE`` that .ci/run starts; every other use, and
that one when the variable is unset, gets a server this process starts once and stops at exit.
Where the binary is missing, the remote tests skip, saying so, except under CI (``CI`` set).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest

from reasoner.store import DeterminationStore, EmbeddedStore, RemoteStore

from .conftest import skip_or_fail
from .server_process import free_port

BACKENDS = ["embedded", "remote"]
SHARED_ENV = "GR_TEST_SPARQL_STORE"
# A hang guard: Oxigraph answers within a second of starting.
READY_TIMEOUT_S = 30.0


def oxigraph_binary() -> Path | None:
    """The ``oxigraph`` command beside this Python (the venv's) or on PATH."""
    beside = Path(sys.executable).parent / "oxigraph"
    if beside.is_file():
        return beside
    found = shutil.which("oxigraph")
    return Path(found) if found else None


class OxigraphServer:
    """``oxigraph serve`` on ``location`` and a free loopback port, answering once made."""

    def __init__(self, location: Path) -> None:
        binary = oxigraph_binary()
        if binary is None:
            skip_or_fail('the oxigraph command is not installed: pip install ".[test]" (the oxigraph package)')
        self.binary = binary
        self.location = location
        self.start()

    def start(self, port: int | None = None) -> None:
        """Start (again, on the same location), on ``port`` or a free one; ready on return."""
        self._log = tempfile.TemporaryFile()  # a pipe would fill up and stall the server
        for _ in range(3):  # a free port may be taken before the server binds it
            self.port = port or free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.process = subprocess.Popen(
                [str(self.binary), "serve", "--location", str(self.location), "--bind", f"127.0.0.1:{self.port}"],
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            if wait_ready(self.url, self.process):
                return
        self._log.seek(0)
        raise AssertionError(f"oxigraph serve did not start: {self._log.read().decode()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def wait_ready(url: str, process: subprocess.Popen[bytes] | None = None) -> bool:
    """Whether the SPARQL server at ``url`` answers a query before the timeout (or its process exits)."""
    ask = urllib.request.Request(f"{url}/query", data=urlencode({"query": "ASK {}"}).encode(), method="POST")
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(ask, timeout=2) as answer:  # noqa: S310 - loopback only
                if answer.status == 200:
                    return True
        except (OSError, urllib.error.URLError):
            time.sleep(0.05)
    return False


_own: dict[str, OxigraphServer] = {}  # this process's servers: "main" and "fresh"


def own_server(name: str) -> OxigraphServer:
    """A server of this process's, started on first use and stopped when the process exits."""
    if name not in _own:
        location = Path(tempfile.mkdtemp(prefix=f"gr-oxigraph-{name}-"))
        _own[name] = OxigraphServer(location)
    return _own[name]


@atexit.register
def _stop_own() -> None:
    for server in _own.values():
        server.stop()
        shutil.rmtree(server.location, ignore_errors=True)
    _own.clear()


def pytest_sessionfinish(session: pytest.Session) -> None:
    _stop_own()


def backend_of(store: DeterminationStore) -> str:
    """The backend a store of these tests is of (for a second store beside it)."""
    return "remote" if isinstance(store, RemoteStore) else "embedded"


@contextmanager
def open_store(
    folder: Path, *, fresh: bool = False, backend: str = "embedded", shared: bool = False
) -> Iterator[DeterminationStore]:
    """A store of ``backend`` with nothing in it, closed after use (``fresh``: a second one beside the first).

    ``shared``: the remote store is the server at ``$GR_TEST_SPARQL_STORE`` when set.
    """
    store: DeterminationStore
    if backend == "embedded":
        store = EmbeddedStore(folder)
    else:
        url = os.environ.get(SHARED_ENV) if shared and not fresh else None
        remote = RemoteStore(url or own_server("fresh" if fresh else "main").url)
        remote._update("CLEAR ALL")
        store = remote
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DeterminationStore]:
    """An empty store of each backend."""
    shared = bool(getattr(request.module, "SHARED_SPARQL_STORE", False))
    with open_store(tmp_path / "data", backend=request.param, shared=shared) as s:
        yield s
