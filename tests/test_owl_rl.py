"""OWL 2 RL for the files that ask for it (reasoner/knowledge/owl_rl.py, closure.py) and its lint (owl_profile.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef

from reasoner import KnowledgeBase
from reasoner.knowledge import owl_rl
from reasoner.knowledge.base import parse_into
from reasoner.knowledge.closure import close_knowledge_base
from reasoner.knowledge.disjointness import disjointness_problems
from reasoner.knowledge.files import KnowledgeFiles
from reasoner.knowledge.owl_profile import profile_problems
from reasoner.vocab import GR

EX = Namespace("https://example.org/kb#")
PREFIXES = """
PREFIX ex:   <https://example.org/kb#>
PREFIX gr:   <https://w3id.org/guideline-reasoner/core#>
PREFIX owl:  <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""
RL_HEADER = "<https://example.org/kb> a owl:Ontology ; gr:entailmentRegime <http://www.w3.org/ns/entailment/OWL-RL> .\n"


def _turtle(text: str, *, rl: bool = True) -> Graph:
    return Graph().parse(data=PREFIXES + (RL_HEADER if rl else "") + text, format="turtle")


def _closed(text: str, *, rl: bool = True) -> Graph:
    g = _turtle(text, rl=rl)
    return close_knowledge_base(g, owl_rl.axioms(g) if owl_rl.regime(g) == owl_rl.OWL_RL else None)


# --- What the closure entails, construct by construct -----------------------------------------------


def test_an_inverse_states_the_other_direction_typed_by_its_domain() -> None:
    closed = _closed("ex:coveredBy owl:inverseOf ex:covers ; rdfs:domain ex:Code .\nex:policy ex:covers ex:code .")
    assert (EX.code, EX.coveredBy, EX.policy) in closed
    assert (EX.code, RDF.type, EX.Code) in closed  # RDFS typing of what RL entailed


def test_an_equivalence_joins_the_schema() -> None:
    closed = _closed(
        "ex:FacetRFA owl:equivalentClass ex:MedialBranchDenervation .\n"
        "ex:MedialBranchDenervation rdfs:subClassOf ex:Ablation .\n"
        "ex:x a ex:FacetRFA ."
    )
    assert (EX.FacetRFA, RDFS.subClassOf, EX.Ablation) in closed
    assert (EX.x, RDF.type, EX.MedialBranchDenervation) in closed
    assert (EX.x, RDF.type, EX.Ablation) in closed


def test_a_has_value_restriction_classifies_and_states() -> None:
    closed = _closed(
        "ex:LumbarProcedure owl:equivalentClass [ a owl:Restriction ; "
        "owl:onProperty ex:region ; owl:hasValue ex:Lumbar ] .\n"
        "ex:LumbarProcedure rdfs:subClassOf ex:Procedure .\n"
        "ex:a ex:region ex:Lumbar .\n"
        "ex:b a ex:LumbarProcedure ."
    )
    assert (EX.a, RDF.type, EX.LumbarProcedure) in closed
    assert (EX.a, RDF.type, EX.Procedure) in closed
    assert (EX.b, EX.region, EX.Lumbar) in closed


def test_a_property_chain_follows_both_links() -> None:
    closed = _closed(
        "ex:region owl:propertyChainAxiom ( ex:denotes ex:classRegion ) .\n"
        "ex:code ex:denotes ex:Facet .\nex:Facet ex:classRegion ex:Lumbar ."
    )
    assert (EX.code, EX.region, EX.Lumbar) in closed


def test_noise_is_left_out() -> None:
    closed = _closed(
        "ex:coveredBy owl:inverseOf ex:covers .\n"
        "ex:Lumbar owl:equivalentClass [ a owl:Restriction ; owl:onProperty ex:region ; owl:hasValue ex:L ] .\n"
        "ex:policy ex:covers ex:code .\nex:a ex:region ex:L ."
    )
    assert not [t for t in closed.triples((None, OWL.sameAs, None)) if t[0] == t[2]]
    assert (None, RDF.type, OWL.Thing) not in closed
    assert not [o for o in closed.objects(EX.a, RDF.type) if isinstance(o, BNode)]  # typing by a restriction


def test_a_file_under_rdfs_has_its_owl_ignored_by_the_closure() -> None:
    text = "ex:coveredBy owl:inverseOf ex:covers .\nex:policy ex:covers ex:code ."
    assert (EX.code, EX.coveredBy, EX.policy) not in _closed(text, rl=False)
    assert owl_rl.regime(_turtle(text, rl=False)) == owl_rl.RDFS_REGIME


def test_axioms_carry_their_restrictions_and_lists() -> None:
    g = _turtle(
        "ex:A rdfs:subClassOf [ a owl:Restriction ; owl:onProperty ex:p ; owl:hasValue ex:v ] .\n"
        "ex:r owl:propertyChainAxiom ( ex:p ex:q ) .\nex:unrelated ex:p ex:v ."
    )
    axioms = owl_rl.axioms(g)
    assert (EX.unrelated, EX.p, EX.v) not in axioms
    assert (EX.A, RDFS.subClassOf, None) in axioms
    assert {EX.A, EX.p, EX.v, EX.r, EX.q} <= owl_rl.named_terms(axioms)


# --- The bundled knowledge base's worked example ------------------------------------------------------

# Each procedure code's region as ontology/codes/procedure-codes.ttl stated it, one by one, before the
# chain on gr:spinalRegion (ontology/core.ttl) took over the eleven that follow from the code's class.
REGIONS = {
    "cpt/27096": "SacroiliacJointRegion",
    "hcpcs/G0260": "SacroiliacJointRegion",
    "cpt/64451": "SacroiliacJointRegion",
    "cpt/64625": "SacroiliacJointRegion",
    "hcpcs/G0259": "SacroiliacJointRegion",
    "cpt/64490": "CervicothoracicRegion",
    "cpt/64491": "CervicothoracicRegion",
    "cpt/64492": "CervicothoracicRegion",
    "cpt/64493": "LumbosacralRegion",
    "cpt/64494": "LumbosacralRegion",
    "cpt/64495": "LumbosacralRegion",
    "cpt/64633": "CervicothoracicRegion",
    "cpt/64634": "CervicothoracicRegion",
    "cpt/64635": "LumbosacralRegion",
    "cpt/64636": "LumbosacralRegion",
    "cpt/62321": "CervicothoracicRegion",
    "cpt/62323": "LumbosacralRegion",
    "cpt/64479": "CervicothoracicRegion",
    "cpt/64480": "CervicothoracicRegion",
    "cpt/64483": "LumbosacralRegion",
    "cpt/64484": "LumbosacralRegion",
}
CODE = "https://w3id.org/guideline-reasoner/code/"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def test_every_code_has_the_region_it_had_when_listed_by_hand(kb: KnowledgeBase) -> None:
    regions = {str(iri)[len(CODE) :]: c.region.split("#")[-1] for iri, c in kb.codes.items() if c.region is not None}
    assert regions == REGIONS


def test_the_regions_of_eleven_codes_come_from_the_chain() -> None:
    graph = Graph()
    axioms = owl_rl.rl_axioms([parse_into(graph, rel, data) for rel, data in KnowledgeFiles.read(ROOT).ontology])
    assert (GR.spinalRegion, OWL.propertyChainAxiom, None) in axioms
    stated = {s for s in graph.subjects(GR.spinalRegion, None)}
    entailed = set(close_knowledge_base(graph, axioms).subjects(GR.spinalRegion, None)) - stated
    assert sorted(str(s)[len(CODE) :] for s in entailed) == sorted(
        ["cpt/27096", "hcpcs/G0260", "cpt/64451", "cpt/64625", "hcpcs/G0259"]
        + [f"cpt/{n}" for n in (64490, 64491, 64492, 64493, 64494, 64495)]
    )
    assert not set(close_knowledge_base(graph).subjects(GR.spinalRegion, None)) - stated  # RDFS alone: none


# --- Lint: the profile, by place -----------------------------------------------------------------------


def _problems(text: str, *, rl: bool = True) -> list[tuple[str, str]]:
    return sorted((check, message) for _f, _t, check, message in profile_problems({"f.ttl": _turtle(text, rl=rl)}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ex:A rdfs:subClassOf [ a owl:Restriction ; owl:onProperty ex:p ; owl:someValuesFrom ex:B ] .",
            "owl:someValuesFrom as a superclass",
        ),
        (
            "[ a owl:Restriction ; owl:onProperty ex:p ; owl:allValuesFrom ex:B ] rdfs:subClassOf ex:A .",
            "owl:allValuesFrom as a subclass",
        ),
        ("ex:A owl:equivalentClass [ owl:unionOf ( ex:B ex:C ) ] .", "owl:unionOf as an equivalent class"),
        (
            "ex:A rdfs:subClassOf [ a owl:Restriction ; owl:onProperty ex:p ; owl:maxCardinality 2 ] .",
            "owl:maxCardinality 2 is outside",
        ),
        ("ex:p a owl:ReflexiveProperty .", "owl:ReflexiveProperty is outside OWL 2 RL"),
        (
            "ex:A rdfs:subClassOf [ owl:intersectionOf ( ex:B "
            "[ a owl:Restriction ; owl:onProperty ex:p ; owl:someValuesFrom ex:C ] ) ] .",
            "owl:someValuesFrom as a superclass",
        ),
    ],
)
def test_a_construct_where_the_profile_does_not_allow_it_is_a_finding(text: str, expected: str) -> None:
    problems = _problems(text)
    assert [c for c, _ in problems] == ["owl-profile"]
    assert expected in problems[0][1]


@pytest.mark.parametrize(
    "text",
    [
        "[ a owl:Restriction ; owl:onProperty ex:p ; owl:someValuesFrom ex:B ] rdfs:subClassOf ex:A .",
        "ex:A rdfs:subClassOf [ a owl:Restriction ; owl:onProperty ex:p ; owl:allValuesFrom ex:B ] .",
        "ex:A rdfs:subClassOf [ a owl:Restriction ; owl:onProperty ex:p ; owl:maxCardinality 1 ] .",
        "ex:A owl:equivalentClass [ owl:intersectionOf ( ex:B "
        "[ a owl:Restriction ; owl:onProperty ex:p ; owl:hasValue ex:v ] ) ] .",
        "ex:p owl:inverseOf ex:q .\nex:r owl:propertyChainAxiom ( ex:p ex:q ) .\nex:t a owl:TransitiveProperty .",
    ],
)
def test_what_the_profile_allows_is_no_finding(text: str) -> None:
    assert _problems(text) == []


def test_owl_in_a_file_under_rdfs_is_a_finding_once_per_resource() -> None:
    problems = _problems(
        "ex:p owl:inverseOf ex:q .\nex:r owl:inverseOf ex:s .\n"
        "ex:A rdfs:subClassOf [ a owl:Restriction ; owl:onProperty ex:p ; owl:someValuesFrom ex:B ] .",
        rl=False,
    )
    assert [c for c, _ in problems] == ["owl-construct"] * 3
    assert sum("owl:inverseOf is not entailed under RDFS" in m for _, m in problems) == 2
    assert sum("owl:Restriction, owl:onProperty, owl:someValuesFrom are not entailed" in m for _, m in problems) == 1
    assert all("OWL-RL" in m for _, m in problems)


def test_an_unknown_regime_is_a_finding() -> None:
    g = _turtle(
        "<https://example.org/x> a owl:Ontology ; gr:entailmentRegime <http://www.w3.org/ns/entailment/D> .", rl=False
    )
    ((_f, term, check, message),) = profile_problems({"f.ttl": g})
    assert (check, term) == ("entailment-regime", URIRef("https://example.org/x"))
    assert "<http://www.w3.org/ns/entailment/D>" in message
    assert owl_rl.regime(g) == owl_rl.RDFS_REGIME


def test_an_equivalence_under_rl_can_make_a_class_unsatisfiable() -> None:
    g = _turtle("ex:A owl:equivalentClass ex:B .\nex:B owl:disjointWith ex:C .\nex:X rdfs:subClassOf ex:A, ex:C .")
    assert disjointness_problems(g) == []  # under RDFS the equivalence says nothing
    ((term, message),) = disjointness_problems(g, owl_rl.axioms(g))
    assert term == EX.X
    assert "unsatisfiable" in message


def test_a_literal_max_that_is_not_a_number_is_a_finding() -> None:
    g = _turtle('ex:A rdfs:subClassOf [ a owl:Restriction ; owl:onProperty ex:p ; owl:maxCardinality "one" ] .')
    assert [p[2] for p in profile_problems({"f.ttl": g})] == ["owl-profile"]
    assert Literal("one") in {o for o in g.objects(None, OWL.maxCardinality)}


def test_owlrl_names_what_contradicts_an_rl_axiom() -> None:
    g = _turtle("ex:supersedes a owl:IrreflexiveProperty .\nex:x ex:supersedes ex:x .\nex:y ex:supersedes ex:x .")
    axioms = owl_rl.axioms(g)
    (message,) = owl_rl.inconsistencies(close_knowledge_base(g, axioms), axioms)
    assert "Irreflexive property" in message
    assert str(EX.x) in message
    assert str(EX.y) not in message
    consistent = _turtle("ex:supersedes a owl:IrreflexiveProperty .\nex:y ex:supersedes ex:x .")
    assert (
        owl_rl.inconsistencies(close_knowledge_base(consistent, owl_rl.axioms(consistent)), owl_rl.axioms(consistent))
        == []
    )


def test_only_axioms_that_can_be_contradicted_are_checked_for_contradictions() -> None:
    assert not owl_rl.constrains(owl_rl.axioms(_turtle("ex:r owl:propertyChainAxiom ( ex:p ex:q ) .")))
    assert owl_rl.constrains(owl_rl.axioms(_turtle("ex:p a owl:AsymmetricProperty .")))
    assert owl_rl.constrains(owl_rl.axioms(_turtle("ex:p owl:propertyDisjointWith ex:q .")))
    assert not owl_rl.axioms(_turtle("[] a owl:AllDisjointClasses ; owl:members ( ex:A ex:B ) ."))  # lint's own check


def test_owlrl_leaves_the_checked_number_converters_bound_while_it_runs() -> None:
    """A request parsed while a server reloads must keep the caps on its numbers (reasoner/_rdf/literals.py)."""
    import rdflib.term

    import reasoner.intake.limits  # noqa: F401 - binds the checking converters

    decimal = URIRef("http://www.w3.org/2001/XMLSchema#decimal")
    bound = rdflib.term._toPythonMapping[decimal]
    seen: list[object] = []

    class Watched(Graph):
        def triples(self, *args, **kwargs):  # type: ignore[no-untyped-def]  # owlrl reads every pass through it
            seen.append(rdflib.term._toPythonMapping[decimal])
            return super().triples(*args, **kwargs)

    g = Watched()
    g += _turtle("ex:p owl:inverseOf ex:q .\nex:a ex:p ex:b .")
    owl_rl.expand(g)
    assert seen and all(c is bound for c in seen)  # not owlrl's own converters, even for a moment
    assert "_checked" in rdflib.term._toPythonMapping[decimal].__qualname__  # type: ignore[union-attr]
