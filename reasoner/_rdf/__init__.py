"""rdflib, as the engine uses it: every touch of an rdflib internal lives here.

- ``case_store``: the per-request case store (subclasses ``rdflib.store.Store``).
- ``terms``: fast literal and IRI constructors (writes ``Literal``'s private slots).
- ``literals``: numbers checked before rdflib converts them (public ``rdflib.term.bind``).
- ``turtle``: where and why a Turtle syntax error is (``BadSyntax``'s ``_i``, ``_str``, ``_why``).
- ``jsonld``: a JSON-LD case parsed from its decoded value (``PythonInputSource``) into a capped
  ``Memory`` store.
- ``parsers``: the case parsers and their lazily imported modules, imported ahead of the first case.
- ``sparql``: rdflib's SPARQL parser and algebra (``parseQuery``, ``translateQuery``, the unicode
  escape expansion, ``CompValue``, ``Query``) and the process-wide ``SPARQL_LOAD_GRAPHS`` switch.
- ``turtle_writer``: the Turtle serialiser that writes numbers bare only in their own lexical form
  (``TurtleSerializer``, ``_GEN_QNAME_FOR_DT``, ``Literal._literal_n3``).
- ``lock``: the one lock for rdflib's SPARQL parser and pyshacl's process-wide patches.
- ``pickled``: pickles of graphs and prepared knowledge that rebuild terms slot by slot
  (``Literal``'s four slots, as ``terms`` does) and keep ``Memory`` stores' indexes as rdflib
  leaves them; ``tests/test_pickled.py`` holds each term to rdflib's own.

Each module says what the public upstream way would be, or that there is none;
``tests/test_rdflib_adapters.py`` holds each internal to the shape relied on, and
``tests/test_confinement.py`` that no module outside this package touches one. Imports nothing
from the engine but errors and numbers.
"""
