"""One lock around pyshacl and owlrl.

Both patch rdflib's process-wide state while they run, and rdflib's SPARQL parser (used by
pyshacl) is not thread-safe (threats.md E1). Calls into either library take this lock; scale
with worker processes, not threads.
"""

from threading import RLock

THIRD_PARTY_LOCK = RLock()
