"""One case of a replay, as a source gives it (see sources.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from reasoner.intake.detect import case_format
from reasoner.intake.turtle import CaseFormat
from reasoner.replay.answers import Answer


@dataclass(frozen=True, slots=True)
class Case:
    """One case to replay.

    ``stored``: the determination kept for it (a store source); ``error``: why there is no case.
    """

    id: str
    fmt: CaseFormat
    payload: bytes
    policy: str | None = None
    stored: Answer | None = None
    error: str | None = None


def line_case(text: bytes, fallback: str) -> Case:
    """A case from one JSON document; its id is its ``id`` member where that is a string, else ``fallback``."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return Case(fallback, "json", b"", error="case-parse")
    ident = doc.get("id") if isinstance(doc, dict) else None
    return Case(ident if isinstance(ident, str) and ident else fallback, case_format(".json", text), text)
