"""pyshacl as reasoner/shacl/_pyshacl.py relies on it: each test names the upstream shape it holds.

A pyshacl upgrade that moves or changes one of these fails here, by name, rather than making
the per-request path silently slower or wrong.
"""

from __future__ import annotations

import inspect

import pyshacl.shape as pyshacl_shape
import pytest
from pyshacl.constraints.constraint_component import ConstraintComponent
from pyshacl.constraints.core.logical_constraints import OrConstraintComponent
from pyshacl.pytypes import SHACLExecutor
from rdflib import SH, XSD, Graph, Literal, URIRef

from reasoner.errors import KnowledgeBaseError, ValidationError
from reasoner.shacl import _pyshacl

EX = "http://example.org/"
SHAPES = b"""
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:S a sh:NodeShape ; sh:targetClass ex:Item ; sh:property ex:S-v .
ex:S-v sh:path ex:v ; sh:datatype xsd:integer ; sh:minCount 1 .
"""
DATA = b"""
@prefix ex: <http://example.org/> .
ex:a a ex:Item ; ex:v 1 .
ex:b a ex:Item ; ex:v "one" .
ex:c a ex:Item .
"""
RECURSIVE = b"""@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:property [ sh:path ex:next ; sh:node ex:S ] ."""
LOOP = b"@prefix ex: <http://example.org/> . ex:a ex:next ex:a ."


def _graph(data: bytes) -> Graph:
    return Graph().parse(data=data, format="turtle")


def test_shape_validate_returns_result_tuples_read_without_a_report_graph() -> None:
    # Shape.validate(executor, data) -> (conforms, [(description, result node, triples)]), whose
    # triples hold sh:sourceShape, sh:focusNode, sh:value and sh:resultSeverity of each result.
    shapes = _pyshacl.load_shapes(_graph(SHAPES))
    results = _pyshacl.run_shapes([shapes[URIRef(EX + "S")]], _graph(DATA))
    assert sorted((str(r.focus), str(r.value), str(r.source_shape)) for r in results) == [
        (EX + "b", "one", EX + "S-v"),
        (EX + "c", "None", EX + "S-v"),
    ]
    assert {r.severity for r in results} == {SH.Violation}


def test_shape_validate_takes_an_executor_and_a_data_graph() -> None:
    assert list(inspect.signature(pyshacl_shape.Shape.validate).parameters)[:3] == ["self", "executor", "target_graph"]
    assert SHACLExecutor(max_validation_depth=15).max_validation_depth == 15


def test_shape_parameters_are_read_through_a_module_global_that_can_be_replaced() -> None:
    # _lean_results swaps pyshacl.shape.CONSTRAINT_PARAMS for a set: the module must look it up.
    source = inspect.getsource(pyshacl_shape)
    assert "CONSTRAINT_PARAMS" in source


def test_result_texts_come_from_methods_the_adapter_can_swap() -> None:
    assert callable(ConstraintComponent.make_v_result_description)
    assert OrConstraintComponent in _pyshacl.MESSAGE_MAKERS
    assert all("make_generic_messages" in c.__dict__ for c in _pyshacl.MESSAGE_MAKERS)


def test_lean_results_are_restored_after_each_run() -> None:
    def state() -> tuple[object, ...]:
        return (
            ConstraintComponent.make_v_result_description,
            getattr(pyshacl_shape, "CONSTRAINT_PARAMS", None),
            OrConstraintComponent.__dict__["make_generic_messages"],
        )

    before = state()
    shapes = _pyshacl.load_shapes(_graph(SHAPES))
    _pyshacl.run_shapes(list(shapes.values()), _graph(DATA))
    assert state() == before
    with pytest.raises(ValidationError):  # and when a run fails
        _pyshacl.run_shapes(list(_pyshacl.load_shapes(_graph(RECURSIVE)).values()), _graph(LOOP))
    assert state() == before


def test_a_shapes_graph_pyshacl_cannot_load_is_a_knowledge_base_error() -> None:
    bad = b"""@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
    ex:S a sh:NodeShape ; sh:targetClass ex:Item ; sh:path ex:p ."""  # a node shape with a path
    with pytest.raises(KnowledgeBaseError, match="the shapes cannot be loaded"):
        _pyshacl.load_shapes(_graph(bad))


def test_recursion_is_an_error_at_both_entry_points() -> None:
    with pytest.raises(ValidationError, match="recursed"):
        _pyshacl.run_shapes(list(_pyshacl.load_shapes(_graph(RECURSIVE)).values()), _graph(LOOP))
    with pytest.raises(ValidationError, match="recursed"):
        _pyshacl.validate_graph(_graph(LOOP), _graph(RECURSIVE))


def test_public_validate_reports_messages_and_conformance() -> None:
    conforms, results, report = _pyshacl.validate_graph(_graph(DATA), _graph(SHAPES))
    assert conforms is False and len(results) == 2 and isinstance(report, Graph)
    assert all(r.message for r in results)


def test_shacl_for_shacl_ships_with_pyshacl() -> None:
    meta = _pyshacl.shacl_shacl()
    assert (None, SH.targetSubjectsOf, None) in meta or len(meta) > 100
    conforms, results, _report = _pyshacl.validate_graph(_graph(SHAPES), meta, recursion_is_error=False)
    assert conforms and not results


def test_compare_literal_orders_numbers_across_datatypes() -> None:
    assert _pyshacl.compare_literal(Literal(1), Literal("2.5", datatype=XSD.decimal)) < 0
    assert _pyshacl.compare_literal(Literal(3), Literal(3)) == 0


def test_rdfs_inference_leaves_the_number_caps_in_place() -> None:
    # pyshacl's inference runs owlrl, which puts rdflib's own literal converters back when it ends.
    from reasoner.intake.limits import untrusted_input

    _pyshacl.validate_graph(_graph(DATA), _graph(SHAPES), ontology=Graph(), rdfs=True)
    with untrusted_input():
        huge = Literal("9" * 4000, datatype=XSD.integer)
    assert huge.ill_typed and huge.value is None
