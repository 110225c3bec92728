"""Prepared knowledge bases kept in the cache folder, so that a command on an unchanged knowledge base starts at once.

An entry is keyed by the content hash of the knowledge base's files, whether its shapes were
checked against SHACL-for-SHACL, and a digest of every module of the engine and of the versions
of the libraries it calls (``_disk_cache.engine_digest``): any edit of a file, of the engine or an
upgrade makes another key. The newest :data:`KEEP` entries stay. An entry that cannot be read,
fails its digest, or is not a prepared knowledge base is prepared again, never trusted.
"""

from __future__ import annotations

import hashlib
from typing import Any

from reasoner import _disk_cache
from reasoner._rdf.shared import shared
from reasoner.knowledge.files import KnowledgeFiles

#: How many prepared knowledge bases the cache folder keeps (the newest).
KEEP = 8
_KIND = "prepared"


def key(files: KnowledgeFiles, *, shapes_checked: bool) -> str:
    """The entry's name for these files, prepared by this engine."""
    subject = f"{files.content_hash}:{'checked' if shapes_checked else 'unchecked'}:{_disk_cache.engine_digest()}"
    return hashlib.sha256(subject.encode()).hexdigest()


def read(files: KnowledgeFiles, *, shapes_checked: bool) -> dict[str, Any] | None:
    """The prepared state kept for these files, or None (an entry with checked shapes also serves an unchecked load)."""
    for checked in (True, False) if not shapes_checked else (True,):
        state = _disk_cache.kept(_KIND, key(files, shapes_checked=checked), dict)
        if state is not None and state.get("content_hash") == files.content_hash:
            return state
    return None


def write(files: KnowledgeFiles, state: dict[str, Any], *, shapes_checked: bool) -> None:
    """Keep a prepared state for these files (silently not at all where the cache folder cannot be written)."""
    # Equal values made one object: a load then makes each once (two in three of the criteria table's repeat).
    _disk_cache.keep(_KIND, key(files, shapes_checked=shapes_checked), shared(state), most=KEEP)
