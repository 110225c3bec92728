"""Parsing and vetting a SPARQL query, through rdflib's parser and algebra (reasoner/_rdf/sparql.py).

``prepare`` parses a query and refuses anything that is not a plain read of the knowledge base
(docs/threats.md B1-B3: only SELECT, ASK, CONSTRUCT and DESCRIBE; no SERVICE anywhere; no FROM or FROM
NAMED). It runs in a query process (reasoner/sparql/worker.py), never in the server, which only
checks the size (``check_size``). A syntax error is reported with its line and column, worked out
here from pyparsing's exception, and at most a short excerpt of the query near it; an update sent
as a query is told that the endpoint is read-only. ``formats``: the media types each form's result
may be written as.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal, TypeAlias

from pyparsing import ParseBaseException

from reasoner._rdf.sparql import CompValue, Query, expand_unicode_escapes, parse_query, unicode_escapes
from reasoner.errors import QueryRejected, UpdateRefused
from reasoner.sparql.formats import GRAPH_TYPES, TABLE_TYPES

MAX_QUERY_CHARS = 20_000
MAX_QUERY_BYTES = 20_000  # UTF-8: multibyte text cannot make a query bigger than the character cap allows
QueryForm = Literal["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"]
FORMS: tuple[QueryForm, ...] = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
ALLOWED: dict[str, QueryForm] = {
    "SelectQuery": "SELECT",
    "AskQuery": "ASK",
    "ConstructQuery": "CONSTRUCT",
    "DescribeQuery": "DESCRIBE",
}
# For each query form, the media types its result may be written as, in the client's order of
# preference (empty: the client accepts none of the form's formats).
MediaTypes: TypeAlias = Mapping[QueryForm, Sequence[str] | str | None]
EXCERPT_CHARS = 20  # of the query, from a syntax error's position: enough to find it, never the query
_UPDATE = re.compile(  # possessive: a comment runs to its line's end, and nothing is tried twice
    r"(?:\s|#[^\n\r]*+|BASE\s*+<[^<>]*+>|PREFIX\s*+[^\s:]*+:\s*+<[^<>]*+>)*+"  # the prologue and comments
    r"(?:INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|COPY|MOVE|WITH)\b",
    re.IGNORECASE,
)


def check_size(text: str) -> None:
    """Refuse a query over the size caps, before anything else is done with it.

    Raises:
        QueryRejected: naming the limit.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRejected(f"the query is longer than {MAX_QUERY_CHARS} characters")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_QUERY_BYTES:
        raise QueryRejected(f"the query is larger than {MAX_QUERY_BYTES} bytes in UTF-8")


def prepare(text: str) -> tuple[QueryForm, Query]:
    """Parse a query and refuse anything that is not a plain read of the knowledge base.

    Runs in the query process: parsing can take seconds, and only a process can be stopped. It
    takes a lock all the same, because rdflib's parser is not thread-safe (docs/threats.md E1) and
    tools and tests call it in threaded processes.

    Returns:
        The query form and the translated query, ready to run.

    Raises:
        QueryRejected: naming the reason (size, syntax with line and column, form, FROM, SERVICE).
        UpdateRefused: the text is a SPARQL Update.
    """
    check_size(text)
    try:
        query = parse_query(text)  # under the lock of the parser pyshacl uses too (reasoner/_rdf/lock.py)
    except ParseBaseException as exc:  # its message quotes the query: only the position is used
        if _UPDATE.match(text):
            raise UpdateRefused() from None
        raise _syntax_error(text, exc) from None
    except RecursionError:
        raise QueryRejected(
            "not a valid SPARQL 1.1 query: it is nested too deeply for the parser; " + _ONLY_QUERIES
        ) from None
    except Exception:  # noqa: BLE001 - an invalid escape, or a rule of the algebra broken
        raise QueryRejected("not a valid SPARQL 1.1 query; " + _ONLY_QUERIES) from None
    form = ALLOWED.get(query.algebra.name)
    if form is None:
        raise QueryRejected("only SELECT, ASK, CONSTRUCT and DESCRIBE queries are accepted")
    if query.algebra.get("datasetClause"):
        raise QueryRejected("FROM and FROM NAMED are not allowed: the endpoint queries the knowledge base only")
    if _has_service(query.algebra):
        raise QueryRejected("SERVICE is not allowed: the endpoint does not query other endpoints")
    return form, query


_ONLY_QUERIES = "only SELECT, ASK, CONSTRUCT and DESCRIBE are accepted (no updates)"


def _syntax_error(text: str, exc: ParseBaseException) -> QueryRejected:
    r"""The error at pyparsing's position, as a line and column of the text the client sent.

    pyparsing reports a position in the text it parsed, in which rdflib expanded the \u escapes
    and pyparsing every tab (to the next multiple of 8); both are undone here.
    """
    raw = _raw_offset(text, _untabbed_offset(expand_unicode_escapes(text), exc.loc))
    line = text.count("\n", 0, raw) + 1
    column = raw - (text.rfind("\n", 0, raw) + 1) + 1
    shown = text[raw : raw + EXCERPT_CHARS].split("\n")[0].rstrip()
    excerpt = "".join(c if c.isprintable() else f"\\u{ord(c):04X}" for c in shown)
    if not text[raw:].strip():
        near = "at the end of the query"
    else:
        near = f"near '{excerpt}'" if excerpt else "at the end of the line"
    return QueryRejected(
        f"not a valid SPARQL 1.1 query: syntax error at line {line}, column {column}, {near}; " + _ONLY_QUERIES,
        line,
        column,
    )


def _untabbed_offset(tabbed: str, loc: int) -> int:
    """The offset in ``tabbed`` of the character at ``loc`` in ``tabbed.expandtabs()``."""
    position = column = 0
    for i, char in enumerate(tabbed):
        if position >= loc:
            return i
        width = 8 - column % 8 if char == "\t" else 1
        position += width
        column = 0 if char in "\n\r" else column + width
    return len(tabbed)


def _raw_offset(text: str, offset: int) -> int:
    r"""The offset in ``text`` of the character at ``offset`` once its \u escapes are expanded."""
    shift = 0
    for match in unicode_escapes.finditer(text):
        if match.start() - shift >= offset:
            break
        shift += len(match.group()) - 1
    return min(offset + shift, len(text))


def vet(text: str) -> QueryForm:
    """The form of a query the endpoint would run (``prepare`` without the query).

    Raises:
        QueryRejected: as ``prepare``.
    """
    return prepare(text)[0]


def formats(form: QueryForm) -> tuple[str, ...]:
    """The media types a result of ``form`` can be written as, in the server's order of preference.

    An ASK takes the table formats too: CSV and TSV as Apache Jena writes a boolean (``sparql_formats``).
    """
    return GRAPH_TYPES if form in ("CONSTRUCT", "DESCRIBE") else TABLE_TYPES


def _has_service(node: object) -> bool:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, CompValue):
            if item.name == "ServiceGraphPattern":
                return True
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return False
