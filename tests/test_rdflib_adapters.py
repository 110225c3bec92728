"""The rdflib internals reasoner/_rdf relies on, held to the shape it relies on.

Each test names the internal it holds: an rdflib upgrade that moves, renames or changes one fails
here, by name, and not in a determination. ``tests/test_terms.py`` holds ``Literal``'s private
slots (``_rdf/terms.py``) and ``tests/test_case_store.py`` the case store; what is left is here.
"""

from __future__ import annotations

import inspect
import re
import sys

import pytest
from pyparsing import ParseBaseException
from rdflib import XSD, Graph, Literal, URIRef

from reasoner._rdf import jsonld, parsers, sparql, turtle_writer
from reasoner._rdf.lock import THIRD_PARTY_LOCK
from reasoner._rdf.turtle import syntax_error_position, syntax_error_reason
from reasoner.errors import CaseTooLarge

EX = "http://example.org/"


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]  # a callable


# --- _rdf/turtle.py: BadSyntax's _i, _str and _why ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "why"),
    [
        (f"@prefix ex: <{EX}> .\nex:a ex:b ex:c ;\n   ex:d ] .\n", (3, 8), "objectList expected"),
        (
            f'@prefix ex: <{EX}> .\r\nex:a ex:b "x" \r\n ex:c .',
            (3, 2),
            "expected '.' or '}' or ']' at end of statement",
        ),
    ],
)
def test_bad_syntax_keeps_offset_text_and_reason(text: str, where: tuple[int, int], why: str) -> None:
    with pytest.raises(SyntaxError) as caught:
        Graph().parse(data=text, format="turtle")
    exc = caught.value
    assert type(exc).__name__ == "BadSyntax"
    assert isinstance(exc._i, int)  # type: ignore[attr-defined]  # BadSyntax's own
    assert isinstance(exc._str, bytes | str)  # type: ignore[attr-defined]
    assert syntax_error_position(exc) == where
    assert syntax_error_reason(exc) == why


def test_another_syntax_error_has_no_position_or_reason() -> None:
    assert syntax_error_position(SyntaxError("x")) is None
    assert syntax_error_reason(SyntaxError("x")) is None


# --- _rdf/jsonld.py: Memory.add and PythonInputSource ---------------------------------------------


def test_memory_add_takes_triple_context_quoted() -> None:
    from rdflib.plugins.stores.memory import Memory

    assert _parameters(Memory.add) == ["self", "triple", "context", "quoted"]
    assert inspect.signature(Memory.add).parameters["quoted"].default is False
    assert _parameters(Memory.__init__)[1:2] == ["configuration"]  # called with no argument
    assert not {"_cap", "_count"} & set(vars(Memory()))  # the subclass's own attributes shadow nothing


def test_memory_is_context_aware() -> None:  # why the JSON-LD parser needs it, not the case store
    assert jsonld.CappedMemory(1).context_aware


def test_python_input_source_parses_a_decoded_document() -> None:
    from rdflib.parser import PythonInputSource

    assert _parameters(PythonInputSource.__init__)[1:2] == ["data"]
    graph = jsonld.parse_jsonld_value([{"@id": f"{EX}a", f"{EX}p": [{"@value": "x"}]}], 5, f"{EX}")
    assert set(graph) == {(URIRef(f"{EX}a"), URIRef(f"{EX}p"), Literal("x"))}


def test_a_relative_iri_resolves_against_the_base_given() -> None:
    graph = jsonld.parse_jsonld_value({"@id": "a/b", f"{EX}p": [{"@value": "x"}]}, 5, f"{EX}base/")
    assert set(graph.subjects()) == {URIRef(f"{EX}base/a/b")}


def test_the_capped_memory_refuses_past_its_cap() -> None:
    document = {"@id": f"{EX}a", f"{EX}p": [{"@value": "x"}, {"@value": "y"}, {"@value": "z"}]}
    assert len(jsonld.parse_jsonld_value(document, 3, f"{EX}")) == 3
    with pytest.raises(CaseTooLarge, match="more than 2 triples"):
        jsonld.parse_jsonld_value(document, 2, f"{EX}")


# --- _rdf/parsers.py: lazily imported parser modules ----------------------------------------------


def test_the_parser_warm_up_imports_what_the_json_ld_parser_imports_lazily() -> None:
    parsers.warm_up_parsers()
    assert {"rdflib.plugins.shared.jsonld.context", "rdflib.plugins.shared.jsonld.util"} <= set(sys.modules)
    from rdflib import plugin
    from rdflib.parser import Parser

    for name in parsers.CASE_FORMATS:
        assert issubclass(plugin.get(name, Parser), Parser)


# --- _rdf/sparql.py: the parser, the algebra, the escapes, SPARQL_LOAD_GRAPHS ----------------------


def test_the_parser_raises_pyparsing_errors_with_a_location() -> None:
    from rdflib.plugins.sparql.parser import parseQuery

    with pytest.raises(ParseBaseException) as caught:
        parseQuery("SELECT * WHERE { ?s ?p }")
    assert caught.value.loc == 17
    with pytest.raises(ParseBaseException):
        sparql.parse_query("SELECT * WHERE { ?s ?p }")


def test_the_translated_query_is_a_query_of_comp_values() -> None:
    query = sparql.parse_query(f"SELECT * FROM <{EX}g> WHERE {{ SERVICE <{EX}s> {{ ?s ?p ?o }} }}")
    assert isinstance(query, sparql.Query)
    assert isinstance(query.algebra, sparql.CompValue)
    assert query.algebra.name == "SelectQuery"
    assert query.algebra.get("datasetClause")
    names: list[str] = []
    stack: list[object] = [query.algebra]
    while stack:
        item = stack.pop()
        if isinstance(item, sparql.CompValue):
            names.append(item.name)
            stack.extend(item.values())
    assert "ServiceGraphPattern" in names
    for form, name in (("ASK {}", "AskQuery"), ("CONSTRUCT {} WHERE {}", "ConstructQuery")):
        assert sparql.parse_query(form).algebra.name == name
    assert sparql.parse_query("DESCRIBE <x:y>").algebra.name == "DescribeQuery"


def test_the_parse_takes_the_third_party_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    held: list[bool] = []
    original = sparql.parseQuery

    def spy(text: str) -> object:
        held.append(THIRD_PARTY_LOCK._is_owned())  # type: ignore[attr-defined]  # RLock's own, for this test
        return original(text)

    monkeypatch.setattr(sparql, "parseQuery", spy)
    sparql.parse_query("ASK {}")
    assert held == [True]


def test_unicode_escapes_are_expanded_as_the_pattern_finds_them() -> None:
    text = r"SELECT ?\u0061 WHERE { ?s ?p '\U0001F600' }"
    assert sparql.expand_unicode_escapes(text) == "SELECT ?a WHERE { ?s ?p '\U0001f600' }"
    assert isinstance(sparql.unicode_escapes, re.Pattern)
    assert [m.group() for m in sparql.unicode_escapes.finditer(text)] == [r"\u0061", r"\U0001F600"]


def test_sparql_load_graphs_is_a_switch_of_rdflib_and_is_off_once_reasoner_sparql_is_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import rdflib.plugins.sparql as rdflib_sparql

    import reasoner.sparql  # noqa: F401 - its import switches it off

    assert rdflib_sparql.SPARQL_LOAD_GRAPHS is False
    monkeypatch.setattr(rdflib_sparql, "SPARQL_LOAD_GRAPHS", True)
    sparql.never_load_graphs()
    assert rdflib_sparql.SPARQL_LOAD_GRAPHS is False


def test_a_query_worker_switches_graph_loading_off_before_it_runs_a_query(monkeypatch: pytest.MonkeyPatch) -> None:
    import rdflib.plugins.sparql as rdflib_sparql
    from rdflib import Dataset

    from reasoner.sparql import worker
    from reasoner.sparql.formats import JSON

    monkeypatch.setattr(worker, "_GRAPH", Dataset())
    monkeypatch.setattr(rdflib_sparql, "SPARQL_LOAD_GRAPHS", True)
    reply = worker._answer("ASK { ?s ?p ?o }", {"ASK": [JSON]}, 10)
    assert reply[0] == "ok"
    assert rdflib_sparql.SPARQL_LOAD_GRAPHS is False


# --- _rdf/turtle_writer.py: TurtleSerializer, _GEN_QNAME_FOR_DT, Literal._literal_n3 ---------------


def test_the_turtle_serializer_has_the_hooks_the_writer_overrides() -> None:
    from rdflib.plugins.serializers.turtle import _GEN_QNAME_FOR_DT, TurtleSerializer

    assert isinstance(_GEN_QNAME_FOR_DT, bool)
    assert _parameters(TurtleSerializer.__init__) == ["self", "store"]
    assert _parameters(TurtleSerializer.label) == ["self", "node", "position"]
    assert _parameters(TurtleSerializer.get_pname)[:3] == ["self", "uri", "gen_prefix"]
    assert "_bare" not in vars(TurtleSerializer(Graph()))  # the subclass's own attribute shadows nothing


def test_literal_n3_takes_a_qname_callback() -> None:
    assert "qname_callback" in _parameters(Literal._literal_n3)
    three = Literal("3", datatype=XSD.decimal)
    assert three._literal_n3(qname_callback=lambda dt: "xsd:decimal") == '"3"^^xsd:decimal'
    assert three._literal_n3() == f'"3"^^<{XSD.decimal}>'


def test_the_faithful_writer_writes_bare_only_its_own_lexical_form() -> None:
    graph = Graph()
    graph.bind("xsd", str(XSD))
    subject = URIRef(f"{EX}a")
    graph.add((subject, URIRef(f"{EX}p"), Literal("3", datatype=XSD.decimal)))
    graph.add((subject, URIRef(f"{EX}q"), Literal("3.5", datatype=XSD.decimal)))
    graph.add((subject, URIRef(f"{EX}r"), Literal("x")))
    text = turtle_writer.turtle_bytes(graph, {XSD.decimal: re.compile(r"[+-]?[0-9]*\.[0-9]+")}).decode()
    assert '"3"^^xsd:decimal' in text and " 3.5 " in text and '"x"' in text
    assert "3.0" not in text  # rdflib's own writes 3.0, another term
    assert Graph().parse(data=text, format="turtle").isomorphic(graph)
