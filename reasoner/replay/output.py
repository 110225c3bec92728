"""The replay's Parquet: the differences written as they arrive, and Parquet sources of cases read in batches.

pyarrow stays in this module. Three tables go under the output folder:

- ``changes.parquet``: a case whose outcome or any criterion's status changed (case, policy,
  before, after, criteria: the ids of the criteria that changed);
- ``criteria.parquet``: one row per case and criterion whose status changed (case, policy,
  criterion, before, after);
- ``failures.parquet``: a case that could not be determined under a version (case, version, code).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

from reasoner.replay.cases import Case, line_case
from reasoner.replay.partition import Rows

_TEXT = pa.string()
SCHEMAS = {
    "changes": pa.schema(
        [("case", _TEXT), ("policy", _TEXT), ("before", _TEXT), ("after", _TEXT), ("criteria", pa.list_(_TEXT))]
    ),
    "criteria": pa.schema(
        [("case", _TEXT), ("policy", _TEXT), ("criterion", _TEXT), ("before", _TEXT), ("after", _TEXT)]
    ),
    "failures": pa.schema([("case", _TEXT), ("version", _TEXT), ("code", _TEXT)]),
}


class DifferenceWriter:
    """Writes each partition's rows to the three tables as a row group; closes them on exit."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.paths = {name: folder / f"{name}.parquet" for name in SCHEMAS}
        self._writers = {name: pq.ParquetWriter(self.paths[name], SCHEMAS[name]) for name in SCHEMAS}

    def write(self, rows: Rows) -> None:
        """Append a partition's rows (an empty table gets no row group)."""
        for name, table in (("changes", rows.changes), ("criteria", rows.criteria), ("failures", rows.failures)):
            if table:
                columns = [list(column) for column in zip(*table, strict=True)]
                self._writers[name].write_table(pa.Table.from_arrays(columns, schema=SCHEMAS[name]))

    def __enter__(self) -> DifferenceWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for writer in self._writers.values():
            writer.close()


def parquet_rows(path: Path) -> int | None:
    """How many cases a Parquet source holds (from its footer); None when it has no ``case`` column."""
    source = pq.ParquetFile(path)
    return int(source.metadata.num_rows) if "case" in source.schema_arrow.names else None


def parquet_cases(path: Path, batch: int = 1000) -> Iterator[Case]:
    """The cases of a Parquet file: a ``case`` column (the case as text or bytes), an optional ``id`` column.

    Each case is a JSON document (the JSON case form, JSON-LD or a FHIR Bundle), as on a line of
    JSON Lines; without an ``id`` column its id is its own ``id``, else ``row-N``.
    """
    source = pq.ParquetFile(path)
    names = set(source.schema_arrow.names)
    columns = ["case", "id"] if "id" in names else ["case"]
    number = 0
    for chunk in source.iter_batches(batch_size=batch, columns=columns):
        data = chunk.to_pydict()
        for i, text in enumerate(data["case"]):
            number += 1
            raw = text.encode() if isinstance(text, str) else (text or b"")
            case = line_case(raw, f"row-{number}")
            given = data["id"][i] if "id" in data else None
            yield replace(case, id=given) if isinstance(given, str) and given else case
