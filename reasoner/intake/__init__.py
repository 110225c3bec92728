"""Intake: a case in any accepted form, checked and turned into the case graph.

One module per form (``turtle``, ``jsonld``) or a package of a few (``json_case``: schema, reading,
mapping to RDF; ``fhir``: a module per FHIR envelope and what they share), the input limits they all
apply (``limits``: sizes, depth, no file or network access while parsing), the sieve that leaves
out history a policy cannot see (``sieve``; what it can see is reasoner/knowledge/relevance.py)
and the CDS Hooks Coverage prefetch (``coverage``).
Imports the knowledge base, ``_rdf`` and the vocabularies; no later stage.
"""
