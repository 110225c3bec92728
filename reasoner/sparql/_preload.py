"""Imported by the SPARQL forkserver before it forks any query process: load the knowledge base once.

Then warm the SPARQL parser and serialisers up on queries of our own, and import the program's
main script, so that no query process spends its deadline on first-use work.
"""

import gc
import multiprocessing.spawn
import os

from reasoner.sparql import worker

main_path = os.environ.get("GUIDELINE_REASONER_SPARQL_MAIN", "")
if main_path:
    # Run the main script here, once (guarded by its ``__name__ == "__main__"`` test, as in any
    # multiprocessing child): query processes then find it loaded instead of each running it again.
    try:
        multiprocessing.spawn.import_main_path(main_path)
    except Exception:  # noqa: BLE001 - then each query process runs it, as multiprocessing does
        pass
worker.warm_up(worker.load_graph(os.environ.get("GUIDELINE_REASONER_SPARQL_KB", "")))
# Every query process is a fork of this one: keep the collector off the knowledge base, so that a
# child neither scans it nor copies its pages (halves the cost of a query).
gc.collect()
gc.freeze()
