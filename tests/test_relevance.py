"""Leaving out history a policy cannot see never changes a determination.

Every example, and every example with the history of all examples pooled into it, is determined
under every policy with the irrelevant history left out and with the whole case, and the two
must be equal. Each hazard the analysis guards against has a shape that must stop it.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, URIRef

from reasoner import KnowledgeBase
from reasoner.intake.json_case.load import load_json
from reasoner.intake.json_case.schema import VALUES
from reasoner.intake.json_case.to_rdf import to_graph
from reasoner.intake.json_case.triples import code_iri
from reasoner.intake.sieve import Sieve
from reasoner.knowledge import derivations, relevance
from reasoner.pipeline import determine_case, determine_parsed, parse_case
from reasoner.vocab import CV

from .conftest import EXAMPLES, ROOT

HISTORY = (
    *("priorProcedures", "conservativeCare", "examFindings", "imagingFindings", "conditions"),
    *("observations", "treatments", "devices", "usageSeries"),
)
CASES = sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json"))


def _both(payload: bytes, kb: KnowledgeBase, policies: list[str]) -> Iterator[tuple[str, Any, Any]]:
    """Per policy, the determination with irrelevant history left out and the one from the whole case.

    The case is read once (validated, and parsed whole) for all the policies: what differs between
    the two answers is only what ``determine`` leaves out for the policy.
    """
    loaded = load_json(payload)
    whole = parse_case(payload, "json", kb)
    for policy in policies:
        pruned = determine_case(loaded, kb, policy=policy).model_dump()
        yield policy, pruned, determine_parsed(whole, kb, policy=policy).model_dump()


@functools.cache
def _pooled() -> dict[str, list[dict[str, Any]]]:
    """Every history item of every example, each with a document of its own, dated 2015 on."""
    pool: dict[str, list[dict[str, Any]]] = {key: [] for key in (*HISTORY, "documents")}
    when = date(2015, 1, 5)
    for path in CASES:
        case = json.loads(path.read_text())
        for key in HISTORY:
            for item in case.get(key, []):
                doc = f"pool-{len(pool['documents'])}"
                when += timedelta(days=9)
                pool["documents"].append({"id": doc, "kind": "clinic-note", "date": when.isoformat()})
                added = {**copy.deepcopy(item), "source": doc}
                if key == "priorProcedures" and "date" in item:
                    added["date"] = when.isoformat()
                for ref in ("id", "device"):  # a device's id, and a series' reference to it, made unique
                    if ref in added and key in ("devices", "usageSeries"):
                        added[ref] = f"{path.stem}-{added[ref]}"
                pool[key].append(added)
    return pool


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_every_example_is_the_same_under_every_policy(path: Path, kb: KnowledgeBase) -> None:
    for policy, pruned, whole in _both(path.read_bytes(), kb, sorted(kb.policies)):
        assert pruned == whole, policy


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_every_example_with_all_history_pooled_is_the_same(path: Path, kb: KnowledgeBase) -> None:
    case = json.loads(path.read_text())
    pool = _pooled()
    for key, items in pool.items():
        case[key] = case.get(key, []) + items
    payload = json.dumps(case).encode()
    # Under a policy that addresses none of the requested codes the answer (no applicable guideline,
    # no criteria) cannot read history, and the test above decides every example under every policy.
    addressing = [p.id for p in kb.policies_addressing(code_iri(c["code"]) for c in case["request"]["codes"])]
    assert addressing or path.stem.endswith("office-visit"), "an example whose codes no policy addresses"
    for policy, pruned, whole in _both(payload, kb, addressing):
        assert pruned == whole, policy


def test_the_generated_long_history_is_the_same_and_smaller(kb: KnowledgeBase) -> None:
    from bench.generated import case_with_history

    payload = case_with_history(300)
    for policy, pruned, whole in _both(payload, kb, sorted(kb.policies)):
        assert pruned == whole, policy
    model = load_json(payload)
    facet = relevance.for_policy(kb, kb.policy("medicare-facet-lcd"))
    small, large = to_graph(model, kb, facet), to_graph(model, kb)
    assert set(small) < set(large) and len(small) < 0.8 * len(large)


def test_the_bundled_policies_leave_out_what_they_cannot_see(kb: KnowledgeBase) -> None:
    # The positive control for the hazards below: without them, facts are left out.
    facet = relevance.for_policy(kb, kb.policy("medicare-facet-lcd"))
    assert {CV.priorProcedure, CV.examFinding} <= set(facet.kinds)
    assert facet.documents is not None and facet.documents.kinds == {VALUES["imaging-report"]}
    assert CV.conservativeCare not in facet.kinds  # failed care counts whatever its kind


# --- hazards: each must keep facts -------------------------------------------------------------

PREFIXES = """
PREFIX cv: <https://w3id.org/guideline-reasoner/case#>
PREFIX gr: <https://w3id.org/guideline-reasoner/core#>
PREFIX proc: <https://w3id.org/guideline-reasoner/procedure#>
PREFIX sh: <http://www.w3.org/ns/shacl#>
PREFIX ex: <urn:hazard:>
"""


def _with(
    kb: KnowledgeBase, turtle: str, policy: str = "medicare-facet-lcd", prefixes: str = PREFIXES
) -> relevance.Relevance:
    """The policy's relevance with one more root shape, ``ex:Root`` (``urn:hazard:Root``), written in ``turtle``."""
    shapes = Graph()
    for triple in kb.shapes:
        shapes.add(triple)
    shapes.parse(data=prefixes + turtle, format="turtle")
    roots, seen = relevance.inputs(kb, kb.policy(policy).iri)
    root = URIRef("urn:hazard:Root")
    return relevance.analyse(shapes, roots | {root}, seen, lambda c: kb.types_of([c]), derivations.needs_of(kb))


HAZARDS = {
    "an unqualified count of procedures": (
        "ex:Root sh:targetClass cv:Case ; sh:property [ sh:path cv:priorProcedure ; sh:maxCount 3 ] .",
        {CV.priorProcedure},
    ),
    "a qualified count without a class": (
        "ex:Root sh:targetClass cv:Case ; sh:property [ sh:path cv:priorProcedure ;"
        " sh:qualifiedValueShape [ sh:property [ sh:path cv:date ; sh:minCount 1 ] ] ; sh:qualifiedMaxCount 3 ] .",
        {CV.priorProcedure},
    ),
    "a deactivated qualified shape": (
        "ex:Root sh:targetClass cv:Case ; sh:property [ sh:path cv:priorProcedure ;"
        " sh:qualifiedValueShape [ sh:class proc:MedialBranchBlock ; sh:deactivated true ] ;"
        " sh:qualifiedMaxCount 3 ] .",
        {CV.priorProcedure},
    ),
    "the kind's own class as a target": (
        "ex:Root sh:targetClass cv:PriorProcedure ; sh:property [ sh:path cv:date ; sh:minCount 1 ] .",
        {CV.priorProcedure},
    ),
    "the link inside a longer path": (
        "ex:Root sh:targetClass cv:Case ; sh:property [ sh:path ( cv:examFinding cv:result ) ; sh:minCount 1 ] .",
        {CV.examFinding},
    ),
    "an inverse path back from documents": (
        "ex:Root sh:targetClass cv:SourceDocument ; sh:property [ sh:path [ sh:inversePath cv:source ] ;"
        " sh:maxCount 1 ] .",
        {CV.priorProcedure, CV.examFinding},
    ),
    "a type step in the middle of a path": (
        "ex:Root sh:targetClass cv:Case ; sh:property [ sh:path ( cv:request [ sh:inversePath <http://www.w3.org/"
        "1999/02/22-rdf-syntax-ns#type> ] ) ; sh:maxCount 1 ] .",
        {CV.priorProcedure, CV.examFinding},
    ),
    "a target by a predicate facts carry": (
        "ex:Root sh:targetSubjectsOf cv:test ; sh:property [ sh:path cv:result ; sh:minCount 1 ] .",
        {CV.examFinding},
    ),
    "the link repeated": (
        "ex:Root sh:targetClass cv:Case ; sh:property [ sh:path [ sh:zeroOrMorePath cv:examFinding ] ;"
        " sh:maxCount 1 ] .",
        {CV.examFinding},
    ),
    "the link before another step in an alternative": (
        "ex:Root sh:targetClass cv:Case ; sh:property [ sh:path [ sh:alternativePath ( cv:request"
        " ( cv:examFinding cv:result ) ) ] ; sh:qualifiedValueShape [ sh:class cv:Positive ] ;"
        " sh:qualifiedMaxCount 0 ] .",
        {CV.examFinding},
    ),
    "a qualified choice with an option of no class": (
        "ex:Root sh:targetClass cv:Case ; sh:property [ sh:path cv:examFinding ; sh:qualifiedValueShape"
        " [ sh:or ( [ sh:class cv:Case ] [ sh:property [ sh:path cv:result ; sh:minCount 1 ] ] ) ] ;"
        " sh:qualifiedMaxCount 3 ] .",
        {CV.examFinding},
    ),
    "the link compared by another property": (
        "ex:Root sh:targetClass cv:Case ; sh:property [ sh:path cv:request ; sh:disjoint cv:examFinding ] .",
        {CV.examFinding},
    ),
    "the link's objects targeted": (
        "ex:Root sh:targetObjectsOf cv:examFinding ; sh:property [ sh:path cv:result ; sh:minCount 1 ] .",
        {CV.examFinding},
    ),
    "a closed shape": (
        "ex:Root sh:targetClass cv:Case ; sh:closed true ; sh:ignoredProperties ( cv:request ) .",
        {CV.priorProcedure, CV.examFinding},
    ),
    "SPARQL": (
        'ex:Root sh:targetClass cv:Case ; sh:sparql [ sh:select "SELECT $this WHERE { }" ] .',
        {CV.priorProcedure, CV.examFinding},
    ),
    "a case node named": (
        "ex:Root sh:targetNode <https://w3id.org/guideline-reasoner/case-data/c/procedure-1> ;"
        " sh:property [ sh:path cv:date ; sh:minCount 1 ] .",
        {CV.priorProcedure, CV.examFinding},
    ),
}


@pytest.mark.parametrize("name", sorted(HAZARDS))
def test_a_hazard_keeps_the_facts_it_could_see(name: str, kb: KnowledgeBase) -> None:
    turtle, kept = HAZARDS[name]
    assert kept <= set(relevance.for_policy(kb, kb.policy("medicare-facet-lcd")).kinds)  # skippable without it
    assert kept.isdisjoint(_with(kb, turtle).kinds), name


def test_a_custom_constraint_component_keeps_everything(kb: KnowledgeBase) -> None:
    hazard = _with(kb, "ex:Component a sh:ConstraintComponent . ex:Root sh:targetClass cv:Case .")
    assert hazard.kinds == {} and hazard.documents is None


def test_documents_read_other_than_by_kind_are_all_kept(kb: KnowledgeBase) -> None:
    assert _with(kb, "ex:Root sh:targetClass cv:Case .").documents is not None
    read = _with(
        kb, "ex:Root sh:targetClass cv:Case ; sh:property [ sh:path ( cv:document cv:date ) ; sh:minCount 1 ] ."
    )
    assert read.documents is None
    counted = _with(kb, "ex:Root sh:targetClass cv:SourceDocument ; sh:property [ sh:path cv:date ; sh:minCount 1 ] .")
    assert counted.documents is None


def test_a_knowledge_base_that_counts_every_procedure_gets_the_same_answer(tmp_path: Path) -> None:
    # End to end: a criterion that counts every prior procedure must see the irrelevant ones.
    import shutil

    shutil.copytree(ROOT / "ontology", tmp_path / "ontology")
    shutil.copytree(ROOT / "shapes", tmp_path / "shapes")
    (tmp_path / "shapes" / "criteria" / "zz-hazard.ttl").write_text(
        PREFIXES
        + """PREFIX grs: <https://w3id.org/guideline-reasoner/shapes/>
PREFIX mfacet: <https://w3id.org/guideline-reasoner/kb/medicare-facet-lcd/>
grs:HazardShape a sh:NodeShape ; sh:targetClass cv:Case ; gr:checks mfacet:code-covered ;
    sh:property grs:HazardShape-count .
grs:HazardShape-count a sh:PropertyShape ; sh:path cv:priorProcedure ; sh:maxCount 3 ;
    sh:name "procedures" ; sh:message "Too many procedures."@en ; sh:severity sh:Violation .
"""
    )
    kb = KnowledgeBase.load(tmp_path)
    assert CV.priorProcedure not in relevance.for_policy(kb, kb.policy("medicare-facet-lcd")).kinds
    from bench.generated import case_with_history

    ((_, pruned, whole),) = _both(case_with_history(30), kb, ["medicare-facet-lcd"])
    assert pruned == whole and pruned["outcome"] == "not-medically-necessary"


def test_a_fact_classified_by_an_unknown_property_is_always_kept(kb: KnowledgeBase) -> None:
    import dataclasses

    facet = relevance.for_policy(kb, kb.policy("medicare-facet-lcd"))
    faber = ((CV.test, URIRef("https://w3id.org/guideline-reasoner/finding#FaberTest")),)
    assert not Sieve(kb, facet, []).keeps(CV.examFinding, 5, None, faber)
    assert Sieve(kb, None, []).keeps(CV.examFinding, 5, None, faber)
    # A knowledge base that classifies by a property the intake does not know: nothing is left out.
    wider = dataclasses.replace(kb, classifying=kb.classifying | {CV.result})
    assert Sieve(wider, facet, []).keeps(CV.examFinding, 5, None, faber)


def test_the_predicates_each_kind_carries_are_all_listed(kb: KnowledgeBase) -> None:
    # The analysis refuses inverse steps and targets over what facts carry: KINDS must list it all.
    from reasoner.enrich.stage import enrich
    from reasoner.vocab import GR

    # Every example's facts are in the pool; what the enrichment derives varies with the policy and
    # the request's codes and fields: one example of each such kind is enough.
    kinds: dict[tuple[Any, ...], Path] = {}
    for path in CASES:
        c = json.loads(path.read_text())
        kinds.setdefault((c.get("policy"), *sorted(c["request"]), *(x["code"] for x in c["request"]["codes"])), path)
    for path in kinds.values():
        case = json.loads(path.read_text())
        for key, items in _pooled().items():
            case[key] = case.get(key, []) + items
        graph = parse_case(json.dumps(case).encode(), "json", kb).graph
        enriched = enrich(graph, kb, kb.policy(case.get("policy") or "sij-clinical-pathway")).graph
        for link, (_kind, carried) in relevance.KINDS.items():
            for fact in enriched.objects(None, link):
                said = set(enriched.predicates(fact)) - carried - {*relevance._EVERY_FACT, GR.completesStep}
                assert not said, (path.name, link, said)
        for doc in enriched.objects(None, CV.document):
            assert set(enriched.predicates(doc)) <= relevance._DOCUMENT_PREDICATES, path.name
