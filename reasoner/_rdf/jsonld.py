"""rdflib's JSON-LD parser, fed a decoded Python value into a store that caps the triples.

Two internals of rdflib, held to their shape by ``tests/test_rdflib_adapters.py``:

* ``rdflib.plugins.stores.memory.Memory``, subclassed to count what is added (``Memory.add(triple,
  context, quoted)``). rdflib's JSON-LD parser needs a context-aware store, which the case store
  (``case_store``) is not. Public way: none; ``Graph(store="Memory")`` takes no cap, and counting
  after the parse is too late for the memory a hostile case can take.
* ``rdflib.parser.PythonInputSource``, to hand the parser the already decoded and vetted JSON
  (``reasoner/intake/jsonld.py``). Public way: ``Graph.parse(data=json.dumps(value),
  format="json-ld")``, which writes the JSON out again only for rdflib to decode it once more.
"""

from __future__ import annotations

from typing import Any

from rdflib import Graph
from rdflib.parser import PythonInputSource
from rdflib.plugins.stores.memory import Memory
from rdflib.term import Node

from reasoner.errors import CaseTooLarge


class CappedMemory(Memory):
    """An in-memory, context-aware store that refuses more than ``cap`` triples, for JSON-LD cases.

    Turtle cases are capped by the case store itself.
    """

    def __init__(self, cap: int) -> None:
        super().__init__()
        self._cap, self._count = cap, 0

    def add(self, triple: tuple[Node, Node, Node], context: Graph, quoted: bool = False) -> None:
        """Count the triple, refuse it beyond the cap, else add it as ``Memory`` does."""
        self._count += 1
        if self._count > self._cap:
            raise CaseTooLarge(f"the case has more than {self._cap} triples")
        super().add(triple, context, quoted)


def parse_jsonld_value(document: dict[str, Any] | list[Any], cap: int, base: str) -> Graph:
    """A graph of at most ``cap`` triples from a decoded JSON-LD document (a dict or a list).

    A relative IRI resolves against ``base`` (rdflib's default is the working folder).

    The document must already be free of context references (``reasoner/intake/jsonld.py``):
    rdflib fetches any it meets.

    Raises:
        CaseTooLarge: over ``cap`` triples; anything rdflib's parser raises on a bad document.
    """
    graph = Graph(store=CappedMemory(cap))
    graph.parse(source=PythonInputSource(document), format="json-ld", base=base)
    return graph
