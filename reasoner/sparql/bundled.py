"""The queries the project ships, each with the description its leading comment lines give.

queries/*.rq are over the knowledge base, queries/determinations/*.rq over kept determinations.

Found in a checkout's ``queries/``, else in the copy a wheel carries (``reasoner/_queries``,
pyproject.toml's force-include). Read once per process: the files do not change while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

Dataset = Literal["knowledge", "determinations"]

_HERE = Path(__file__).resolve().parent
ROOTS = (_HERE.parents[1] / "queries", _HERE.parent / "_queries")


@dataclass(frozen=True)
class Bundled:
    """A shipped query: its file's stem, the description of its leading comments, and its text."""

    name: str
    description: str
    text: str


def describe(text: str) -> str:
    """The leading comment lines, without their ``#``; paragraphs (blank comment lines) kept as blank lines."""
    lines: list[str] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:].strip())
    return "\n".join(lines).strip()


@lru_cache(maxsize=2)
def bundled(dataset: Dataset) -> tuple[Bundled, ...]:
    """The shipped queries over ``dataset``, by name; none when neither folder exists."""
    for root in ROOTS:
        folder = root / "determinations" if dataset == "determinations" else root
        if folder.is_dir():
            found = []
            for path in sorted(folder.glob("*.rq")):
                text = path.read_text(encoding="utf-8")
                found.append(Bundled(path.stem, describe(text), text))
            return tuple(found)
    return ()
