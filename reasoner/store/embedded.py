"""The determination store in an embedded Oxigraph database on disk (the default backend).

One process opens a folder at a time (RocksDB locks it): a server with several workers keeps its
determinations in a remote store instead (reasoner/store/remote.py). In one process, every store
opened on the same folder shares one database.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

import pyoxigraph as ox

from reasoner.store.base import DeterminationStore
from reasoner.store.records import StoreError
from reasoner.store.terms import rows_of


class EmbeddedStore(DeterminationStore):
    """An Oxigraph database in ``folder`` (created on first use).

    A commit returns once Oxigraph has written it to its write-ahead log, which is in the
    operating system's cache: it survives the process's death (SIGKILL; tests/test_store.py) but
    not the machine's. ``flush=True`` also syncs each commit to disk, at about 8 ms a commit on
    this machine (``python -m bench.store``).
    """

    _open: ClassVar[dict[Path, tuple[ox.Store, int]]] = {}  # folder -> (database, stores using it)
    _open_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, folder: Path, *, flush: bool = False) -> None:
        super().__init__()
        self.folder = folder.resolve()
        self.flush = flush
        with self._open_lock:
            db, users = self._open.get(self.folder, (None, 0))
            if db is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                try:
                    db = ox.Store(str(self.folder))
                except OSError as exc:
                    if "lock" in str(exc).lower():
                        raise StoreError(
                            "store-in-use",
                            f"the data folder {self.folder} is in use by another process (a running server?): "
                            "use that server's HTTP API, or a remote store",
                        ) from None
                    raise StoreError("store-unavailable", f"cannot open the data folder {self.folder}: {exc}") from None
            self._open[self.folder] = (db, users + 1)
        self._db = db
        self._closed = False

    def _commit(self, drop: list[str], quads: list[ox.Quad]) -> None:
        for name in drop:
            self._db.remove_graph(ox.NamedNode(name))
        self._db.extend(quads)
        if self.flush:
            self._db.flush()

    def _select(self, query: str) -> list[dict[str, str]]:
        solutions = self._db.query(query)
        assert isinstance(solutions, ox.QuerySolutions)
        return rows_of(solutions, [v.value for v in solutions.variables])

    def _update(self, update: str) -> None:
        self._db.update(update)
        if self.flush:
            self._db.flush()

    def _dump(self) -> bytes:
        data = self._db.dump(format=ox.RdfFormat.N_QUADS, from_graph=None)
        assert data is not None
        return data

    def _load(self, data: bytes) -> None:
        self._db.load(data, format=ox.RdfFormat.N_QUADS)
        self._db.flush()

    def query(
        self, query: str, *, default_graph: list[str] | None = None, named_graphs: list[str] | None = None
    ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        """A SPARQL query over the store, on the dataset given (default: every graph)."""
        return self._db.query(
            query,
            default_graph=[ox.NamedNode(g) for g in default_graph] if default_graph is not None else None,
            named_graphs=[ox.NamedNode(g) for g in named_graphs] if named_graphs is not None else None,
        )

    def graph_names(self) -> list[str]:
        """The names of every named graph kept."""
        return [g.value for g in self._db.named_graphs() if isinstance(g, ox.NamedNode)]

    def snapshot(self, folder: Path) -> None:
        """A consistent copy of the database in ``folder`` (which must not exist), for ``Store.read_only``.

        A RocksDB checkpoint: hard links to the database's files on the same file system (a copy
        elsewhere), after the memory table is flushed; the copy never sees later writes.
        """
        self._db.backup(str(folder))

    def close(self) -> None:
        """Flush, and let go of the database once no other store in this process uses it."""
        if self._closed:
            return
        self._closed = True
        self._db.flush()
        with self._open_lock:
            db, users = self._open[self.folder]
            if users > 1:
                self._open[self.folder] = (db, users - 1)
            else:
                del self._open[self.folder]  # RocksDB's lock goes with the last reference
        del self._db
