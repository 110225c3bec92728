"""JSON-LD cases, parsed without ever fetching a context (threats.md A1).

rdflib resolves every string ``@context`` (and ``@import``) by opening a URL or a file, with no
switch to turn it off. So the JSON is decoded here first and walked: the one context URL we
publish is replaced by its vendored copy; any other string context, and any ``@import``, is
refused. rdflib then gets a Python object, never a location.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from rdflib import Graph

from .errors import CaseVocabularyError
from .intake import MAX_TRIPLES, _CappedMemory, decode_json, parse_errors

CONTEXT_URL = "https://w3id.org/guideline-reasoner/contexts/case.jsonld"


def vendored_context() -> dict[str, Any]:
    """The published case context, from the package (never from the network)."""
    data = json.loads(resources.files("reasoner").joinpath("contexts/case.jsonld").read_bytes())
    context = data["@context"]
    assert isinstance(context, dict)
    return context


def _resolve_contexts(node: Any, vendored: dict[str, Any]) -> Any:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "@import" in item:
                raise CaseVocabularyError("@import is not allowed in a JSON-LD case")
            if "@context" in item:
                item["@context"] = _context_value(item["@context"], vendored)
            stack.extend(v for k, v in item.items() if k != "@context")
            context = item.get("@context")
            stack.extend(
                context.values() if isinstance(context, dict) else context if isinstance(context, list) else []
            )
        elif isinstance(item, list):
            stack.extend(item)
    return node


def _context_value(value: Any, vendored: dict[str, Any]) -> Any:
    if isinstance(value, str):
        if value != CONTEXT_URL:
            raise CaseVocabularyError(f"a JSON-LD @context given by URL must be {CONTEXT_URL}; others are not fetched")
        return dict(vendored)
    if isinstance(value, list):
        return [_context_value(v, vendored) for v in value]
    if isinstance(value, dict):
        if "@import" in value:
            raise CaseVocabularyError("@import is not allowed in a JSON-LD case")
        for term in value.values():  # scoped contexts inside term definitions
            if isinstance(term, dict) and "@context" in term:
                term["@context"] = _context_value(term["@context"], vendored)
        return value
    return value


def parse_jsonld(payload: bytes) -> Graph:
    """Parse a JSON-LD case into a graph (then sanitise it like any Turtle case).

    Raises:
        CaseParseError: not JSON, or not JSON-LD rdflib can read.
        CaseTooLarge: over the byte, nesting or triple limit.
        CaseVocabularyError: a remote or file context, or @import.
    """
    data = decode_json(payload)
    data = _resolve_contexts(data, vendored_context())
    graph = Graph(store=_CappedMemory(MAX_TRIPLES))
    with parse_errors("JSON-LD"):
        graph.parse(data=data, format="json-ld")
    return graph
