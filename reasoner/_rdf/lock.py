"""One lock for one hazard: rdflib's SPARQL parser and the process-wide state pyshacl patches.

rdflib's SPARQL parser (pyparsing, with packrat caching) is not thread-safe (tests/api/test_http_concurrency.py), and
pyshacl both parses SPARQL and patches rdflib's process-wide state while it validates. Whoever
calls into either takes this lock: pyshacl's callers in reasoner/shacl/ and the SPARQL parse in
reasoner/_rdf/sparql.py (which the endpoint's query vetting calls). Reentrant, as pyshacl calls
nest. Scale with worker processes, not threads.
"""

from threading import RLock

THIRD_PARTY_LOCK = RLock()
