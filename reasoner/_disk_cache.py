"""The user's cache folder: verdicts (lint's, SHACL-for-SHACL passes) and prepared graphs kept there by key.

``$GR_CACHE_DIR``, else ``$XDG_CACHE_HOME/guideline-reasoner``, else ``~/.cache/guideline-reasoner``;
``GR_CACHE_DIR=off`` keeps nothing. A folder that cannot be written is simply not used:
everything is then worked out again.
Writes go through a staging file and a rename, so processes sharing the folder never read half
a file; what cannot be read is treated as absent, never trusted.

Everything is read only from a file and folder that this user owns and no one else can write:
a verdict decides what is checked, and unpickling runs code named in the data. Pickles
(:func:`read_pickle`) are read only when the digests written before them match too, so a torn or
corrupt one is rebuilt (docs/threats.md, G1): one for the pickle, one for the blobs after it,
which :func:`kept` checks in a thread while the pickle is unpickled.
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
import threading
from collections.abc import Callable
from importlib import metadata, resources
from pathlib import Path
from typing import TypeVar

from reasoner._rdf import pickled

#: The libraries whose versions are part of every key: they parse and check what is remembered.
# simple-icd-10-cm: the ICD-10-CM release lint checks codes against; owlrl: the closure a prepared knowledge base holds.
_LIBRARIES = ("rdflib", "pyshacl", "simple-icd-10-cm", "owlrl")
_PACKAGE = Path(__file__).resolve().parent
_MAGIC = b"guideline-reasoner pickle 2\n"


def cache_dir() -> Path | None:
    """Where verdicts are kept on disk; None when ``GR_CACHE_DIR`` is ``off``."""
    explicit = os.environ.get("GR_CACHE_DIR")
    if explicit == "off":
        return None
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "guideline-reasoner"


def key(subject: str, modules: tuple[str, ...] | None) -> str:
    """A key for a verdict on ``subject`` (a digest of what was checked) by the code of ``modules``.

    ``modules`` are paths under the ``reasoner`` package (``knowledge/lint.py``), or None for every
    module of the engine: a change to any of them, or another version of rdflib or pyshacl, gives
    another key, so old verdicts go stale.
    """
    digest = engine_digest() if modules is None else _code_digest(modules)
    return hashlib.sha256(f"{subject}:{digest}".encode()).hexdigest()


def engine_digest() -> str:
    """A digest of every module of the engine and of the library versions: what prepares a knowledge base."""
    return _code_digest(_engine_modules())


@functools.cache
def _engine_modules() -> tuple[str, ...]:
    return tuple(sorted(path.relative_to(_PACKAGE).as_posix() for path in _PACKAGE.rglob("*.py")))


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
    """The text kept under ``kind/key``, or None (absent, unreadable, or not this user's alone).

    A verdict decides what is checked (a lint pass lets a knowledge base be used): it is read, as
    a pickle is, only from a file and folder this user owns and no one else can write.
    """
    data = _read_private(kind, key)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except ValueError:
        return None


def write(kind: str, key: str, text: str) -> None:
    """Keep ``text`` under ``kind/key`` (atomically; silently not at all where the folder cannot be written)."""
    try:
        folder = _folder(kind)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _put(folder, key, text.encode("utf-8"), 0o600)
    except OSError:
        pass


def _read_private(kind: str, key: str) -> bytes | None:
    """The bytes of ``kind/key`` if the file and its folder are this user's and writable by no one else."""
    try:
        path = _folder(kind) / key
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        if not (_private(os.fstat(fd)) and _private(os.stat(path.parent))):
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    except OSError:
        return None
    finally:
        os.close(fd)


def read_pickle(kind: str, key: str) -> memoryview | None:
    """The bytes kept by :func:`write_pickle` under ``kind/key`` (a view of the file's, not a copy), or None.

    None, too, unless the file and its folder are this user's and writable by no one else, and
    the bytes match the digests kept with them: the caller may then unpickle them.
    """
    found = _read_checking(kind, key)
    return None if found is None or not found[1]() else found[0]


def write_pickle(kind: str, key: str, data: bytes, *, keep: int, first: int | None = None) -> None:
    """Keep pickled ``data`` under ``kind/key``, with its digests; only the newest ``keep`` files of ``kind`` stay.

    ``first``: how many of the bytes are the ones unpickling reads at once; the rest (the blobs
    it hands out as views, reasoner/_rdf/pickled.py) are digested apart, and checked while the
    first part is unpickled.
    """
    first = len(data) if first is None or not 0 <= first <= len(data) else first
    head = b"%s%s%s%016x\n" % (_MAGIC, _hex(data[:first]), _hex(data[first:]), first)
    try:
        folder = _folder(kind)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _put(folder, key, head + data, 0o600)
        _prune(folder, keep)
    except OSError:
        pass


_HEAD = len(_MAGIC) + 64 + 64 + 16 + 1  # the magic, the two parts' digests, the first part's length, a line end
# Below this, the rest is digested at once: a thread costs more than hashing it.
_CHECKED_APART = 1 << 20


def _read_checking(kind: str, key: str) -> tuple[memoryview, Callable[[], bool]] | None:
    """The pickle kept under ``kind/key`` if its first part matches its digest, and what says whether the rest does.

    The rest is digested in a thread (hashlib lets go of the interpreter lock) while the caller
    unpickles the first part, which only hands out views of the rest: it runs nothing of it.
    """
    data = _read_private(kind, key)
    if data is None or len(data) < _HEAD or not data.startswith(_MAGIC):
        return None
    try:
        first = int(data[_HEAD - 17 : _HEAD - 1], 16)
    except ValueError:
        return None
    body = memoryview(data)[_HEAD:]
    digests = data[len(_MAGIC) : len(_MAGIC) + 64], data[len(_MAGIC) + 64 : len(_MAGIC) + 128]
    if first > len(body) or _hex(body[:first]) != digests[0]:
        return None
    rest, results = body[first:], []

    def check() -> None:
        results.append(_hex(rest) == digests[1])

    checking = threading.Thread(target=check, daemon=True) if len(rest) >= _CHECKED_APART else None
    try:
        if checking is not None:
            checking.start()
    except RuntimeError:  # no thread to be had (a limit, or the interpreter shutting down)
        checking = None
    if checking is None:
        check()

    def rest_matches() -> bool:
        if checking is not None:
            checking.join()
        return results == [True]

    return body, rest_matches


_T = TypeVar("_T")


def kept(kind: str, key: str, expected: type[_T]) -> _T | None:
    """What :func:`keep` put in the cache folder under ``kind/key``, if it is an ``expected``; else None.

    Read by :func:`read_pickle`, unpickled by reasoner/_rdf/pickled.py. Absent, not this user's,
    failing its digest, not such a pickle or of another type: None, and the caller works it out
    again (docs/threats.md G1).
    """
    checking = _read_checking(kind, key)
    if checking is None:
        return None
    data, rest_matches = checking
    try:
        found = pickled.loads(data)
    except Exception:  # noqa: BLE001 - a pickle that cannot be read is worked out again
        found = None
    if not rest_matches():  # no view of the rest is read before this
        return None
    return found if isinstance(found, expected) else None


def keep(kind: str, key: str, obj: object, *, most: int) -> bytes:
    """Put ``obj`` in the cache folder under ``kind/key`` (the newest ``most`` of ``kind`` stay); its pickle."""
    data = pickled.dumps(obj)
    write_pickle(kind, key, data, keep=most, first=pickled.blobs_at(data))
    return data


def _put(folder: Path, key: str, data: bytes, mode: int) -> None:
    """Write ``folder/key`` through a staging file renamed into place: a reader sees all of it or none."""
    staging = folder / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(staging, folder / key)


class _Off(OSError):
    """The cache is turned off (``GR_CACHE_DIR=off``): read as absent, write nowhere."""


def _folder(kind: str) -> Path:
    folder = cache_dir()
    if folder is None:
        raise _Off(kind)
    return folder / kind


def _private(st: os.stat_result) -> bool:
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _hex(data: pickled.Blob) -> bytes:
    return hashlib.sha256(data).hexdigest().encode()


def prune(kind: str, keep: int) -> None:
    """Keep only the newest ``keep`` files of ``kind`` (by when they were written); silently not where it cannot."""
    try:
        _prune(_folder(kind), keep)
    except OSError:
        pass


def _prune(folder: Path, keep: int) -> None:
    entries = []
    for path in folder.iterdir():
        if not path.name.startswith("."):
            try:
                entries.append((path.stat().st_mtime, path))
            except OSError:
                continue  # another process pruned it
    for _mtime, path in sorted(entries, reverse=True)[keep:]:
        path.unlink(missing_ok=True)
