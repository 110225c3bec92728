"""A real ``guideline-reasoner serve`` in a child process, for tests that need sockets, workers and signals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

# A hang guard, not a speed claim: a server that is not up by then is broken.
START_TIMEOUT_S = 180.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``guideline-reasoner serve`` on a free loopback port, stopped with SIGTERM."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port), *args]
        self._log = tempfile.TemporaryFile()  # a pipe would fill up and stall the server
        self._data = tempfile.TemporaryDirectory(prefix="gr-server-data-")  # its own store: the tests' is open
        self.process = subprocess.Popen(
            command,
            env={**os.environ, "GR_DATA_DIR": self._data.name, **(env or {})},
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        """Everything the server printed so far."""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.process.returncode}: {self.output()[-2000:]}")
            try:
                if self.get("/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the server did not start")

    def get(self, path: str) -> tuple[int, dict[str, str], Any]:
        """A GET on a new connection: status, headers (lower-case names), JSON body."""
        return self.request("GET", path)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:  # noqa: S310 - loopback only
                return r.status, {k.lower(): v for k, v in r.headers.items()}, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, {k.lower(): v for k, v in err.headers.items()}, json.loads(err.read() or b"null")

    def workers(self) -> set[int]:
        """The worker processes the supervisor runs now."""
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid), "-f", "multiprocessing.spawn"],
            capture_output=True,
            text=True,
            check=False,
        )
        return {int(p) for p in out.stdout.split()}

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def close(self) -> None:
        self.stop()
        self._log.close()
        self._data.cleanup()
