"""Turtle intake (docs/threats.md A2, A5, C1, D1, D2): positions of syntax errors, limits, bodies that are
locations, the case-vocabulary allowlist, an immutable knowledge base, levels, and the case shapes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import RDF, XSD, Graph, Literal, URIRef

from reasoner import (
    CaseParseError,
    CaseShapeError,
    CaseTooLarge,
    CaseVocabularyError,
    KnowledgeBase,
    determine,
    parse_case,
)
from reasoner.intake.json_case.load import load_json
from reasoner.intake.json_case.to_rdf import to_graph
from reasoner.intake.turtle import MAX_CASE_BYTES, MAX_TRIPLES, normalise_level, parse_turtle
from reasoner.vocab import CASE_DATA, CV

from .conftest import EXAMPLES

SEED_BASE = CASE_DATA["sij-seed-neurectomy/"]
REQUEST = URIRef(str(SEED_BASE) + "request")

# --- watching for file and network access (docs/threats.md A1, A2) ------------------------------------

_EVENTS: list[list[tuple[str, str]]] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _EVENTS and event in ("open", "urllib.Request", "socket.connect", "http.client.connect", "subprocess.Popen"):
        _EVENTS[-1].append((event, str(args[0]) if args else ""))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it records only while a test is watching


def _watched(call: Callable[[], object]) -> tuple[BaseException | None, list[tuple[str, str]]]:
    """Run ``call``; return what it raised and the file/network events it caused.

    How long a refusal takes is measured by bench/hostile_input.py, not asserted here.
    """
    _EVENTS.append([])
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - the test inspects whatever escaped
        raised: BaseException | None = exc
    else:
        raised = None
    finally:
        events = _EVENTS.pop()
    return raised, events


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_graph(kb: KnowledgeBase, seed_json: bytes) -> Graph:
    """The seed case as case RDF (the JSON form mapped by json_case.to_rdf)."""
    return to_graph(load_json(seed_json), kb)


def _ttl(graph: Graph) -> bytes:
    out = graph.serialize(format="turtle", encoding="utf-8")
    assert isinstance(out, bytes)
    return out


def _edited(graph: Graph, edit: Callable[[Graph], None]) -> bytes:
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    edit(copy)
    return _ttl(copy)


@pytest.fixture(scope="module")
def seed_ttl(seed_graph: Graph) -> bytes:
    return _ttl(seed_graph)


def _parse_error(payload: bytes) -> CaseParseError:
    with pytest.raises(CaseParseError) as info:
        parse_turtle(payload)
    return info.value


# --- syntax errors: 1-based line and column --------------------------------------------------------

POSITIONS = [
    pytest.param(
        b"@prefix cv: <https://w3id.org/guideline-reasoner/case#> .\n\n  foo:bar <urn:p> <urn:o> .\n",
        3,
        3,
        id="unbound-prefix-indented-on-line-3",
    ),
    pytest.param(b"<urn:a> <urn:p> <urn:o> .\n<urn:b> <urn:p> <urn:o> %% .\n", 2, 25, id="junk-after-an-object"),
    pytest.param(b'<urn:a> <urn:p> "abc\ndef" .\n', 1, 21, id="newline-inside-a-short-string"),
    pytest.param(b"<urn:a> <urn:p> <urn:o>\n<urn:b> <urn:p> <urn:o> .\n", 2, 1, id="missing-dot-before-next-statement"),
    pytest.param(
        b"<urn:a> <urn:p> <urn:o> .\n<urn:b> <urn:p> <urn:o> .\n\t\tfoo:bar <urn:p> <urn:o> .\n", 3, 3, id="tabs"
    ),
    pytest.param('<urn:a> <urn:p> "Zoë" ; foo:bar <urn:o> .\n'.encode(), 1, 25, id="non-ascii-earlier-on-the-line"),
    pytest.param(
        '<urn:a> <urn:p> "Müller-Lüdenscheidt, Zoë" .\n  foo:bar <urn:p> <urn:o> .\n'.encode(),
        2,
        3,
        id="non-ascii-on-an-earlier-line",
    ),
    pytest.param(
        b"<urn:a> <urn:p> <urn:o> .\r\n<urn:b> <urn:p> <urn:o> .\r\n  foo:bar <urn:p> <urn:o> .\r\n",
        3,
        3,
        id="crlf-line-ends",
    ),
    # rdflib's parser fails on these with an assertion that says neither where nor why: Oxigraph's position
    pytest.param(b'<urn:a> <urn:p> "abc', 1, 17, id="unterminated-string-at-eof"),
    pytest.param(
        b'<urn:a> <urn:p> <urn:o> ;\n  <urn:q> "Jane Roe, born 1970', 2, 11, id="unterminated-string-on-line-2"
    ),
]


def test_a_syntax_error_rdflib_cannot_place_is_placed_without_quoting_the_case() -> None:
    err = _parse_error(b'<urn:a> <urn:p> <urn:o> ;\n  <urn:q> "Jane Roe, born 1970')
    assert str(err) == "line 2, column 11: the case is not valid Turtle"


@pytest.mark.parametrize(("payload", "line", "column"), POSITIONS)
def test_syntax_error_position(payload: bytes, line: int, column: int) -> None:
    err = _parse_error(payload)
    assert (err.line, err.column) == (line, column)
    assert err.reason
    assert str(err).startswith(f"line {line}, column {column}: ")


@pytest.mark.parametrize(("payload", "line", "column"), POSITIONS[:2])
def test_syntax_error_position_through_parse_case(payload: bytes, line: int, column: int, kb: KnowledgeBase) -> None:
    with pytest.raises(CaseParseError) as info:
        parse_case(payload, "turtle", kb)
    assert (info.value.line, info.value.column) == (line, column)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"<urn:a> <urn:p> <urn:unterminated\n", id="unterminated-iri"),
        pytest.param(b"<urn:a> <urn:p> _:b! .\n", id="bad-blank-node"),
        pytest.param(b"<urn:a> <urn:p> <urn:o> .\n<urn:b> <urn:p> <urn:unterminated", id="unterminated-iri-at-eof"),
    ],
)
def test_syntax_error_at_end_of_input_has_a_real_position(payload: bytes) -> None:
    err = _parse_error(payload)
    lines = payload.count(b"\n") + 1
    assert err.line is not None and 1 <= err.line <= lines
    assert err.column is not None and err.column >= 1


# --- limits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["turtle", "json"])
def test_two_megabyte_body_is_too_large(fmt: str, kb: KnowledgeBase) -> None:
    payload = b"# " + b"x" * 2_000_000 + b"\n" if fmt == "turtle" else b'{"id": "' + b"x" * 2_000_000 + b'"}'
    assert len(payload) > MAX_CASE_BYTES
    raised, _events = _watched(lambda: parse_case(payload, fmt, kb))  # type: ignore[arg-type]
    assert isinstance(raised, CaseTooLarge)


def _triples(n: int) -> bytes:
    return b"".join(b"<urn:s%d> <urn:p> <urn:o> .\n" % i for i in range(n))


def test_more_than_the_triple_cap_is_too_large(kb: KnowledgeBase) -> None:
    with pytest.raises(CaseTooLarge):
        parse_case(_triples(MAX_TRIPLES + 1), "turtle", kb)


def test_the_triple_cap_itself_is_allowed() -> None:
    assert len(parse_turtle(_triples(MAX_TRIPLES))) == MAX_TRIPLES


def test_fifty_thousand_triples_are_refused(kb: KnowledgeBase) -> None:
    raised, _events = _watched(lambda: parse_case(_triples(50_000), "turtle", kb))
    assert isinstance(raised, CaseTooLarge)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(
            b"<urn:a> <urn:p> " + b"[ <urn:p> " * 3000 + b"<urn:o>" + b" ]" * 3000 + b" .\n", id="blank-nodes"
        ),
        pytest.param(b"<urn:a> <urn:p> " + b"( " * 3000 + b")" * 3000 + b" .\n", id="collections"),
        pytest.param(b"<urn:a> <urn:p> " + b"[ <urn:p> " * 3000, id="blank-nodes-unclosed"),
    ],
)
def test_deep_nesting_is_refused_without_recursion_error(payload: bytes, kb: KnowledgeBase) -> None:
    # Oxigraph's parser does not recurse, so well-formed deep nesting parses and the vocabulary
    # check refuses it; rdflib's, which gets the malformed input, runs out of stack instead.
    raised, _events = _watched(lambda: parse_case(payload, "turtle", kb))
    assert isinstance(raised, CaseTooLarge | CaseParseError | CaseVocabularyError), repr(raised)
    # the interpreter is still healthy afterwards
    assert len(parse_turtle(b"<urn:a> <urn:p> [ <urn:p> [ <urn:p> <urn:o> ] ] .\n")) == 3


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"<urn:a> <urn:p> " + b"9" * 100_000 + b" .\n", id="integer"),
        pytest.param(b"<urn:a> <urn:p> -" + b"9" * 100_000 + b" .\n", id="negative-integer"),
    ],
)
def test_hundred_thousand_digit_integer_is_a_parse_error(payload: bytes, kb: KnowledgeBase) -> None:
    raised, _events = _watched(lambda: parse_case(payload, "turtle", kb))
    assert isinstance(raised, CaseParseError), repr(raised)[:200]
    assert "9999" not in str(raised)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'<urn:a> <urn:p> "\xff\xfe" .\n', id="invalid-bytes"),
        pytest.param(b'<urn:a> <urn:p> "caf\xc3" .\n', id="truncated-sequence"),
        pytest.param(b"<urn:a> <urn:p> <urn:o> .\n<urn:\xe9> <urn:p> <urn:o> .\n", id="latin-1-in-iri"),
    ],
)
def test_invalid_utf8_is_a_parse_error(payload: bytes, kb: KnowledgeBase) -> None:
    with pytest.raises(CaseParseError):
        parse_case(payload, "turtle", kb)


# --- a body that is a location is never opened (docs/threats.md A2) ------------------------------------


@pytest.mark.parametrize("fmt", ["turtle", "json"])
@pytest.mark.parametrize("kind", ["http-url", "abs-path", "file-url", "etc-hostname", "file-etc-hostname", "dash"])
def test_a_location_as_body_is_never_read(kind: str, fmt: str, kb: KnowledgeBase, tmp_path: Path) -> None:
    secret = tmp_path / "secret.ttl"
    secret.write_text('<urn:s> <urn:p> "FILE-CONTENT-CANARY" .\n', encoding="utf-8")
    body = {
        "http-url": "http://127.0.0.1:9/case.ttl",
        "abs-path": str(secret),
        "file-url": secret.as_uri(),
        "etc-hostname": "/etc/hostname",
        "file-etc-hostname": "file:///etc/hostname",
        "dash": "-",
    }[kind].encode()
    raised, events = _watched(lambda: parse_case(body, fmt, kb))  # type: ignore[arg-type]
    assert isinstance(raised, CaseParseError), repr(raised)
    message = str(raised)
    assert "FILE-CONTENT-CANARY" not in message
    hostname = Path("/etc/hostname")
    if hostname.is_file():
        content = hostname.read_text(errors="replace").strip()
        if len(content) >= 4:
            assert content not in message
    touched = [(e, a) for e, a in events if e != "open" or "secret" in a or "hostname" in a or a in ("0", "-")]
    assert touched == []


# --- semantic injection (docs/threats.md C1, D1, D2) ---------------------------------------------------

INJECTION_PREFIXES = """
@prefix cv: <https://w3id.org/guideline-reasoner/case#> .
@prefix gr: <https://w3id.org/guideline-reasoner/core#> .
@prefix case: <https://w3id.org/guideline-reasoner/case-data/sij-seed-neurectomy/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""

INJECTIONS = {
    "case-subclass-of": "cv:Case rdfs:subClassOf cv:PriorProcedure .",
    "subclass-of-case": "<urn:evil:Thing> rdfs:subClassOf cv:Case .",
    "same-as": "case:procedure-1 owl:sameAs case:procedure-3 .",
    "same-as-kb-code": "case:line-1 owl:sameAs <https://w3id.org/guideline-reasoner/code/cpt/27096> .",
    "node-shape": (
        '<urn:evil:shape> a sh:NodeShape ; sh:targetClass cv:Case ; sh:message "CANARY-SHAPE-MESSAGE" ;'
        " sh:property [ sh:path cv:request ; sh:maxCount 0 ] ."
    ),
    "foreign-predicate": "case:request <http://example.org/eligible> true .",
    "rdfs-label": 'case:request rdfs:label "approved" .',
    "foreign-class": "case:request a <http://xmlns.com/foaf/0.1/Person> .",
    "kb-class": "case:request a gr:Policy .",
    "kb-subject-code": '<https://w3id.org/guideline-reasoner/code/cpt/64772> cv:identifier "covered"^^xsd:string .',
    "kb-subject-policy": (
        "<https://w3id.org/guideline-reasoner/kb/sij-clinical-pathway> cv:code"
        " <https://w3id.org/guideline-reasoner/code/cpt/64772> ."
    ),
    "kb-subject-vocabulary": 'cv:Bilateral cv:identifier "x"^^xsd:string .',
    "kb-subject-procedure-class": (
        "<https://w3id.org/guideline-reasoner/procedure#SacralLateralBranchBlock> cv:code"
        " <https://w3id.org/guideline-reasoner/code/cpt/64772> ."
    ),
}


def _inject(seed_ttl: bytes, snippet: str) -> bytes:
    return seed_ttl + (INJECTION_PREFIXES + snippet + "\n").encode()


def test_seed_as_turtle_gives_the_json_answer(kb: KnowledgeBase, seed_json: bytes, seed_ttl: bytes) -> None:
    from_json = determine(seed_json, "json", kb)
    from_ttl = determine(seed_ttl, "turtle", kb)
    assert from_ttl.outcome.value == from_json.outcome.value == "not-medically-necessary"
    assert [(c.id, c.status) for c in from_ttl.criteria] == [(c.id, c.status) for c in from_json.criteria]


def test_injection_base_with_only_prefixes_is_accepted(kb: KnowledgeBase, seed_ttl: bytes) -> None:
    """The appended prefix block alone is harmless, so each injection test fails only on its own triple."""
    assert determine(_inject(seed_ttl, ""), "turtle", kb).outcome.value == "not-medically-necessary"


@pytest.mark.parametrize("name", sorted(INJECTIONS))
def test_injection_is_refused(name: str, kb: KnowledgeBase, seed_ttl: bytes) -> None:
    with pytest.raises(CaseVocabularyError) as info:
        determine(_inject(seed_ttl, INJECTIONS[name]), "turtle", kb)
    assert "CANARY-SHAPE-MESSAGE" not in str(info.value)


def test_same_as_chain_is_refused(kb: KnowledgeBase, seed_ttl: bytes) -> None:
    chain = " ".join(f"<urn:n{i}> owl:sameAs <urn:n{i + 1}> ." for i in range(200))
    raised, _events = _watched(lambda: determine(_inject(seed_ttl, chain), "turtle", kb))
    assert isinstance(raised, CaseVocabularyError)


def test_knowledge_base_is_unchanged_by_attacks_and_determinations(
    kb: KnowledgeBase, seed_json: bytes, seed_ttl: bytes
) -> None:
    digest, content = kb.graph_digest(), kb.content_hash
    sizes = (len(kb.ontology), len(kb.shapes))
    for snippet in INJECTIONS.values():
        with pytest.raises(CaseVocabularyError):
            determine(_inject(seed_ttl, snippet), "turtle", kb)
    assert kb.graph_digest() == digest
    first = {fmt: determine(body, fmt, kb) for fmt, body in (("json", seed_json), ("turtle", seed_ttl))}
    for i in range(20):
        fmt, body = ("json", seed_json) if i % 2 else ("turtle", seed_ttl)
        d = determine(body, fmt, kb)  # type: ignore[arg-type]
        assert d.model_dump() == first[fmt].model_dump()
        assert d.knowledgeBase == content
    assert kb.graph_digest() == digest
    assert (len(kb.ontology), len(kb.shapes)) == sizes
    assert kb.content_hash == content


# --- levels ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L4-5", "L4-L5"),
        ("L4-L5", "L4-L5"),
        ("l4-5", "L4-L5"),
        ("s1", "S1"),
        ("S1", "S1"),
        (" L5-S1 ", "L5-S1"),
        ("L05", "L5"),
        ("C7-T1", "C7-T1"),
        ("X9", None),
        ("", None),
        ("L4-5-6", None),
        ("L", None),
        ("4-5", None),
    ],
)
def test_normalise_level(text: str, expected: str | None) -> None:
    assert normalise_level(text) == expected


def test_turtle_levels_are_normalised(kb: KnowledgeBase, seed_graph: Graph) -> None:
    def edit(g: Graph) -> None:
        g.remove((REQUEST, CV.level, None))
        g.add((REQUEST, CV.level, Literal("l4-5", datatype=XSD.string)))
        g.add((REQUEST, CV.level, Literal("s1")))

    graph = parse_case(_edited(seed_graph, edit), "turtle", kb).graph
    assert sorted(str(v) for v in graph.objects(REQUEST, CV.level)) == ["L4-L5", "S1"]


# --- well-formedness shapes -----------------------------------------------------------------------


def _shape_problems(payload: bytes, kb: KnowledgeBase) -> list[tuple[str, str]]:
    with pytest.raises(CaseShapeError) as info:
        parse_case(payload, "turtle", kb)
    assert info.value.problems
    return info.value.problems


def test_request_without_date_is_a_shape_error(kb: KnowledgeBase, seed_graph: Graph) -> None:
    problems = _shape_problems(_edited(seed_graph, lambda g: g.remove((REQUEST, CV.date, None))), kb)
    assert any("ServiceRequest" in where and "cv:date" in what for where, what in problems), problems


def _procedure_3() -> URIRef:
    return URIRef(str(SEED_BASE) + "procedure-3")


def test_percent_relief_over_100_is_a_shape_error(kb: KnowledgeBase, seed_graph: Graph) -> None:
    payload = _edited(seed_graph, lambda g: g.set((_procedure_3(), CV.percentRelief, Literal(Decimal(150)))))
    problems = _shape_problems(payload, kb)
    # Locations name the kind of node and its ordinal, never the submitted IRI (it may carry identifiers).
    assert (
        "PriorProcedure 3 of 5",
        "cv:percentRelief of a PriorProcedure: expected percent relief, 0 to 100.",
    ) in problems
    assert all("procedure-3" not in where for where, _what in problems)


@pytest.mark.parametrize(
    "literal",
    [
        pytest.param('"NaN"^^<http://www.w3.org/2001/XMLSchema#double>', id="double-NaN"),
        pytest.param('"NaN"^^<http://www.w3.org/2001/XMLSchema#decimal>', id="decimal-NaN"),
        pytest.param('"-INF"^^<http://www.w3.org/2001/XMLSchema#double>', id="double-minus-INF"),
    ],
)
def test_non_finite_percent_relief_is_refused_as_input_error(
    literal: str, kb: KnowledgeBase, seed_graph: Graph
) -> None:
    payload = _edited(seed_graph, lambda g: g.remove((_procedure_3(), CV.percentRelief, None)))
    payload += f"\n<{_procedure_3()}> <{CV.percentRelief}> {literal} .\n".encode()
    raised, _events = _watched(lambda: parse_case(payload, "turtle", kb))
    assert isinstance(raised, CaseShapeError), repr(raised)
    assert ("cv:percentRelief", "a number must be finite (not NaN or infinity)") in raised.problems


def test_units_zero_is_a_shape_error(kb: KnowledgeBase, seed_graph: Graph) -> None:
    line = URIRef(str(SEED_BASE) + "line-1")
    problems = _shape_problems(_edited(seed_graph, lambda g: g.set((line, CV.units, Literal(0)))), kb)
    assert any("RequestLine" in where and "cv:units" in what for where, what in problems), problems


def test_request_without_lines_is_a_shape_error(kb: KnowledgeBase, seed_graph: Graph) -> None:
    problems = _shape_problems(_edited(seed_graph, lambda g: g.remove((REQUEST, CV.line, None))), kb)
    assert any("ServiceRequest" in where and "cv:line" in what for where, what in problems), problems


def test_two_cases_in_one_payload_are_refused(kb: KnowledgeBase, seed_graph: Graph) -> None:
    problems = _shape_problems(_edited(seed_graph, lambda g: g.add((URIRef("urn:other:case"), RDF.type, CV.Case))), kb)
    assert any("Case" in what or "case" in where for where, what in problems)


@pytest.mark.parametrize(
    ("why", "safe"),
    [
        ('Prefix "Jane-Doe:" not bound', 'Prefix "…" not bound'),
        (
            "With no base URI, cannot use relative URI in @prefix <mrn-123>",
            "With no base URI, cannot use relative URI in @prefix <…>",
        ),
        ("Variable name can't start with 'J'", "Variable name can't start with '…'"),
        ("expected '.' or '}' or ']' at end of statement", "expected '.' or '}' or ']' at end of statement"),
    ],
)
def test_parser_reasons_quote_nothing_from_the_input(why: str, safe: str) -> None:
    from reasoner._rdf.turtle import safe_reason

    assert safe_reason(why) == safe


def test_nodes_the_case_does_not_link_are_dropped(kb: KnowledgeBase, seed_graph: Graph) -> None:
    stray = URIRef("urn:stray:block")
    payload = (
        seed_graph.serialize(format="turtle", encoding="utf-8")
        + (
            f"\n<{stray}> a <{CV.PriorProcedure}> ; <{CV.code}> <https://w3id.org/guideline-reasoner/code/cpt/64451> ;"
            f" <{CV.percentRelief}> 95 .\n"
        ).encode()
    )
    case = parse_case(payload, "turtle", kb).graph
    assert (stray, None, None) not in case
    d = determine(payload, "turtle", kb)
    assert all("95 %" not in f.text for c in d.criteria for f in c.facts)


def test_the_fast_turtle_parser_gives_rdflibs_graph(kb: KnowledgeBase) -> None:
    from rdflib.compare import isomorphic

    from reasoner.intake.turtle import sanitise

    # RDF 1.1 makes "x" and "x"^^xsd:string one term; Oxigraph writes both as "x", rdflib keeps
    # the difference, and sanitising gives string-ranged properties xsd:string either way.
    for path in sorted(EXAMPLES.glob("*.ttl")):
        text = path.read_bytes()
        ours, theirs = parse_turtle(text), Graph().parse(data=text, format="turtle")
        assert isomorphic(sanitise(ours, kb), sanitise(theirs, kb)), path.name
    odd = b'<urn:a> <urn:p> "plain", "tagged"@en, "5"^^<http://www.w3.org/2001/XMLSchema#integer>, [ <urn:q> 1.5 ] .'
    assert isomorphic(parse_turtle(odd), Graph().parse(data=odd, format="turtle"))
    plain = next(o for o in parse_turtle(odd).objects() if str(o) == "plain")
    assert plain.datatype is None  # as rdflib's parser makes it, not xsd:string


RELATIVE_TURTLE = b"""@prefix case: <pat/> .
@prefix cv: <https://w3id.org/guideline-reasoner/case#> .
case:case a cv:Case ; cv:identifier "r" .
<> cv:identifier "s" .
"""


@pytest.mark.parametrize("parser", ["oxigraph", "rdflib"])
def test_relative_iris_in_a_turtle_case_never_name_the_working_folder(
    parser: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reasoner.intake.turtle as intake

    monkeypatch.chdir(tmp_path)
    if parser == "rdflib":  # the fallback, taken when Oxigraph refuses a document
        monkeypatch.setattr(intake, "_parse_with_oxigraph", lambda text: None)
    subjects = set(parse_turtle(RELATIVE_TURTLE).subjects())
    assert subjects == {URIRef(f"{CASE_DATA}pat/case"), URIRef(str(CASE_DATA))}


def test_relative_iris_in_a_json_ld_case_never_name_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reasoner.intake.jsonld import CONTEXT_URL, parse_jsonld

    monkeypatch.chdir(tmp_path)
    document = {"@context": CONTEXT_URL, "@id": "pat/case", "@type": "cv:Case"}
    graph = parse_jsonld(json.dumps(document).encode())
    assert set(graph.subjects()) == {URIRef(f"{CASE_DATA}pat/case")}
