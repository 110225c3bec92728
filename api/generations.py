"""Knowledge-base generations: numbered snapshots of checked files, shared by every worker of one server.

Workers must answer from one knowledge base. ``guideline-reasoner serve`` checks the files and
publishes them as generation 1 in a state folder; a reload checks the files again and publishes
the next generation. Each worker loads the current generation (the exact bytes that were
checked, never files an author may have edited since, so a replaced worker loads what the others
serve) and notices a newer one before it answers a request.

The state folder::

    generations/<n>/ontology/..., shapes/...   a snapshot, renamed into place whole, never changed
    current                                     {"generation", "knowledgeBase", "published"}, replaced atomically
    refused.json                                the last refused reload, until the next publication
    lock                                        held while publishing
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reasoner.knowledge.files import KnowledgeFiles

KEEP = 4  # generations kept on disk (a worker may still be loading the one before the current)


@dataclass(frozen=True, slots=True)
class Generation:
    """One published snapshot."""

    number: int
    content_hash: str
    published: str
    path: Path


class Generations:
    """The generations in one state folder."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self._current = state / "current"
        self._refused = state / "refused.json"

    def stamp(self) -> tuple[int, int] | None:
        """A cheap token that changes whenever a generation is published (one stat, for every request)."""
        try:
            st = os.stat(self._current)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns

    def current(self) -> Generation | None:
        """The current generation, or None before the first publication."""
        try:
            data = json.loads(self._current.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        number = int(data["generation"])
        return Generation(number, data["knowledgeBase"], data["published"], self._folder(number))

    def publish(self, files: KnowledgeFiles) -> Generation:
        """Write ``files`` as the next generation and make it current (callers check the files first)."""
        with self._locked():
            before = self.current()
            number = (before.number if before else 0) + 1
            folder = self._folder(number)
            if folder.exists():  # left by a publisher that died before switching
                shutil.rmtree(folder)
            files.write(folder)
            now = datetime.now(UTC).isoformat(timespec="seconds")
            record = {"generation": number, "knowledgeBase": files.content_hash, "published": now}
            _replace(self._current, json.dumps(record))
            self._refused.unlink(missing_ok=True)
            self._prune(number)
        return Generation(number, files.content_hash, now, folder)

    def refuse(self, record: dict[str, Any]) -> None:
        """Remember a refused reload, for ``/version`` on every worker."""
        _replace(self._refused, json.dumps(record))

    def refused(self) -> dict[str, Any] | None:
        """The last refused reload since the current generation was published, if any."""
        try:
            data: dict[str, Any] = json.loads(self._refused.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return data

    def _folder(self, number: int) -> Path:
        return self.state / "generations" / str(number)

    def _prune(self, current: int) -> None:
        for folder in (self.state / "generations").iterdir():
            if folder.name.isdigit() and int(folder.name) <= current - KEEP:
                shutil.rmtree(folder, ignore_errors=True)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.state.mkdir(parents=True, exist_ok=True)
        with open(self.state / "lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _replace(path: Path, text: str) -> None:
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)
