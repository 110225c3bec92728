"""Lint verdicts remembered by content, so that refusing a knowledge base with findings costs a lint only once.

A verdict is keyed by a digest of every knowledge-base file and of the code that lints them, and
kept in this process and in the user's cache folder (``$GR_CACHE_DIR``, else
``$XDG_CACHE_HOME/guideline-reasoner``, else ``~/.cache/guideline-reasoner``). A folder that
cannot be written is simply not used.
"""

from __future__ import annotations

import json
import threading

from reasoner import _disk_cache
from reasoner.knowledge.files import KnowledgeFiles
from reasoner.knowledge.lint_report import Finding, LintReport

#: How many verdicts the cache folder keeps (the newest).
KEEP = 256
_MEMORY: dict[str, LintReport] = {}
_LOCK = threading.Lock()


def checked(files: KnowledgeFiles) -> LintReport:
    """The lint report of these files, from the cache when the same files were linted by the same code."""
    key = _key(files)
    with _LOCK:
        found = _MEMORY.get(key)
    if found is None:
        found = _read(key)
    if found is None:
        from reasoner.knowledge.lint import lint_files  # the checks: imported only when they run

        found = lint_files(files)
        _write(key, found)
    with _LOCK:
        _MEMORY[key] = found
    return found


def _key(files: KnowledgeFiles) -> str:
    # The files that could not be read are part of what was linted: a verdict without them is another.
    # Keyed by the whole engine, whose digest every load computes anyway (the prepared cache's key): a
    # hand-kept list of lint's modules went stale, and reading lint's imports cost a load 6 ms.
    subject = json.dumps([files.digest_of_everything, *files.unreadable])  # a name may hold a line break
    return _disk_cache.key(subject, None)


def _read(key: str) -> LintReport | None:
    text = _disk_cache.read("lint", f"{key}.json")
    if text is None:
        return None
    try:
        data = json.loads(text)
        return LintReport(tuple(Finding(**f) for f in data["findings"]), tuple(data["unreadable"]), int(data["files"]))
    except (ValueError, KeyError, TypeError):
        return None  # unreadable: lint again


def _write(key: str, report: LintReport) -> None:
    data = {
        "findings": [f.as_dict() for f in report.findings],
        "unreadable": list(report.unreadable),
        "files": report.files,
    }
    _disk_cache.write("lint", f"{key}.json", json.dumps(data))
    _disk_cache.prune("lint", KEEP)
