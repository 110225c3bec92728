"""Imported by the SPARQL forkserver before it forks any query process: load the knowledge base once."""

import os

from .sparql import _load_graph

_load_graph(os.environ.get("GUIDELINE_REASONER_SPARQL_KB", ""))
