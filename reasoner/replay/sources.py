"""Where a replay's cases come from: a folder of case files, JSON Lines, Parquet, or the determination store.

Every source is read lazily, one case at a time, so a history of millions never sits in memory;
:func:`batches` groups them into the partitions a cluster works on. A case the source itself
cannot give (a line that is not JSON, an unreadable file) is still a :class:`Case`, with its error code.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from reasoner.intake.detect import case_format
from reasoner.intake.turtle import CaseFormat
from reasoner.replay.answers import Answer
from reasoner.replay.cases import Case, line_case
from reasoner.store.base import DeterminationStore

#: SOURCE for the determination store (with ``--data`` or ``--store-url``, as ``show`` takes them).
STORE = "store:"
CASE_SUFFIXES = (".json", ".ttl", ".jsonld")
LINES_SUFFIXES = (".jsonl", ".ndjson")

_MEDIA_FORMATS: dict[str, CaseFormat] = {
    "application/json": "json",
    "application/n-triples": "turtle",  # N-Triples is Turtle
    "application/fhir+json": "fhir",
}


class SourceError(Exception):
    """SOURCE names nothing a replay can read (the message says what it should be)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Source:
    """A source of cases and how many it holds (None where counting would mean reading it all)."""

    name: str
    total: int | None
    cases: Iterable[Case]


def open_source(spec: str, *, store: DeterminationStore | None = None) -> Source:
    """The cases SOURCE names: ``store:`` (then ``store`` is read), a folder, a ``.jsonl`` or a ``.parquet`` file.

    Raises:
        SourceError: SOURCE is none of those.
    """
    if spec == STORE:
        if store is None:
            raise SourceError(f"{STORE} needs a determination store")
        return Source("the determination store", store.count(), _stored(store))
    path = Path(spec)
    if path.is_dir():
        return Source(str(path), sum(1 for _ in _case_files(path)), (_file_case(p, path) for p in _case_files(path)))
    if path.is_file() and path.suffix in LINES_SUFFIXES:
        return Source(str(path), _count_lines(path), _lines(path))
    if path.is_file() and path.suffix == ".parquet":
        from reasoner.replay.output import parquet_cases, parquet_rows

        rows = parquet_rows(path)
        if rows is None:
            raise SourceError(f"{spec}: a Parquet source needs a column named case (each case as JSON text)")
        return Source(str(path), rows, parquet_cases(path))
    raise SourceError(
        f"{spec}: not a folder of case files, a JSON Lines file (.jsonl, .ndjson), a Parquet file (.parquet) "
        f"or {STORE} (the determination store)"
    )


def batches(cases: Iterable[Case], size: int) -> Iterator[list[Case]]:
    """The cases in lists of ``size`` (the last may be shorter)."""
    it = iter(cases)
    while batch := list(islice(it, size)):
        yield batch


def _case_files(folder: Path) -> Iterator[Path]:
    """The case files under ``folder``, a directory at a time (a history of millions is never listed whole)."""
    for parent, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(CASE_SUFFIXES) and not name.endswith(".expected.json"):
                yield Path(parent, name)


def _file_case(path: Path, folder: Path) -> Case:
    ident = path.relative_to(folder).as_posix()
    try:
        payload = path.read_bytes()
    except OSError:
        return Case(ident, "json", b"", error="unreadable")
    return Case(ident, case_format(path.name, payload), payload)


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def _lines(path: Path) -> Iterator[Case]:
    """One case per non-blank line: the JSON case form, JSON-LD or a FHIR Bundle (see :func:`line_case`)."""
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            line = line.strip()
            if line:
                yield line_case(line, f"line-{number}")


def _stored(store: DeterminationStore, page: int = 500) -> Iterator[Case]:
    """Every kept determination with its case, oldest last (the store's order), a page at a time."""
    offset = 0
    while found := store.find(limit=page, offset=offset):
        offset += len(found)
        for kept in found:
            before = Answer.of(kept.determination())
            case = store.case(kept.id)
            if case is None or case.media_type not in _MEDIA_FORMATS:
                yield Case(kept.id, "json", b"", kept.policy, before, error="no-case-kept")
                continue
            yield Case(kept.id, _MEDIA_FORMATS[case.media_type], case.text.encode(), kept.policy, before)
