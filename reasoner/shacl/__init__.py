"""The validate stage's engine: SHACL shapes compiled once, evaluated in three truth values.

``prepared`` compiles the shapes and validates, with pyshacl for what the compiled evaluator does
not cover. The compiled evaluator: ``truth`` (Kleene's three values, the gaps an unknown hangs
on, the uncertain value node), ``reader`` (memoised reads of the data graph), ``shape`` (a
compiled shape and its results), ``checks`` (a shape's checks, constraint by constraint) and
``compiled`` (the compiler, and what it refuses). Every touch of pyshacl's internals is in
``_pyshacl``. Sits below the knowledge base, which compiles its shapes at load; imports only
``_rdf``, the vocabularies and errors.
"""
