r"""rdflib's SPARQL parser and algebra, as the query vetting (reasoner/sparql/vetting.py) uses them.

Internals touched, each held to its shape by ``tests/test_rdflib_adapters.py``:

* ``parseQuery`` and ``translateQuery``: the two steps of ``rdflib.plugins.sparql.prepareQuery``
  (the public way), taken apart so that a query rdflib parses but that is not a plain read can be
  refused before it is run, and so that the parse raises pyparsing's ``ParseBaseException``, whose
  ``loc`` gives the position (``prepareQuery`` raises the same, but hides nothing more).
* ``expandUnicodeEscapes`` and ``expandUnicodeEscapes_re``: how rdflib rewrites ``\u`` escapes
  before pyparsing sees the text, to map pyparsing's position back to the client's. Public way: none.
* ``CompValue`` (the algebra's node type, walked for SERVICE) and ``Query`` (the translated query).
  Public way: none; rdflib documents the algebra only by example.
* ``rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS``, a process-wide switch documented in rdflib's
  module; :func:`never_load_graphs` sets it.

rdflib's parser is not thread-safe: :func:`parse_query` takes THIRD_PARTY_LOCK (``lock``).
"""

from __future__ import annotations

from rdflib.plugins import sparql as rdflib_sparql
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import expandUnicodeEscapes, expandUnicodeEscapes_re, parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Query

from reasoner._rdf.lock import THIRD_PARTY_LOCK

__all__ = ["CompValue", "Query", "expand_unicode_escapes", "never_load_graphs", "parse_query", "unicode_escapes"]


def parse_query(text: str) -> Query:
    """Parse and translate a SPARQL query, under the third-party lock (the parser pyshacl uses too).

    Raises:
        pyparsing.ParseBaseException: a syntax error; ``loc`` is its offset in the text once
            :func:`expand_unicode_escapes` and ``str.expandtabs`` have rewritten it.
        RecursionError: nested too deeply; anything else rdflib raises on a bad escape or algebra.
    """
    with THIRD_PARTY_LOCK:
        return translateQuery(parseQuery(text))


def expand_unicode_escapes(text: str) -> str:
    r"""The text as rdflib's parser reads it: every ``\u``/``\U`` escape expanded."""
    return expandUnicodeEscapes(text)


#: The pattern of the escapes :func:`expand_unicode_escapes` expands, one match each.
unicode_escapes = expandUnicodeEscapes_re


def never_load_graphs() -> None:
    """Stop rdflib's SPARQL evaluation from loading a FROM or FROM NAMED document, process-wide.

    Vetting refuses those clauses; this is the second line should it be bypassed. Called when
    ``reasoner.sparql`` is imported and again by the query process before it runs a query.
    """
    rdflib_sparql.SPARQL_LOAD_GRAPHS = False
