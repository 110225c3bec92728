"""``guideline-reasoner serve`` in a network namespace of its own that has only loopback, for browser tests.

The server runs under ``unshare --net`` with loopback up; a browser run with :meth:`OfflineServer.inside`
joins that namespace, so nothing it asks for can leave the machine: the server is the only thing it
reaches. Where namespaces cannot be made (no privilege), the server runs plainly on loopback and
``isolated`` is False: the browser must then be cut off by its own settings (:data:`CUT_OFF_FLAGS`).
Either way the tests prove "no request leaves loopback" from the browser's network log, not from the
namespace alone. The server keeps its determinations in a temporary folder of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .conftest import ROOT
from .server_process import START_TIMEOUT_S, free_port

_LOOPBACK_UP = "ip link set lo up"
# Chromium without a namespace: its resolver finds nothing but loopback, and every other connection
# goes to a proxy on a closed port (loopback bypasses the proxy).
CUT_OFF_FLAGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--proxy-server=127.0.0.1:9"]


def namespaces_work() -> bool:
    """Whether this process may make a network namespace and join another (root, or a user namespace)."""
    try:
        made = subprocess.run(["unshare", "--net", "sh", "-c", _LOOPBACK_UP], capture_output=True, timeout=30)
        return made.returncode == 0 and shutil.which("nsenter") is not None
    except (OSError, subprocess.TimeoutExpired):
        return False


class OfflineServer:
    """``guideline-reasoner serve`` alone in a new network namespace with loopback up (when one can be made)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.isolated = namespaces_work()
        serve = [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port), "--kb", str(ROOT)]
        # unshare execs its command, and sh execs the server: the child's pid is the server's.
        prefix = ["unshare", "--net", "--", "sh", "-c", _LOOPBACK_UP + ' && exec "$@"', "sh"]
        self._log = tempfile.TemporaryFile()
        self._data = tempfile.TemporaryDirectory(prefix="gr-offline-data-")  # its own store
        self.process = subprocess.Popen(
            [*prefix, *serve] if self.isolated else serve,
            env={**os.environ, "GR_DATA_DIR": self._data.name},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def inside(self, command: list[str]) -> list[str]:
        """``command`` run in the server's network namespace."""
        if not self.isolated:
            return command
        return ["nsenter", f"--net=/proc/{self.process.pid}/ns/net", "--", *command]

    def wait_ready(self) -> None:
        probe = f"import urllib.request as u; u.urlopen('{self.origin}/health', timeout=5)"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._log.seek(0)
                raise AssertionError(f"the server exited: {self._log.read()[-2000:].decode(errors='replace')}")
            if subprocess.run(self.inside([sys.executable, "-c", probe]), capture_output=True).returncode == 0:
                return
            time.sleep(0.5)
        raise AssertionError("the server did not start")

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[OfflineServer]:
        """A server that answers, stopped on leaving."""
        server = cls()
        try:
            server.wait_ready()
            yield server
        finally:
            server.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        self._data.cleanup()
