"""Determinations kept: one interface (base.py), an embedded Oxigraph store (embedded.py) or a remote SPARQL one."""

from reasoner.store.base import DeterminationStore, case_graph_of, graph_of, is_private_graph
from reasoner.store.embedded import EmbeddedStore
from reasoner.store.location import default_data_dir, open_store
from reasoner.store.records import KeptCase, Review, ReviewAction, ReviewIn, ReviewStatus, Stored, StoreError
from reasoner.store.remote import RemoteStore

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
    "default_data_dir",
    "graph_of",
    "is_private_graph",
    "open_store",
]
