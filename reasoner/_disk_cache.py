"""The user's cache folder, and verdicts kept there by key (lint's, and the SHACL-for-SHACL passes of shapes graphs).

``$GR_CACHE_DIR``, else ``$XDG_CACHE_HOME/guideline-reasoner``, else ``~/.cache/guideline-reasoner``.
A folder that cannot be written is simply not used: every verdict is then worked out again.
Writes go through a staging file and a rename, so processes sharing the folder never read half
a file; what cannot be read is treated as absent, never trusted.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from importlib import metadata, resources
from pathlib import Path

#: The libraries whose versions are part of every key: they parse and check what is remembered.
_LIBRARIES = ("rdflib", "pyshacl")


def cache_dir() -> Path:
    """Where verdicts are kept on disk."""
    explicit = os.environ.get("GR_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "guideline-reasoner"


def key(subject: str, modules: tuple[str, ...]) -> str:
    """A key for a verdict on ``subject`` (a digest of what was checked) by the code of ``modules``.

    ``modules`` are paths under the ``reasoner`` package (``knowledge/lint.py``): a change to any
    of them, or another version of rdflib or pyshacl, gives another key, so old verdicts go stale.
    """
    return hashlib.sha256(f"{subject}:{_code_digest(modules)}".encode()).hexdigest()


@functools.cache
def _code_digest(modules: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    package = resources.files("reasoner")
    for name in modules:
        digest.update(name.encode() + b"\0" + package.joinpath(*name.split("/")).read_bytes() + b"\0")
    for dist in _LIBRARIES:
        digest.update(f"{dist}=={metadata.version(dist)}".encode())
    return digest.hexdigest()


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
