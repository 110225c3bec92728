"""The compiled SHACL evaluator gives pyshacl's results, shape for shape, on the same data graph.

tests/test_differential.py compares whole determinations with the naive reference; here every
root shape of the knowledge base runs on every example (not only the selected ones), and a
synthetic shapes graph exercises each supported constraint on awkward values.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, URIRef

from bench.generated import case_with_history
from reasoner import KnowledgeBase, ValidationError, pipeline
from reasoner.enrich.stage import enrich
from reasoner.enrich.unstated import as_stated
from reasoner.intake import turtle as intake
from reasoner.shacl.prepared import PreparedShapes

from .test_examples import PAIRS, _fmt, _policy

EX = "http://example.org/"


def _both(shapes: PreparedShapes, data: Graph, roots: frozenset[URIRef]) -> None:
    """Two-valued, on the case as stated, the engines agree result for result; three-valued, the
    compiled evaluator's decided results are pyshacl's, and each pyshacl result is one of its results."""
    stated = as_stated(data)
    compiled = shapes.validate(stated, roots)
    reference = shapes.validate(stated, roots, engine="pyshacl")
    assert compiled == reference
    three = shapes.validate(data, roots)
    decided = [r for r in three if r.undecided is None]
    assert set(decided) <= set(reference)
    assert {(r.source_shape, r.focus) for r in reference} <= {(r.source_shape, r.focus) for r in three}


def test_every_knowledge_base_shape_compiles(kb: KnowledgeBase) -> None:
    assert kb.validator.uncompiled == frozenset()


@pytest.mark.parametrize(("case", "index"), PAIRS, ids=[f"{c.name}-{i}" for c, i in PAIRS])
def test_every_root_on_every_example(case: Path, index: int, kb: KnowledgeBase) -> None:
    parsed = pipeline.parse_case(case.read_bytes(), _fmt(case), kb)  # type: ignore[arg-type]
    enriched = enrich(parsed.graph, kb, kb.policy(_policy(case, index)))
    _both(kb.validator, enriched.graph, kb.shape_index.targeted)


def test_case_shapes_on_a_turtle_case(kb: KnowledgeBase) -> None:
    text = (Path(__file__).parent.parent / "examples/cases/sij-seed-neurectomy.ttl").read_bytes()
    graph = intake.sanitise(intake.parse_turtle(text), kb)
    _both(kb.validator, graph, kb.shape_index.case_roots)
    broken = intake.parse_turtle(text.replace(b'cv:identifier "', b'cv:identifier "x", "'))
    results = kb.validator.validate(broken, kb.shape_index.case_roots)
    assert results, "a second identifier must fail the case shapes"
    _both(kb.validator, broken, kb.shape_index.case_roots)


def test_a_long_history(kb: KnowledgeBase) -> None:
    parsed = pipeline.parse_case(case_with_history(120), "json", kb)
    enriched = enrich(parsed.graph, kb, kb.policy("medicare-facet-lcd"))
    _both(kb.validator, enriched.graph, kb.shape_index.targeted)


SHAPES = f"""
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <{EX}> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .

ex:Values a sh:NodeShape ; sh:targetClass ex:Item ;
  sh:property ex:p-int, ex:p-str, ex:p-lang, ex:p-range, ex:p-excl, ex:p-kind, ex:p-len, ex:p-pattern,
    ex:p-in, ex:p-has, ex:p-count, ex:p-class, ex:p-date, ex:p-bool, ex:p-literal .
ex:p-int a sh:PropertyShape ; sh:path ex:n ; sh:datatype xsd:integer ; sh:severity sh:Warning .
ex:p-str a sh:PropertyShape ; sh:path ex:s ; sh:datatype xsd:string .
ex:p-lang a sh:PropertyShape ; sh:path ex:s ; sh:datatype rdf:langString .
ex:p-literal a sh:PropertyShape ; sh:path ex:s ; sh:datatype rdfs:Literal .
ex:p-range a sh:PropertyShape ; sh:path ex:n ; sh:minInclusive 2 ; sh:maxInclusive 5.5 .
ex:p-excl a sh:PropertyShape ; sh:path ex:n ; sh:minExclusive 1 ; sh:maxExclusive "9"^^xsd:decimal .
ex:p-kind a sh:PropertyShape ; sh:path ex:link ; sh:nodeKind sh:IRI .
ex:p-len a sh:PropertyShape ; sh:path ex:s ; sh:minLength 2 ; sh:maxLength 4 .
ex:p-pattern a sh:PropertyShape ; sh:path ex:s ; sh:pattern "^a" ; sh:flags "i" .
ex:p-in a sh:PropertyShape ; sh:path ex:link ; sh:in ( ex:A ex:B "lit" ) .
ex:p-has a sh:PropertyShape ; sh:path ex:flag ; sh:hasValue true .
ex:p-count a sh:PropertyShape ; sh:path ex:link ; sh:minCount 1 ; sh:maxCount 2 .
ex:p-class a sh:PropertyShape ; sh:path ex:link ; sh:class ex:Thing .
ex:p-date a sh:PropertyShape ; sh:path ex:when ; sh:datatype xsd:date ; sh:minInclusive "2020-01-01"^^xsd:date .
ex:p-bool a sh:PropertyShape ; sh:path ex:flag ; sh:datatype xsd:boolean .

ex:Logic a sh:NodeShape ; sh:targetSubjectsOf ex:link ;
  sh:or ( ex:HasFlag ex:HasTwoLinks ) ; sh:not ex:HasFlag ; sh:node ex:HasTwoLinks ;
  sh:and ( ex:HasFlag ex:HasTwoLinks ) ; sh:class ex:Item ; sh:hasValue ex:i1 .
ex:HasFlag a sh:NodeShape ; sh:property [ sh:path ex:flag ; sh:minCount 1 ] .
ex:HasTwoLinks a sh:NodeShape ; sh:property [ sh:path ex:link ; sh:minCount 2 ] .

ex:Paths a sh:NodeShape ; sh:targetNode ex:Thing, ex:nowhere ;
  sh:property ex:p-inv, ex:p-seq, ex:p-alt, ex:p-q .
ex:p-inv a sh:PropertyShape ; sh:path ( [ sh:inversePath rdf:type ] [ sh:inversePath ex:link ] ) ; sh:maxCount 1 .
ex:p-seq a sh:PropertyShape ; sh:path ( [ sh:inversePath rdf:type ] [ sh:inversePath ex:link ] ex:n ) ;
  sh:maxInclusive 3 .
ex:p-alt a sh:PropertyShape ;
  sh:path ( [ sh:inversePath rdf:type ] [ sh:alternativePath ( [ sh:inversePath ex:link ] ex:link ) ] ) ;
  sh:minCount 3 .
ex:p-q a sh:PropertyShape ; sh:path ( [ sh:inversePath rdf:type ] [ sh:inversePath ex:link ] ) ;
  sh:qualifiedValueShape ex:HasFlag ; sh:qualifiedMinCount 2 ; sh:qualifiedMaxCount 0 .

ex:TargetOnProperty a sh:PropertyShape ; sh:targetObjectsOf ex:link ; sh:path ex:label ; sh:minCount 1 .
"""

DATA = f"""
@prefix ex: <{EX}> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Sub rdfs:subClassOf ex:Item .
ex:Leaf rdfs:subClassOf ex:Thing .
ex:i1 a ex:Item ; ex:n 3, "4"^^xsd:decimal, "x", true, "5.50"^^xsd:decimal, "2"^^xsd:double, "9"^^xsd:decimal ;
  ex:s "ab", "Abcde"@en, "b" ; ex:link ex:A, ex:C ;
  ex:flag true ; ex:when "2021-02-03"^^xsd:date .
ex:i2 a ex:Sub ; ex:n 1, 12, "7"^^xsd:integer, "nope"^^xsd:integer ; ex:s _:b ; ex:link "lit", _:c ;
  ex:flag "true" ; ex:when "2019-12-31"^^xsd:date, "someday" .
ex:i3 a ex:Sub ; ex:link ex:A, ex:B, ex:C .
ex:A a ex:Thing ; ex:label "a" .
ex:B a ex:Leaf .
ex:C a ex:Other .
"""


@pytest.fixture(scope="module")
def synthetic() -> PreparedShapes:
    return PreparedShapes(Graph().parse(data=SHAPES, format="turtle"))


def test_every_supported_constraint_matches_pyshacl(synthetic: PreparedShapes) -> None:
    assert synthetic.uncompiled == frozenset()
    data = Graph().parse(data=DATA, format="turtle")
    roots = frozenset(URIRef(EX + n) for n in ("Values", "Logic", "Paths", "TargetOnProperty"))
    results = synthetic.validate(data, roots)
    assert len(results) > 30  # the data is meant to fail many constraints, not to conform
    assert {str(r.source_shape).rsplit("/", 1)[-1] for r in results} >= {"p-int", "p-range", "p-q", "Logic"}
    assert synthetic.validate(data, roots, engine="pyshacl") == results


UNSUPPORTED = f"""
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix ex: <{EX}> .
ex:Xone a sh:NodeShape ; sh:targetClass ex:Item ; sh:xone ( ex:F ex:G ) .
ex:F a sh:NodeShape ; sh:property [ sh:path ex:flag ; sh:minCount 1 ] .
ex:G a sh:NodeShape ; sh:property [ sh:path ex:link ; sh:minCount 1 ] .
ex:Star a sh:NodeShape ; sh:targetClass ex:Item ; sh:property ex:Star-p .
ex:Star-p sh:path [ sh:zeroOrMorePath ex:link ] ; sh:maxCount 2 .
ex:InverseSequence a sh:NodeShape ; sh:targetNode ex:A ; sh:property ex:InverseSequence-p .
ex:InverseSequence-p sh:path [ sh:inversePath ( ex:link ex:link ) ] ; sh:minCount 1 .
ex:Fine a sh:NodeShape ; sh:targetClass ex:Item ; sh:node ex:F .
"""


def test_unsupported_shapes_run_in_pyshacl(synthetic: PreparedShapes) -> None:
    shapes = PreparedShapes(Graph().parse(data=UNSUPPORTED, format="turtle"))
    names = {str(n).rsplit("/", 1)[-1] for n in shapes.uncompiled if isinstance(n, URIRef)}
    assert names == {"Xone", "Star", "Star-p", "InverseSequence", "InverseSequence-p"}
    data = Graph().parse(data=DATA, format="turtle")
    roots = frozenset(URIRef(EX + n) for n in ("Xone", "Star", "InverseSequence", "Fine"))
    results = shapes.validate(data, roots)
    assert {str(r.source_shape).rsplit("/", 1)[-1] for r in results} == {"Xone", "Fine", "Star-p", "InverseSequence-p"}
    assert results == shapes.validate(data, roots, engine="pyshacl")


def test_odd_data_is_a_validation_error_not_a_crash(synthetic: PreparedShapes) -> None:
    class Broken(Graph):
        def objects(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
            raise RuntimeError("boom")

    data = Broken()
    data.parse(data=DATA, format="turtle")
    with pytest.raises(ValidationError, match="validation failed on this case"):
        synthetic.validate(data, frozenset({URIRef(EX + "Values")}))
