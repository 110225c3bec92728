"""The read-only SPARQL 1.1 endpoint over the knowledge base.

Each query in a process of its own (``service``), results in every SPARQL format (``formats``).
Imports the knowledge base only.
"""
