"""CPT descriptors a licensed user plugs in: the AMA's text shown in place of our own short labels.

CPT descriptors are AMA copyright, so the knowledge base carries each CPT code with a short label
of its own. A user who holds a CPT licence points ``GR_CPT_DESCRIPTORS`` at a file of their
licensed descriptors, one code a line: the code, a tab or a comma, the descriptor (a header line
``code,descriptor`` and blank lines are skipped; a descriptor with commas is quoted, as CSV quotes
it). Letters and ``GET /codes/cpt/{code}`` then show the licensed text; determinations (JSON, RDF)
keep our labels, so that an answer never depends on a file outside the knowledge base.

The file is read when first needed and again when it changes; a file that cannot be read, or a
line that is not a code and a descriptor, is an error naming the file and the line.
"""

from __future__ import annotations

import csv
import os
import re
import threading
from pathlib import Path

from reasoner.errors import KnowledgeBaseError

ENV = "GR_CPT_DESCRIPTORS"
_CODE = re.compile(r"^(\d{4}[0-9FTU])$")
_LOCK = threading.Lock()
_read: dict[tuple[str, int, int], dict[str, str]] = {}  # by (path, size, mtime): one file at a time


def descriptor(code: str) -> str | None:
    """The licensed descriptor of CPT ``code``, or None (no file configured, or the code not in it).

    Raises:
        KnowledgeBaseError: the configured file cannot be read, or a line of it is malformed.
    """
    path = os.environ.get(ENV)
    return _descriptors(Path(path)).get(code) if path else None


def _descriptors(path: Path) -> dict[str, str]:
    try:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with _LOCK:
            if key not in _read:
                text = path.read_text(encoding="utf-8-sig")
                _read.clear()
                _read[key] = _parse(text, path)
            return _read[key]
    except OSError as exc:
        raise KnowledgeBaseError(f"{ENV}={path}: the CPT descriptor file cannot be read ({exc.strerror})") from None


def _parse(text: str, path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    delimiter = "\t" if "\t" in text.split("\n", 1)[0] else ","
    for number, row in enumerate(csv.reader(text.splitlines(), delimiter=delimiter), 1):
        if not row or not "".join(row).strip() or (number == 1 and row[0].strip().lower() == "code"):
            continue
        code, describing = row[0].strip(), delimiter.join(row[1:]).strip()
        if not _CODE.match(code) or not describing:
            raise KnowledgeBaseError(
                f"{ENV}={path}, line {number}: expected a CPT code (five characters) and its descriptor"
            )
        out[code] = describing
    return out
