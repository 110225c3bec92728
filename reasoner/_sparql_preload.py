"""Imported by the SPARQL forkserver before it forks any query process: load the knowledge base once."""

import gc
import os

from .sparql import _load_graph

_load_graph(os.environ.get("GUIDELINE_REASONER_SPARQL_KB", ""))
# Every query process is a fork of this one: keep the collector off the knowledge base, so that a
# child neither scans it nor copies its pages (halves the cost of a query).
gc.collect()
gc.freeze()
