"""Live reload: a new knowledge base is built and linted beside the live one, then swapped in.

Requests read ``LiveKnowledge.kb`` once, at their start, so every answer comes from one
knowledge base, never a mix (threats.md E2). A knowledge base that fails to lint or load is
refused: the live one keeps serving, and ``/version`` shows the refusal.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasoner import KnowledgeBase, KnowledgeBaseError
from reasoner.lint import lint
from reasoner.sparql import SparqlService


@dataclass
class LiveKnowledge:
    """The knowledge base requests are answered from, and the last refused reload."""

    kb: KnowledgeBase
    root: Path
    sparql: SparqlService
    refused: dict[str, Any] | None = None
    _reloading: threading.Lock = field(default_factory=threading.Lock)

    def reload(self) -> dict[str, Any]:
        """Lint and load the files under ``root``; swap them in if both succeed (one reload at a time)."""
        with self._reloading:
            report = lint(self.root)
            if report.exit_code != 0:
                problems = [str(f) for f in report.findings] + [f"{u}: cannot be read" for u in report.unreadable]
                return self._refuse("the knowledge base does not lint clean", problems)
            try:
                fresh = KnowledgeBase.load(self.root)
            except KnowledgeBaseError as exc:
                return self._refuse("the knowledge base does not load", [exc.message])
            self.sparql.restart()
            self.kb = fresh  # one reference assignment: a request sees the old or the new, never both
            self.refused = None
            return {"status": "reloaded", "knowledgeBase": fresh.content_hash}

    def _refuse(self, error: str, problems: list[str]) -> dict[str, Any]:
        self.refused = {"error": error, "problems": problems[:50], "liveKnowledgeBase": self.kb.content_hash}
        return {"status": "refused", **self.refused}
