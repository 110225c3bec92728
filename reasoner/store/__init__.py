"""Determinations kept: one interface (base.py), an embedded Oxigraph store (embedded.py) or a remote SPARQL one."""

from pathlib import Path

from reasoner.store.base import DeterminationStore, case_graph_of, graph_of, is_private_graph
from reasoner.store.embedded import EmbeddedStore
from reasoner.store.records import KeptCase, Review, ReviewAction, ReviewIn, ReviewStatus, Stored, StoreError
from reasoner.store.remote import RemoteStore


def open_store(location: str | Path) -> DeterminationStore:
    """The store at ``location``: an ``http://`` or ``https://`` URL is a SPARQL server, anything else a folder.

    A remote store takes Oxigraph server's endpoints under the URL; for another layout, make a
    :class:`RemoteStore` with its endpoints.
    """
    text = str(location)
    if isinstance(location, str) and text.lower().startswith(("http://", "https://")):
        return RemoteStore(text)
    return EmbeddedStore(Path(location))


__all__ = [
    "DeterminationStore",
    "EmbeddedStore",
    "KeptCase",
    "RemoteStore",
    "Review",
    "ReviewAction",
    "ReviewIn",
    "ReviewStatus",
    "StoreError",
    "Stored",
    "case_graph_of",
    "graph_of",
    "is_private_graph",
    "open_store",
]
