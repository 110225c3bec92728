"""The user's cache folder, and verdicts kept there by key (lint's, and the SHACL-for-SHACL passes of shapes graphs).

``$GR_CACHE_DIR``, else ``$XDG_CACHE_HOME/guideline-reasoner``, else ``~/.cache/guideline-reasoner``.
A folder that cannot be written is simply not used: every verdict is then worked out again.
Writes go through a staging file and a rename, so processes sharing the folder never read half
a file; what cannot be read is treated as absent, never trusted.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def cache_dir() -> Path:
    """Where verdicts are kept on disk."""
    explicit = os.environ.get("GR_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "guideline-reasoner"


def read(kind: str, key: str) -> str | None:
    """The text kept under ``kind/key``, or None (absent or unreadable)."""
    try:
        return (cache_dir() / kind / key).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None


def write(kind: str, key: str, text: str) -> None:
    """Keep ``text`` under ``kind/key`` (atomically; silently not at all where the folder cannot be written)."""
    path = cache_dir() / kind / key
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        staging.write_text(text, encoding="utf-8")
        os.replace(staging, path)
    except OSError:
        pass
