"""The intake stage: bytes in an explicit format -> a sanitised case graph.

Defensive from the first line (docs/threats.md A1, A2, A5, C1, C3, D1, D2): payloads are bytes with
an explicit format, never a string that could be taken for a path or URL; UTF-8 only, in every
format (:func:`decode_utf8`); size, triple, nesting and number limits; parsing runs under
``untrusted.untrusted_input`` (no file, network or process access); a case may use only the case
vocabulary (so it cannot carry rdfs:subClassOf, owl: or sh: triples that would change its own
answer); Turtle cases are checked against shapes/case.ttl. Error messages give locations, never
the submitted values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Literal

import pyoxigraph as oxigraph
from rdflib import OWL, RDF, RDFS, SH, XSD, Graph
from rdflib import Literal as RDFLiteral
from rdflib.namespace import SKOS
from rdflib.term import BNode, Node, URIRef

from reasoner._rdf.case_store import adder, new_case_graph
from reasoner._rdf.turtle import TurtleSyntaxError, safe_reason, turtle_syntax_errors
from reasoner.errors import CaseError, CaseParseError, CaseShapeError, CaseTooLarge, CaseVocabularyError
from reasoner.intake.diagnosis_codes import refused_diagnoses
from reasoner.intake.limits import untrusted_input
from reasoner.numbers import NUMERIC_DATATYPES, number_problem
from reasoner.vocab import CASE_BASE, CV, GR, KB_NAMESPACES

if TYPE_CHECKING:
    from reasoner.knowledge.base import KnowledgeBase

CaseFormat = Literal["turtle", "json", "json-ld", "fhir"]
MAX_CASE_BYTES = 1_000_000
MAX_TRIPLES = 20_000  # a record of about 2,000 history items
MAX_JSON_DEPTH = 32
_LEVEL = re.compile(r"^([CTLS])(\d{1,2})(?:-([CTLS])?(\d{1,2}))?$")


def check_size(payload: bytes) -> None:
    """Refuse payloads over the byte limit."""
    if len(payload) > MAX_CASE_BYTES:
        raise CaseTooLarge(f"the case is {len(payload)} bytes; the limit is {MAX_CASE_BYTES}")


UTF8_BOM = b"\xef\xbb\xbf"
NOT_UTF8 = "the case is not valid UTF-8"


def decode_utf8(payload: bytes) -> str:
    """The text of a case in any format: UTF-8, a leading byte order mark ignored.

    Anything else is refused, UTF-16 and UTF-32 included (with or without their byte order mark:
    without one, their ASCII characters carry NUL bytes, which UTF-8 text of a case never holds).

    Raises:
        CaseParseError: "not valid UTF-8", with the line and column of the first offending byte.
    """
    start = len(UTF8_BOM) if payload.startswith(UTF8_BOM) else 0
    try:
        text = payload[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(payload, start + exc.start) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise _not_utf8(payload, start + len(text[:nul].encode("utf-8")))
    return text


def _not_utf8(payload: bytes, offset: int) -> CaseParseError:
    line_start = payload.rfind(b"\n", 0, offset) + 1
    before = payload[line_start:offset]
    if line_start == 0 and before.startswith(UTF8_BOM):
        before = before[len(UTF8_BOM) :]
    column = len(before.decode("utf-8", "replace")) + 1
    return CaseParseError(NOT_UTF8, line=payload.count(b"\n", 0, offset) + 1, column=column)


def parse_turtle(payload: bytes) -> Graph:
    """Parse a Turtle case (bytes, never a location); a relative IRI resolves against ``CASE_BASE``.

    Raises:
        CaseParseError: with 1-based line and column and the parser's reason; not UTF-8.
        CaseTooLarge: over the byte or triple limit, or nested too deeply.
    """
    check_size(payload)
    with untrusted_input(), parse_errors("Turtle"):
        text = decode_utf8(payload)
        fast = _parse_with_oxigraph(text)
        if fast is not None:
            return fast
        graph = new_case_graph(MAX_TRIPLES)
        try:
            with turtle_syntax_errors():
                graph.parse(data=text, format="turtle", publicID=CASE_BASE)
        except TurtleSyntaxError as exc:
            line, column = (exc.line, exc.column) if exc.line is not None else _syntax_error_at(text) or (None, None)
            raise CaseParseError(safe_reason(exc.reason or "syntax error"), line=line, column=column) from None
        except (AssertionError, IndexError):  # rdflib's own checks: they say neither where nor why without quoting
            where = _syntax_error_at(text)
            if where is None:
                raise  # parse_errors answers for it
            raise CaseParseError("the case is not valid Turtle", line=where[0], column=where[1]) from None
    return graph


def _syntax_error_at(text: str) -> tuple[int, int] | None:
    """The line and column (from 1) of the first syntax error Oxigraph's Turtle parser finds, if it finds one.

    Its message is not used: it may quote the input.
    """
    try:
        for _quad in oxigraph.parse(text, format=oxigraph.RdfFormat.TURTLE, base_iri=CASE_BASE):
            pass
    except SyntaxError as exc:
        if exc.lineno is not None and exc.offset is not None:
            return exc.lineno, exc.offset
    except ValueError:
        pass
    return None


def _parse_with_oxigraph(text: str) -> Graph | None:
    """The case parsed by Oxigraph's Turtle parser (a tenth of rdflib's time), or None to let rdflib decide.

    Anything Oxigraph refuses, an ill-typed literal (a number over the caps is one while a case is
    parsed), or anything beyond plain RDF 1.1 terms goes to rdflib's parser, so that errors keep
    rdflib's line, column and reason (Oxigraph's messages quote the input).
    Terms come out as rdflib's parser makes them (a plain string literal has no datatype, blank
    nodes get fresh identifiers) except that language tags are in lower case, as Oxigraph writes
    them, and ``"x"^^xsd:string`` comes out as ``"x"``, its RDF 1.1 equal (sanitising gives
    string-ranged properties xsd:string either way).
    """
    graph = new_case_graph(MAX_TRIPLES)
    add = adder(graph)  # the capped store counts every triple
    # One conversion per term (Oxigraph's terms hash in Rust), so each IRI is one object, the
    # vocabulary's own where there is one: a lookup that finds the very object skips rdflib's
    # Python-level __eq__. The cache lives for this parse only: literals are PHI.
    converted: dict[object, Node | None] = {}

    def convert(t: object) -> Node | None:
        found = converted.get(t, False)
        if found is False:
            found = converted[t] = term(t)
        return found  # type: ignore[return-value]  # not False: found or just converted

    def term(t: object) -> Node | None:  # calls nothing that calls convert: no cycle keeps the terms (PHI)
        if isinstance(t, oxigraph.NamedNode):
            return _named(t.value)
        if isinstance(t, oxigraph.BlankNode):
            return BNode()
        if isinstance(t, oxigraph.Literal):
            if t.language:
                return RDFLiteral(t.value, lang=t.language)
            datatype = None if t.datatype.value == _XSD_STRING else _named(t.datatype.value)
            made = RDFLiteral(t.value, datatype=datatype)
            return None if made.ill_typed else made  # rdflib's parser has its own rules for these
        return None  # an RDF 1.2 triple term, which rdflib's parser does not know either

    try:
        # Read lazily: the cap stops it early.
        for quad in oxigraph.parse(text, format=oxigraph.RdfFormat.TURTLE, base_iri=CASE_BASE):
            s, p, o = convert(quad.subject), convert(quad.predicate), convert(quad.object)
            if s is None or p is None or o is None:
                return None
            add((s, p, o))
    except (SyntaxError, ValueError):
        return None
    return graph


#: Compound guidance values of the case vocabulary before 2026-12: each is its modality with
#: ``cv:contrast true`` (JSON's are in json_case.schema.COMPOUND_GUIDANCE).
COMPOUND_GUIDANCE: dict[Node, URIRef] = {
    URIRef(f"{CV}FluoroscopyWithContrast"): CV.Fluoroscopy,
    URIRef(f"{CV}ComputedTomographyWithContrast"): CV.ComputedTomography,
}
_CONTRADICTED = (
    "cv:contrast false contradicts cv:imageGuidance, a compound value of the vocabulary before 2026-12 that says "
    "contrast is used: state the modality in cv:imageGuidance and whether contrast is used in cv:contrast"
)
_XSD_STRING = str(XSD.string)
_NUMERIC = frozenset(URIRef(d) for d in NUMERIC_DATATYPES)
_RDF_TYPE = RDF.type
_VOCABULARY_TERMS = {str(t): t for ns in (CV, GR) for t in (getattr(ns, n) for n in ns.__annotations__)}
_VOCABULARY_TERMS |= {str(t): t for t in (RDF.type, XSD.string, XSD.decimal, XSD.integer, XSD.date, XSD.boolean)}


def _named(iri: str) -> URIRef:
    return _VOCABULARY_TERMS.get(iri) or URIRef(iri)


@contextmanager
def parse_errors(language: str) -> Iterator[None]:
    """Turn any failure of a parser on untrusted bytes into a case error that quotes nothing.

    Parsers put the offending input in their messages (rdflib's syntax errors, Python's
    int-string limit), and rdflib's Turtle parser also raises AssertionError or IndexError.
    """
    try:
        yield
    except CaseError:
        raise
    except RecursionError:
        raise CaseTooLarge("the case is nested too deeply") from None
    except UnicodeDecodeError:
        raise CaseParseError(NOT_UTF8) from None
    except ValueError:
        raise CaseParseError("the case holds a value that cannot be read (for example an over-long number)") from None
    except Exception:  # noqa: BLE001 - see the docstring
        raise CaseParseError(f"the case is not valid {language}") from None


def sanitise(graph: Graph, kb: KnowledgeBase) -> Graph:
    """Keep the case only if it speaks the case vocabulary; normalise literals to their declared types.

    Raises:
        CaseVocabularyError: naming the first offending predicate, type or subject.
        CaseParseError: a number over the caps of ``numbers.py``, named by its node and property
            (checked on the text, before any conversion).
    """
    properties, classes, ranges = kb.case_vocabulary
    out = new_case_graph()
    add = adder(out)
    subjects: set[Node] = set()  # each subject checked once
    compound: list[Node] = []  # requests with a compound guidance of the vocabulary before 2026-12
    for s, p, o in graph:
        if s not in subjects:
            if isinstance(s, URIRef) and str(s).startswith(KB_NAMESPACES):
                raise CaseVocabularyError(f"a case may not make statements about the knowledge base term {_name(s)}")
            subjects.add(s)
        if p is _RDF_TYPE or p == _RDF_TYPE:
            if o not in classes:
                raise CaseVocabularyError(f"rdf:type {_name(o)} is not a class of the case vocabulary")
        elif p not in properties:
            raise CaseVocabularyError(f"predicate {_name(p)} is not in the case vocabulary")
        if isinstance(o, RDFLiteral):
            if o.datatype in _NUMERIC:
                problem = number_problem(str(o))
                if problem is not None:
                    raise CaseParseError(f"{_where(graph, s)}, {_name(p)}: {problem}")
            o = _normalise(p, o, ranges)
        elif p == CV.imageGuidance and o in COMPOUND_GUIDANCE:
            o = COMPOUND_GUIDANCE[o]
            compound.append(s)
        add((s, p, o))
    for s in compound:
        stated = [v.toPython() for v in out.objects(s, CV.contrast) if isinstance(v, RDFLiteral)]
        if False in stated:
            raise CaseShapeError([(_where(out, s), _CONTRADICTED)])
        if not stated:
            add((s, CV.contrast, RDFLiteral(True)))
    cases = list(out.subjects(RDF.type, CV.Case))
    if len(cases) != 1:
        raise CaseShapeError([("case", f"expected exactly one cv:Case, found {len(cases)}")])
    return _reachable(out, cases[0])


def _reachable(graph: Graph, case: Node) -> Graph:
    """Only what the case links to: a node nothing in the case points at is neither judged nor shown."""
    subjects = set(graph.subjects())
    seen, frontier = {case}, [case]
    while frontier:
        node = frontier.pop()
        for obj in graph.objects(node, None):
            if obj in subjects and obj not in seen:
                seen.add(obj)
                frontier.append(obj)
    if len(seen) == len(subjects):
        return graph
    kept = new_case_graph()
    add = adder(kept)
    for triple in graph:
        if triple[0] in seen:
            add(triple)
    return kept


_KNOWN_VOCABULARIES = {
    str(RDF): "rdf:",
    str(RDFS): "rdfs:",
    str(OWL): "owl:",
    str(SH): "sh:",
    str(XSD): "xsd:",
    str(SKOS): "skos:",
    "http://purl.org/dc/terms/": "dcterms:",
    "http://www.w3.org/ns/prov#": "prov:",
    str(CV): "cv:",
}


def _name(term: Node) -> str:
    """A term for an error message: vocabulary terms by name; anything else (possibly PHI) by kind only."""
    if isinstance(term, URIRef):
        for ns, prefix in _KNOWN_VOCABULARIES.items():
            if str(term).startswith(ns):
                return prefix + str(term)[len(ns) :]
        if str(term).startswith(KB_NAMESPACES):
            return f"<{term}>"
        return "an IRI outside the known vocabularies"
    return "a literal" if isinstance(term, RDFLiteral) else "a blank node"


def check_shapes(graph: Graph, kb: KnowledgeBase) -> None:
    """Check a sanitised case against shapes/case.ttl.

    Raises:
        CaseShapeError: one problem per result: the node and the shape's message; or a diagnosis on
            the request that is not an ICD-10-CM code (reasoner/intake/diagnosis_codes.py).
    """
    results = kb.validator.validate(graph, kb.shape_index.case_roots)
    if results:
        problems = []
        for r in results:
            message = kb.shapes.value(r.source_shape, SH.message)
            problems.append((_where(graph, r.focus), str(message or r.source_shape)))
        raise CaseShapeError(sorted(set(problems)))
    refused = [(f"{_where(graph, node)}, cv:code", why) for node, why in refused_diagnoses(graph, kb)]
    if refused:
        raise CaseShapeError(refused)


def _where(graph: Graph, node: Node) -> str:
    # Node IRIs are chosen by the submitter and may carry identifiers: give the kind and an ordinal.
    # rdflib's terms order themselves (Identifier.__lt__); the Node the stubs give declares no order
    kind = next((str(t).split("#")[-1] for t in sorted(graph.objects(node, RDF.type))), "node")  # type: ignore[type-var]
    same = sorted({n for t in graph.objects(node, RDF.type) for n in graph.subjects(RDF.type, t)}, key=str)
    return f"{kind} {same.index(node) + 1} of {len(same)}" if node in same else kind


def normalise_level(text: str) -> str | None:
    """``L4-5`` -> ``L4-L5``; None when the text is not a spinal level."""
    m = _LEVEL.match(text.strip().upper())
    if not m:
        return None
    region, first, region2, second = m.groups()
    return f"{region}{int(first)}" if second is None else f"{region}{int(first)}-{region2 or region}{int(second)}"


def _normalise(p: Node, o: Node, ranges: dict[Node, Node]) -> Node:
    if not isinstance(o, RDFLiteral):
        return o
    if p == CV.level:
        level = normalise_level(str(o))
        return RDFLiteral(level if level is not None else str(o), datatype=XSD.string)
    wanted = ranges.get(p)
    if wanted is None:
        return o
    if wanted == XSD.decimal and o.datatype in (XSD.integer, XSD.double, XSD.float, XSD.decimal):
        try:
            value = Decimal(str(o))
        except InvalidOperation:
            return o  # ill-typed: the case shapes report it
        if not value.is_finite():
            raise CaseShapeError([(_name(p), "a number must be finite (not NaN or infinity)")])
        return RDFLiteral(value, datatype=XSD.decimal)
    if wanted == XSD.string and o.datatype is None and o.language is None and o.datatype != wanted:
        return RDFLiteral(str(o), datatype=XSD.string)
    return o


def decode_json(payload: bytes) -> object:
    """Decode untrusted JSON under the byte and nesting limits.

    Raises:
        CaseParseError: not JSON (with line and column) or not UTF-8.
        CaseTooLarge: over the byte or nesting limit.
    """
    check_size(payload)
    text = decode_utf8(payload)
    with parse_errors("JSON"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CaseParseError(exc.msg, line=exc.lineno, column=exc.colno) from None
    if max(iter_depth(data), default=0) > MAX_JSON_DEPTH:
        raise CaseTooLarge(f"the case is nested deeper than {MAX_JSON_DEPTH} levels")
    return data


def iter_depth(value: object, depth: int = 0) -> Iterator[int]:
    """Yield the nesting depth of every container in a decoded JSON value (iteratively bounded)."""
    stack = [(value, depth)]
    while stack:
        item, d = stack.pop()
        if isinstance(item, dict):
            yield d + 1
            stack.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            yield d + 1
            stack.extend((v, d + 1) for v in item)
