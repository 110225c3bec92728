"""The validate stage's engine: SHACL shapes compiled once, evaluated in three truth values.

``prepared`` compiles the shapes; ``compiled`` is the evaluator, with pyshacl for what it does not
cover. Every touch of pyshacl's internals is in ``_pyshacl``. Sits below the knowledge base, which
compiles its shapes at load; imports only ``_rdf``, the vocabularies and errors.
"""
