"""The read-only SPARQL 1.1 endpoint over the knowledge base.

Each query in a process of its own (``service``, which starts and kills them; ``worker``, what runs in
them), parsed and vetted in it (``vetting``), results in every SPARQL format (``formats``).
Imports the knowledge base only.
"""
