"""Imported by the SPARQL forkserver before it forks any query process: load the knowledge base once.

Then warm the SPARQL parser and serialisers up on queries of our own, so that no query process
spends its deadline on first-use work.
"""

import gc
import os

from . import sparql

sparql._load_graph(os.environ.get("GUIDELINE_REASONER_SPARQL_KB", ""))
assert sparql._GRAPH is not None
sparql.warm_up(sparql._GRAPH)
# Every query process is a fork of this one: keep the collector off the knowledge base, so that a
# child neither scans it nor copies its pages (halves the cost of a query).
gc.collect()
gc.freeze()
