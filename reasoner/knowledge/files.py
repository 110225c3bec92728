"""The Turtle files of a knowledge base, read once, so that what is linted, loaded and published is the same bytes.

A server publishes these snapshots as generations (api/generations.py): every worker loads the
bytes that were checked, never files an author may have edited since.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rdflib import Graph

from reasoner import _disk_cache
from reasoner._rdf import pickled
from reasoner._rdf.turtle import turtle_syntax_errors
from reasoner.errors import KnowledgeBaseError

META = "shapes/meta/"


@dataclass(frozen=True)
class KnowledgeFiles:
    """Every ``ontology/**/*.ttl`` and ``shapes/**/*.ttl`` under ``root``: path (relative, POSIX) and bytes, sorted.

    ``unreadable`` names the files that could not be read (``path: error type``); lint reports
    them, and a load refuses the knowledge base.
    """

    root: Path
    files: tuple[tuple[str, bytes], ...]
    unreadable: tuple[str, ...] = ()

    @classmethod
    def read(cls, root: Path) -> KnowledgeFiles:
        """Read the files under ``root`` (nothing is parsed)."""
        root = root.resolve()
        found: list[tuple[str, bytes]] = []
        unreadable: list[str] = []
        for rel in _turtle_files(root):
            try:
                with open(os.path.join(root, rel), "rb") as f:
                    found.append((rel, f.read()))
            except OSError as exc:
                unreadable.append(f"{rel}: {type(exc).__name__}")
        return cls(root, tuple(found), tuple(unreadable))

    @property
    def ontology(self) -> list[tuple[str, bytes]]:
        """The ontology files."""
        return [(rel, data) for rel, data in self.files if rel.startswith("ontology/")]

    @property
    def shapes(self) -> list[tuple[str, bytes]]:
        """The shapes files a determination uses (``shapes/meta/`` holds lint's meta-shapes, not criteria)."""
        return [(rel, data) for rel, data in self.files if rel.startswith("shapes/") and not rel.startswith(META)]

    @cached_property
    def content_hash(self) -> str:
        """The knowledge base's version: a digest of the ontology and shapes files (not the meta-shapes)."""
        return "sha256:" + _digest(self.ontology + self.shapes)

    @cached_property
    def digest_of_everything(self) -> str:
        """A digest of every file, the meta-shapes included (what lint reads)."""
        return _digest(self.files)

    def require_complete(self) -> None:
        """Raise unless every file was read and both folders hold Turtle.

        Raises:
            KnowledgeBaseError: naming the root or the unreadable files.
        """
        if self.unreadable:
            raise KnowledgeBaseError("files of the knowledge base cannot be read: " + ", ".join(self.unreadable))
        if not self.ontology or not self.shapes:
            raise KnowledgeBaseError(f"no knowledge base under {self.root}: expected ontology/*.ttl and shapes/*.ttl")

    def write(self, dest: Path) -> None:
        """Write the files under ``dest`` (which must not exist yet), as a folder renamed into place whole."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
        for rel, data in self.files:
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        os.rename(staging, dest)  # atomic: a reader sees the whole snapshot or none


def _digest(files: Iterable[tuple[str, bytes]]) -> str:
    """A digest of (path, bytes) pairs, each field behind its length: a file's bytes may hold anything, NULs too."""
    digest = hashlib.sha256()
    for rel, data in files:
        name = rel.encode()
        digest.update(b"%d %d\n" % (len(name), len(data)) + name + data)
    return digest.hexdigest()


def _turtle_files(root: Path) -> list[str]:
    """The ``*.ttl`` files under ``root/ontology`` and ``root/shapes``, relative to ``root``, ordered as paths.

    ``os.walk`` rather than ``Path.rglob``: half the time, which a command on a large knowledge base
    feels. The same entries: a folder reached through a symbolic link is not walked, and a folder
    named ``*.ttl`` is listed (to be reported unreadable).
    """
    out: list[str] = []
    for folder in ("ontology", "shapes"):
        found = []
        for at, folders, names in os.walk(root / folder):
            rel = Path(at).relative_to(root).as_posix()
            found += [f"{rel}/{name}" for name in (*names, *folders) if name.endswith(".ttl")]
        out += sorted(found, key=lambda rel: rel.split("/"))  # by parts, as paths sort
    return out


#: The base a relative IRI in a file resolves against: the same wherever the command runs (rdflib's
#: default is the working folder), so that a parse kept in the cache folder is the parse of its bytes.
RELATIVE_BASE = "https://w3id.org/guideline-reasoner/unresolved/"

_PARSED: dict[str, Graph] = {}
_PARSED_LOCK = threading.Lock()
_PARSED_MAX = 256
#: How many parsed files the cache folder keeps (the newest): several versions of a large knowledge base.
PARSED_ON_DISK = 1024
# What decides a parse: rdflib's parser (its version is in every key), how it is called, how it is pickled.
_PARSING_MODULES = ("knowledge/files.py", "_rdf/turtle.py", "_rdf/pickled.py")


def parsed(data: bytes) -> Graph:
    """One Turtle file parsed, remembered by its content (a reload or a lint parses only the files that changed).

    Remembered in this process and in the cache folder (reasoner/_disk_cache.py), so a lint after
    an edit, or a load that must prepare again, parses only the files that changed. Its terms are
    the interned ones (reasoner/_rdf/pickled.py). The graph is shared: read it, copy from it,
    never change it.

    Raises:
        TurtleSyntaxError: not Turtle, with the position rdflib gives (reasoner/_rdf/turtle.py).
        Exception: anything else rdflib raises on a malformed file (ValueError, IndexError...).
    """
    key = hashlib.sha256(data).hexdigest()
    with _PARSED_LOCK:
        found = _PARSED.get(key)
    if found is not None:
        return found
    graph = _disk_cache.kept("parsed", _disk_key(key), Graph)
    if graph is None:
        fresh = Graph()
        with turtle_syntax_errors():
            fresh.parse(data=data, format="turtle", publicID=RELATIVE_BASE)
        kept = _disk_cache.keep("parsed", _disk_key(key), fresh, most=PARSED_ON_DISK)
        # Read back: one object per term, as a file from the cache folder has (a tenth of the parse).
        back = pickled.loads(kept)
        assert isinstance(back, Graph)
        graph = back
    with _PARSED_LOCK:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[key] = graph
    return graph


def _disk_key(content: str) -> str:
    return _disk_cache.key(content, _PARSING_MODULES)
