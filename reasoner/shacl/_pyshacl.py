"""pyshacl's process-wide settings: its callers take the one third-party lock (reasoner/_rdf/lock.py)."""

from reasoner._rdf.lock import THIRD_PARTY_LOCK

__all__ = ["THIRD_PARTY_LOCK", "quiet_library_logs"]


def quiet_library_logs() -> None:
    """Silence rdflib's and pyshacl's own logging below ERROR.

    rdflib logs the lexical form of any literal it cannot convert (for example an ill-typed date
    in a case), with a traceback: that would write patient data to the logs. The reasoner reports
    such problems itself, by location.
    """
    import logging

    for name in ("rdflib", "pyshacl"):
        logging.getLogger(name).setLevel(logging.ERROR)
