"""The read-only SPARQL 1.1 endpoint over the knowledge base.

Each query in a process of its own (``service``, which starts and kills them; ``worker``, what runs in
them), parsed and vetted in it (``vetting``), results in every SPARQL format (``formats``).
Imports the knowledge base only.

Importing it stops rdflib's SPARQL evaluation from ever loading a FROM document, process-wide
(``reasoner._rdf.sparql.never_load_graphs``; vetting refuses FROM, this is the second line).
"""

from reasoner._rdf.sparql import never_load_graphs

never_load_graphs()
