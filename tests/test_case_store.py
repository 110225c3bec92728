"""The case-graph store: every triple pattern against rdflib's Memory store, counts, removal,
serialisation, the triple cap, and the graphs intake builds on it."""

from __future__ import annotations

import copy
import itertools
import json
from decimal import Decimal
from typing import Any

import pytest
from rdflib import RDF, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.exceptions import UniquenessError
from rdflib.plugins.stores.memory import Memory

from reasoner import CaseTooLarge, KnowledgeBase
from reasoner._rdf.case_store import CaseStore, memory_copy, new_case_graph
from reasoner.intake.json_case.load import load_json
from reasoner.intake.json_case.to_rdf import to_graph
from reasoner.intake.parsed import ParsedCase
from reasoner.intake.turtle import MAX_TRIPLES, parse_turtle
from reasoner.pipeline import determine_parsed, parse_case
from reasoner.vocab import CV

from .conftest import ROOT

EX = Namespace("urn:ex:")
NODES = [EX.a, EX.b, BNode("n1")]
PREDICATES = [EX.p, EX.q, RDF.type]
OBJECTS = [EX.a, EX.c, BNode("n1"), Literal("1", datatype=XSD.integer), Literal("1"), Literal("x", lang="en")]
TRIPLES = [
    (s, p, o) for i, (s, p, o) in enumerate(itertools.product(NODES, PREDICATES, OBJECTS)) if i % 3 != 1
]  # a sparse mix, so that some patterns match nothing


def _both() -> tuple[Graph, Graph]:
    ours, memory = new_case_graph(), Graph(store=Memory())
    for triple in TRIPLES:
        ours.add(triple)
        memory.add(triple)
    return ours, memory


PATTERNS = [
    (s, p, o)
    for s in [None, *NODES, EX.missing]
    for p in [None, *PREDICATES, EX.missing]
    for o in [None, *OBJECTS, EX.missing]
]


def test_every_pattern_matches_what_memory_matches() -> None:
    ours, memory = _both()
    for pattern in PATTERNS:
        assert sorted(ours.triples(pattern)) == sorted(memory.triples(pattern)), pattern
        assert (pattern in ours) == (pattern in memory), pattern


def test_indexes_built_by_a_lookup_keep_up_with_later_changes() -> None:
    # Lookups by predicate and by object build their indexes when first needed; each step below
    # changes the graph after some were built and checks every pattern again.
    ours, memory = new_case_graph(), Graph(store=Memory())
    half = len(TRIPLES) // 2
    steps = [
        ("extend", TRIPLES[:half]),
        ("add", TRIPLES[half:]),
        ("remove", (None, EX.q, None)),
        ("extend", TRIPLES),
        ("remove", (EX.a, None, None)),
        ("add", [(EX.new, RDF.type, EX.c), (EX.new, EX.p, Literal("1"))]),
    ]
    for i, (kind, arg) in enumerate(steps):
        if kind == "extend":
            ours.store.extend(arg)  # type: ignore[attr-defined]
            for triple in arg:
                memory.add(triple)
        elif kind == "add":
            for triple in arg:
                ours.add(triple)
                memory.add(triple)
        else:
            ours.remove(arg)
            memory.remove(arg)
        for pattern in PATTERNS[i::3] + [(None, RDF.type, EX.c), (None, EX.p, Literal("1"))]:
            assert sorted(ours.triples(pattern)) == sorted(memory.triples(pattern)), (kind, pattern)
        assert len(ours) == len(memory)
        assert set(ours.subjects(RDF.type, EX.c)) == set(memory.subjects(RDF.type, EX.c))


def test_store_yields_triples_with_empty_contexts() -> None:
    store = CaseStore()
    store.add((EX.a, EX.p, EX.c))
    [(triple, contexts)] = list(store.triples((EX.a, None, None)))
    assert triple == (EX.a, EX.p, EX.c)
    assert list(contexts) == []
    assert list(store.contexts()) == []


def test_length_counts_distinct_triples_through_duplicates_and_removals() -> None:
    g = new_case_graph()
    assert len(g) == 0
    for _ in range(3):
        for triple in TRIPLES:
            g.add(triple)
    assert len(g) == len(set(TRIPLES))
    g.remove((EX.missing, None, None))
    g.remove((EX.a, EX.p, EX.missing))
    assert len(g) == len(set(TRIPLES))
    g.remove(TRIPLES[0])
    g.remove(TRIPLES[0])
    assert len(g) == len(TRIPLES) - 1
    g.remove((None, None, None))
    assert len(g) == 0 and list(g) == []


@pytest.mark.parametrize("pattern", PATTERNS[:: max(1, len(PATTERNS) // 60)])
def test_pattern_removal_matches_memory(pattern: tuple[Any, Any, Any]) -> None:
    ours, memory = _both()
    ours.remove(pattern)
    memory.remove(pattern)
    assert sorted(ours) == sorted(memory)
    assert len(ours) == len(memory)
    for probe in PATTERNS:
        assert sorted(ours.triples(probe)) == sorted(memory.triples(probe)), probe


def test_removing_a_subjects_last_triple_forgets_the_subject() -> None:
    g = new_case_graph()
    g.add((EX.a, EX.p, EX.c))
    g.add((EX.b, EX.p, EX.c))
    g.remove((EX.a, None, None))
    assert set(g.subjects()) == {EX.b}
    assert list(g.subject_predicates(EX.c)) == [(EX.b, EX.p)]
    g.remove((None, EX.p, None))
    assert set(g.subjects()) == set() and set(g.predicates()) == set() and set(g.objects()) == set()


def test_adding_while_iterating_is_safe() -> None:
    graphs = new_case_graph(), Graph(store=Memory())
    for g in graphs:
        for i in range(5):
            g.add((EX.a, EX.p, EX[f"o{i}"]))
        for o in g.objects(EX.a, EX.p):
            g.add((EX.a, EX.p, EX[f"more-{o}"]))
            g.add((o, RDF.type, EX.Thing))
        for s in g.subjects():
            g.add((s, EX.seen, Literal(True)))
        # EX.o4 is the subject a scan of the case store reaches last
        seen = [g.add((EX.o4, EX.q, Literal(i))) and (s, p, o) for i, (s, p, o) in enumerate(g)]
        assert len(seen) == 21  # a whole-graph scan does not see what is added during it
    ours, memory = graphs
    assert sorted(ours) == sorted(memory) and len(ours) == len(memory) == 42


def test_add_n_ignores_the_context() -> None:
    store = CaseStore()
    store.addN([(EX.a, EX.p, EX.c, None), (EX.a, EX.p, EX.c, None), (EX.b, EX.p, EX.c, None)])
    assert len(store) == 2


def test_graph_methods_and_paths_read_the_store() -> None:
    g = new_case_graph()
    g.add((EX.a, EX.p, EX.b))
    g.add((EX.b, EX.p, EX.c))
    g.add((EX.c, EX.q, Literal("end")))
    assert g.value(EX.a, EX.p) == EX.b
    assert set(g.objects(EX.a, EX.p / EX.p)) == {EX.c}
    assert set(g.transitive_objects(EX.a, EX.p)) == {EX.a, EX.b, EX.c}
    assert set(g.objects(EX.a, EX.p * "+")) == {EX.b, EX.c}
    assert [str(row[0]) for row in g.query("SELECT ?o WHERE { ?s <urn:ex:q> ?o }")] == ["end"]


def test_direct_lookups_answer_what_rdflib_answers() -> None:
    ours, memory = _both()
    for s, p in itertools.product([*NODES, EX.nowhere, None], [*PREDICATES, EX.p / EX.q, None]):
        assert sorted(ours.objects(s, p)) == sorted(memory.objects(s, p)), (s, p)
        assert sorted(ours.objects(s, p, unique=True)) == sorted(memory.objects(s, p, unique=True)), (s, p)
    for p, o in itertools.product([*PREDICATES, EX.p | EX.q, None], [*OBJECTS, EX.nowhere, None]):
        assert sorted(ours.subjects(p, o)) == sorted(memory.subjects(p, o)), (p, o)
    assert sorted(ours.objects([EX.a, EX.b], EX.p)) == sorted(memory.objects([EX.a, EX.b], EX.p))
    assert sorted(ours.subjects(EX.p, [EX.a, EX.c])) == sorted(memory.subjects(EX.p, [EX.a, EX.c]))
    for s, p in itertools.product(NODES, PREDICATES):
        assert ours.value(s, p) in set(memory.objects(s, p)) | {None}
        assert (ours.value(s, p) is None) == (memory.value(s, p) is None)
        assert ours.value(s, p, default=EX.none) == memory.value(s, p, default=EX.none) or list(ours.objects(s, p))
    assert ours.value(EX.nowhere, EX.p, default=EX.none) == EX.none
    for p in [*PREDICATES, EX.p / EX.q, EX.nowhere, None]:
        assert sorted(ours.subject_objects(p)) == sorted(memory.subject_objects(p)), p
        assert sorted(ours.subject_objects(p, unique=True)) == sorted(memory.subject_objects(p, unique=True)), p
    assert ours.value(None, EX.p, EX.c) == memory.value(None, EX.p, EX.c)
    assert ours.value(EX.a, None, EX.c) == memory.value(EX.a, None, EX.c)
    with pytest.raises(UniquenessError):
        ours.value(EX.a, EX.p, any=False)
    objects = ours.objects(EX.a, EX.p)
    ours.add((EX.a, EX.p, EX.late))  # a snapshot: adding while reading neither fails nor shows
    assert EX.late not in set(objects)


def test_turtle_round_trip_keeps_the_triples_and_prefixes() -> None:
    ours, _memory = _both()
    ours.bind("ex", EX)
    text = ours.serialize(format="turtle")
    assert "@prefix ex: <urn:ex:>" in text
    back = Graph().parse(data=text, format="turtle")
    assert isomorphic(back, ours)
    again = new_case_graph().parse(data=text, format="turtle")
    assert isomorphic(again, ours) and len(again) == len(ours)


def test_namespace_bindings_follow_memory() -> None:
    ours, memory = CaseStore(), Memory()
    steps: list[tuple[str, URIRef, bool]] = [
        ("a", URIRef("urn:one#"), True),
        ("b", URIRef("urn:two#"), True),
        ("a", URIRef("urn:three#"), True),
        ("c", URIRef("urn:two#"), True),
        ("d", URIRef("urn:four#"), False),
        ("d", URIRef("urn:five#"), False),
        ("e", URIRef("urn:four#"), False),
    ]
    for prefix, namespace, override in steps:
        ours.bind(prefix, namespace, override=override)
        memory.bind(prefix, namespace, override=override)
        assert sorted(ours.namespaces()) == sorted(memory.namespaces())
    for prefix, namespace, _override in steps:
        assert ours.namespace(prefix) == memory.namespace(prefix)
        assert ours.prefix(namespace) == memory.prefix(namespace)


def test_the_cap_refuses_the_triple_after_it_and_only_new_ones() -> None:
    g = new_case_graph(cap=3)
    for i in range(3):
        g.add((EX.a, EX.p, EX[f"o{i}"]))
    g.add((EX.a, EX.p, EX.o0))  # already held: not a fourth triple
    with pytest.raises(CaseTooLarge):
        g.add((EX.b, EX.q, EX.o9))
    assert len(g) == 3
    assert set(g.subjects()) == {EX.a} and set(g.predicates()) == {EX.p}
    g.remove((EX.a, EX.p, EX.o0))
    g.add((EX.b, EX.q, EX.o9))  # room again after a removal
    assert len(g) == 3


def test_turtle_intake_is_capped_on_the_case_store() -> None:
    payload = b"".join(b"<urn:s%d> <urn:p> <urn:o> .\n" % i for i in range(MAX_TRIPLES + 1))
    with pytest.raises(CaseTooLarge):
        parse_turtle(payload)
    assert isinstance(parse_turtle(payload[: payload.rindex(b"<urn:s")]).store, CaseStore)


def test_memory_copy_is_a_context_aware_copy() -> None:
    ours, memory = _both()
    copied = memory_copy(ours)
    assert copied.store.context_aware and sorted(copied) == sorted(memory)


# --- the graphs intake builds ---------------------------------------------------------------------


def test_json_cases_are_built_on_the_store(kb: KnowledgeBase, seed_json: bytes) -> None:
    parsed = parse_case(seed_json, "json", kb)
    assert isinstance(parsed.graph.store, CaseStore)
    before = sorted(parsed.graph)
    determine_parsed(parsed, kb)
    assert sorted(parsed.graph) == before  # enrichment worked on its own copy


def test_numbers_written_differently_keep_their_values(kb: KnowledgeBase, seed_json: bytes) -> None:
    case = json.loads(seed_json)
    procedures = copy.deepcopy(case["priorProcedures"][:3])
    procedures[0]["percentRelief"], procedures[1]["percentRelief"], procedures[2]["percentRelief"] = 40, 40.0, "40.0"
    case["priorProcedures"] = procedures
    graph = to_graph(load_json(json.dumps(case).encode()), kb)
    reliefs = [graph.value(p, CV.percentRelief) for p in graph.objects(None, CV.priorProcedure)]
    assert len(reliefs) == 3 and {o.toPython() for o in reliefs} == {Decimal(40)}
    assert all(o.datatype == XSD.decimal for o in reliefs)


def test_the_determination_id_reads_the_store_as_a_plain_graph_does(kb: KnowledgeBase) -> None:
    from reasoner.pipeline import fingerprint

    turtle = parse_case((ROOT / "examples/cases/sij-seed-neurectomy.ttl").read_bytes(), "turtle", kb)
    assert fingerprint(turtle, kb, "p") == fingerprint(ParsedCase(memory_copy(turtle.graph)), kb, "p")


def test_a_json_case_is_identified_by_what_it_says_not_how(kb: KnowledgeBase, seed_json: bytes) -> None:

    case = json.loads(seed_json)
    same = dict(reversed(list(case.items())))  # other key order, other spacing, 40.0 for 40
    same["priorProcedures"] = [
        {**p, "percentRelief": float(p["percentRelief"])} if "percentRelief" in p else p
        for p in case["priorProcedures"]
    ]
    ids = {
        determine_parsed(parse_case(payload, "json", kb), kb, policy="sij-clinical-pathway").determinationId
        for payload in (seed_json, json.dumps(same, indent=4).encode())
    }
    assert len(ids) == 1
    changed = json.loads(seed_json)
    changed["priorProcedures"][0]["reliefMonths"] = 41
    other = determine_parsed(parse_case(json.dumps(changed).encode(), "json", kb), kb, policy="sij-clinical-pathway")
    assert other.determinationId not in ids


def test_a_graph_without_a_digest_is_identified_by_its_triples(kb: KnowledgeBase, seed_json: bytes) -> None:
    from reasoner.pipeline import fingerprint

    parsed = parse_case(seed_json, "json", kb)
    assert parsed.digest is not None
    by_fields = fingerprint(parsed, kb, "p")
    graph = memory_copy(parsed.graph)
    by_triples = fingerprint(ParsedCase(graph), kb, "p")
    assert by_triples != by_fields
    graph.add((EX.a, EX.p, EX.c))
    assert fingerprint(ParsedCase(graph), kb, "p") != by_triples
