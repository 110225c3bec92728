"""Determinations kept: one interface (base.py), an embedded Oxigraph store (embedded.py) or a remote SPARQL one."""

from reasoner.store.base import DeterminationStore, case_graph_of, graph_of, is_private_graph
from reasoner.store.embedded import EmbeddedStore
from reasoner.store.records import KeptCase, Review, ReviewAction, ReviewIn, ReviewStatus, Stored, StoreError

__all__ = [
    "DeterminationStore",
    "EmbeddedStore",
    "KeptCase",
    "Review",
    "ReviewAction",
    "ReviewIn",
    "ReviewStatus",
    "StoreError",
    "Stored",
    "case_graph_of",
    "graph_of",
    "is_private_graph",
]
