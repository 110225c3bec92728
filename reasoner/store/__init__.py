"""Determinations kept: an embedded Oxigraph store (embedded.py); the remote SPARQL store is to come."""

from reasoner.store.embedded import EmbeddedStore, Stored

__all__ = ["EmbeddedStore", "Stored"]
