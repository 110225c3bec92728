"""JSON-LD cases, parsed without ever dereferencing a context (docs/threats.md A1).

rdflib resolves every string ``@context`` and every ``@import`` it meets, at any depth (a context
array, a context object's own ``@context``, a scoped context in a term definition, a node or
value object's context), by opening a URL or a file, with no switch to turn it off. So the JSON
is decoded here first and rdflib is given a Python object in which no context can be a
reference. :func:`resolved` is the one place that guarantees it: every value under an
``@context`` key anywhere in the document is resolved from :data:`CONTEXTS` (the one context URL
we publish, mapped to its vendored copy) or refused, ``@import`` is refused wherever it appears,
and the result is then verified by a separate walk before rdflib sees it. Refusals name the JSON
path of the ``@context`` or ``@import`` (``$["@graph"][0]["@context"]``), never its value; an
existing and a missing file are refused alike. ``untrusted.py`` stops any access that would slip
through all the same.

Every form of a JSON-LD document is read: expanded (a top-level array of node objects, which is
what rdflib itself writes), compacted (one node object, nested nodes embedded), flattened and any
other ``@graph`` document. The document is handed to rdflib as the decoded Python value, so an
array needs no object around it.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

from rdflib import Graph

from reasoner._rdf.jsonld import parse_jsonld_value
from reasoner.errors import CaseParseError, CaseVocabularyError
from reasoner.intake.limits import untrusted_input
from reasoner.intake.turtle import MAX_TRIPLES, decode_json, parse_errors
from reasoner.vocab import CASE_BASE

CONTEXT_URL = "https://w3id.org/guideline-reasoner/contexts/case.jsonld"

_VENDORED: dict[str, Any] = json.loads(resources.files("reasoner").joinpath("contexts/case.jsonld").read_bytes())
CONTEXTS: dict[str, dict[str, Any]] = {CONTEXT_URL: _VENDORED["@context"]}
"""Context URL -> the context itself: the only contexts a case may name (read once, at import)."""

_KEY_SHOWN = 64  # a longer key is cut in a path

Path = tuple[str | int, ...]


def vendored_context() -> dict[str, Any]:
    """The published case context (a copy), from the package; never from the network."""
    return copy.deepcopy(CONTEXTS[CONTEXT_URL])


def json_path(path: Path) -> str:
    """``("@graph", 0, "@context")`` -> ``$["@graph"][0]["@context"]``."""
    parts = []
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        else:
            shown = step if len(step) <= _KEY_SHOWN else step[:_KEY_SHOWN] + "…"
            parts.append(f"[{json.dumps(shown, ensure_ascii=False)}]")
    return "$" + "".join(parts)


def _refuse(path: Path, why: str) -> CaseVocabularyError:
    return CaseVocabularyError(f"{json_path(path)}: {why}; contexts are never fetched")


def resolved(document: Any) -> Any:
    """The document with every context reference replaced by its vendored copy, verified.

    Changes ``document`` in place and returns it.

    Raises:
        CaseVocabularyError: an ``@import``, or a context that is a string other than a URL of
            :data:`CONTEXTS`, or that is not an object, an array or null; named by JSON path.
    """
    stack: list[tuple[Any, Path]] = [(document, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            if "@import" in item:
                raise _refuse((*path, "@import"), "@import is not allowed in a case")
            if "@context" in item:
                item["@context"] = _resolve_context(item["@context"], (*path, "@context"))
            stack.extend((v, (*path, k)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(item))
    verify(document)
    return document


def _resolve_context(value: Any, path: Path) -> Any:
    if isinstance(value, str):
        if value not in CONTEXTS:
            raise _refuse(path, f"a context given by URL must be {CONTEXT_URL}")
        return copy.deepcopy(CONTEXTS[value])
    if isinstance(value, list):  # an array of contexts (rdflib also reads arrays within arrays)
        return [_resolve_context(v, (*path, i)) for i, v in enumerate(value)]
    if value is None or isinstance(value, dict):  # an object's own @context is met by the walk
        return value
    raise _refuse(path, "a context must be an object, an array or null")


def verify(document: Any) -> None:
    """Check that nothing in ``document`` can make rdflib fetch: every context is an object or null.

    Independent of :func:`resolved`, which calls it last.

    Raises:
        CaseVocabularyError: the JSON path of the first ``@import`` or reference found.
    """
    stack: list[tuple[Any, Path]] = [(document, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            if "@import" in item:
                raise _refuse((*path, "@import"), "@import is not allowed in a case")
            if "@context" in item:
                members: list[tuple[Any, Path]] = [(item["@context"], (*path, "@context"))]
                while members:
                    member, where = members.pop()
                    if isinstance(member, list):
                        members.extend((m, (*where, i)) for i, m in enumerate(member))
                    elif not (member is None or isinstance(member, dict)):
                        raise _refuse(where, "a context must be an object or null")
            stack.extend((v, (*path, k)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(item))


NOT_A_DOCUMENT = (
    "a JSON-LD case is an object (compacted, or with @graph) or an array of node objects (expanded); "
    "this JSON is neither"
)


def parse_jsonld(payload: bytes) -> Graph:
    """Parse a JSON-LD case in any form into a graph (then sanitise it like any Turtle case).

    Raises:
        CaseParseError: not UTF-8, not JSON, neither an object nor an array, or not JSON-LD rdflib can read.
        CaseTooLarge: over the byte, nesting or triple limit.
        CaseVocabularyError: a context that is not the published one, or ``@import``.
    """
    with untrusted_input():
        data = resolved(decode_json(payload))
        if not isinstance(data, dict | list):
            raise CaseParseError(NOT_A_DOCUMENT)
        with parse_errors("JSON-LD"):
            return parse_jsonld_value(data, MAX_TRIPLES, CASE_BASE)
