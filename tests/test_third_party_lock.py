"""One lock for one hazard: rdflib's SPARQL parser, which pyshacl's callers and the SPARQL vetting share."""

from __future__ import annotations

import threading

from reasoner._rdf.lock import THIRD_PARTY_LOCK
from reasoner.shacl import _pyshacl
from reasoner.sparql import vetting


def test_pyshacl_callers_and_sparql_vetting_take_the_same_lock() -> None:
    assert _pyshacl.THIRD_PARTY_LOCK is THIRD_PARTY_LOCK
    done = threading.Event()

    def parse() -> None:
        vetting.prepare("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1")
        done.set()

    with THIRD_PARTY_LOCK:  # held here: the parse in another thread must wait for it
        worker = threading.Thread(target=parse, daemon=True)
        worker.start()
        assert not done.wait(0.3)
    assert done.wait(60)
    worker.join()
