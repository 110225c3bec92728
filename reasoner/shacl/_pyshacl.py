"""One lock around pyshacl.

It patches rdflib's process-wide state while they run, and rdflib's SPARQL parser (used by
pyshacl) is not thread-safe (threats.md E1). Calls into it take this lock; scale
with worker processes, not threads.
"""

from threading import RLock

THIRD_PARTY_LOCK = RLock()


def quiet_library_logs() -> None:
    """Silence rdflib's and pyshacl's own logging below ERROR.

    rdflib logs the lexical form of any literal it cannot convert (for example an ill-typed date
    in a case), with a traceback: that would write patient data to the logs. The reasoner reports
    such problems itself, by location.
    """
    import logging

    for name in ("rdflib", "pyshacl"):
        logging.getLogger(name).setLevel(logging.ERROR)
