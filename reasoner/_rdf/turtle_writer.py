"""rdflib's Turtle serialiser, writing a number or boolean bare only in its own lexical form.

rdflib's writes ``"3"^^xsd:decimal`` as ``3.0``, another term. Internals touched, held to their
shape by ``tests/test_rdflib_adapters.py``: the ``TurtleSerializer`` class and its ``label`` and
``get_pname`` methods, the module constant ``_GEN_QNAME_FOR_DT`` it passes to ``get_pname`` for
datatypes, and ``Literal._literal_n3(qname_callback=...)``, the quoted form it writes otherwise.
Public way: none; ``Graph.serialize(format="turtle")`` has no option for how literals are written.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping

from rdflib import Graph, Literal, URIRef
from rdflib.plugins.serializers.turtle import _GEN_QNAME_FOR_DT, TurtleSerializer
from rdflib.term import Node


class _FaithfulTurtle(TurtleSerializer):
    """rdflib's Turtle writer, but a literal of a datatype in ``bare`` is bare only if its lexical form matches."""

    def __init__(self, store: Graph, bare: Mapping[URIRef, re.Pattern[str]]) -> None:
        super().__init__(store)
        self._bare = bare

    def label(self, node: Node, position: int) -> str:
        if isinstance(node, Literal) and node.datatype is not None:
            bare = self._bare.get(node.datatype)
            if bare is not None:
                lexical = str(node)
                if bare.fullmatch(lexical):
                    return lexical
                return node._literal_n3(qname_callback=lambda dt: self.get_pname(dt, _GEN_QNAME_FOR_DT))
        return super().label(node, position)


def turtle_bytes(graph: Graph, bare: Mapping[URIRef, re.Pattern[str]]) -> bytes:
    """``graph`` in Turtle (UTF-8); a literal of a datatype in ``bare`` is bare only if its pattern matches.

    Raises:
        UnicodeEncodeError: a term holds a lone surrogate.
    """
    out = io.BytesIO()
    _FaithfulTurtle(graph, bare).serialize(out, encoding="utf-8")
    return out.getvalue()
