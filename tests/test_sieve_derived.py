"""The sieve and derived facts (issue 17): a case is cut to the facts a policy's derivations and shapes read.

A derivation reads facts by their classes (reasoner/knowledge/derivations.py ``needs_of``); the
relevance analysis keeps exactly those (a ``gr:SelectFact``'s facts, with its method class when
given; a ``gr:WindowedSeriesAggregate``'s series, with their samples and device) and leaves out
the observations, treatments, devices and series no derivation or shape reads. Each case here is
decided with and without the sieve, and the two must be equal; a sieve that forgot what
derivations read is shown to change an answer, so that check would catch it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from rdflib import URIRef

from reasoner.intake.json_case.load import load_json
from reasoner.intake.json_case.to_rdf import to_graph
from reasoner.knowledge import derivations, relevance
from reasoner.knowledge.base import KnowledgeBase
from reasoner.pipeline import determine, determine_parsed, parse_case
from reasoner.vocab import CASE_DATA, CV, OBS, PROC

from .conftest import EXAMPLES
from .test_derived import _kb_copy

CASE_ID = "sieve-derived"


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return KnowledgeBase.load(_kb_copy(tmp_path_factory.mktemp("kb"), "toy-ferritin.ttl", "toy-adherence.ttl"))


def _node(name: str) -> URIRef:
    return URIRef(f"{CASE_DATA}{CASE_ID}/{name}")


def _kept(kb: KnowledgeBase, case: dict[str, Any], rel: relevance.Relevance | None = None) -> set[URIRef]:
    """The history facts the sieved graph holds, and the samples of its series."""
    model = load_json(json.dumps(case).encode())
    g = to_graph(model, kb, rel or relevance.for_policy(kb, kb.policy(case["policy"])))
    out = {f for link in relevance.KINDS for f in g.objects(None, link) if isinstance(f, URIRef)}
    return out | {s for s in g.objects(None, CV.sample) if isinstance(s, URIRef)}


def _same(kb: KnowledgeBase, case: dict[str, Any]) -> dict[str, Any]:
    """The determination with the sieve, asserted equal to that of the whole case."""
    payload = json.dumps(case).encode()
    pruned = determine(payload, "json", kb).model_dump()
    whole = determine_parsed(parse_case(payload, "json", kb), kb).model_dump()
    assert pruned == whole
    return pruned


def _case(policy: str, code: str, request_date: str, **history: Any) -> dict[str, Any]:
    for items in history.values():
        for item in items:
            item.setdefault("source", "note")
    return {
        "id": CASE_ID,
        "policy": policy,
        "patient": "p1",
        "request": {"date": request_date, "codes": [{"code": code, "units": 1}], "diagnoses": ["R53.83"]},
        "documents": [{"id": "note", "kind": "clinic-note", "date": "2026-01-01", "title": "Note"}],
        **history,
    }


OTHER_HISTORY: dict[str, Any] = {  # facts no toy policy reads
    "treatments": [{"kind": "SupervisedWeightManagement", "start": "2025-01-01", "outcome": "failed"}],
    "conditions": [{"code": "E11.9", "status": "active"}],
}


def _ferritin_case() -> dict[str, Any]:
    return _case(
        "toy-ferritin",
        "J1439",
        "2026-11-02",
        observations=[
            {"code": "SerumFerritin", "value": 12, "unit": "ng/mL", "date": "2026-06-01", "source": "note"},
            {"code": "BodyMassIndex", "value": 33, "unit": "kg/m2", "date": "2026-10-01", "source": "note"},
            {"code": "SerumFerritin", "value": 45, "unit": "ng/mL", "date": "2026-10-20", "source": "note"},
            {"code": "SleepApneaIndex", "value": 22, "unit": "{events}/h", "date": "2026-10-02", "method": "G0399"},
        ],
        devices=[{"id": "cpap", "code": "E0601", "start": "2026-01-05"}],
        usageSeries=[{"device": "cpap", "code": "RecordingTime", "unit": "h", "start": "2026-10-01", "values": [5]}],
        **copy.deepcopy(OTHER_HISTORY),
    )


def test_a_select_fact_keeps_the_facts_of_its_class_and_nothing_else(toy: KnowledgeBase) -> None:
    case = _ferritin_case()
    kept = _kept(toy, case)
    assert kept == {_node("observation-1"), _node("observation-3")}  # both ferritins: either may be the latest
    assert _same(toy, case)["outcome"] == "medically-necessary"
    everything = _kept(toy, case, relevance.NOTHING_SKIPPED)
    assert _node("observation-2") in everything and _node("series-1-day-1") in everything  # the control


def _adherence_case() -> dict[str, Any]:
    nights = [5] * 25 + [1] * 5
    return _case(
        "toy-adherence",
        "A9999",
        "2026-04-20",
        observations=[
            {"code": "ToyReEvaluation", "date": "2026-02-20", "source": "note"},
            {"code": "BodyMassIndex", "value": 33, "unit": "kg/m2", "date": "2026-02-01"},
        ],
        devices=[
            {"id": "cpap", "code": "E0601", "start": "2025-06-01"},
            {"id": "toy", "code": "A9999", "start": "2026-01-05", "source": "note"},
        ],
        usageSeries=[
            {"device": "cpap", "code": "RecordingTime", "unit": "h", "start": "2026-01-05", "values": [2, 3]},
            {"device": "toy", "code": "ToyNightlyUse", "unit": "h", "start": "2026-01-05", "values": nights},
        ],
        **copy.deepcopy(OTHER_HISTORY),
    )


def test_a_series_aggregate_keeps_its_series_samples_and_device(toy: KnowledgeBase) -> None:
    case = _adherence_case()
    kept = _kept(toy, case)
    samples = {_node(f"series-2-day-{k}") for k in range(1, 31)}
    # The set-up (a SelectFact on the device's class), the re-evaluation, the nightly use and its nights.
    assert kept == {_node("device-2"), _node("observation-1"), _node("series-2"), *samples}
    assert _same(toy, case)["outcome"] == "medically-necessary"


def test_the_bundled_policies_keep_what_their_derivations_read(kb: KnowledgeBase) -> None:
    bar = json.loads((EXAMPLES / "bar-lap-rygb.json").read_text())
    pap = json.loads((EXAMPLES / "pap-initial-b1-hst.json").read_text())
    bar["observations"] += copy.deepcopy(pap["observations"])  # PAP's, which bariatric surgery never reads
    pap["observations"] += copy.deepcopy(bar["observations"][:1])  # a BMI, which PAP never reads
    pap["treatments"] = copy.deepcopy(bar["treatments"])
    bar["documents"], pap["documents"] = (bar["documents"] + pap["documents"],) * 2
    for case, kept in (
        (bar, {"observation-1", "condition-1", "treatment-1"}),  # the BMI; every treatment is considered
        (pap, {"observation-1", "observation-2", "observation-3"}),  # the evaluation, the test, the instruction
    ):
        case["id"] = CASE_ID
        assert _kept(kb, case) == {_node(name) for name in kept}, case["policy"]
        _same(kb, case)


def test_a_sieve_that_forgets_derivations_changes_the_answer(toy: KnowledgeBase) -> None:
    # The bad sieve: the same analysis, blind to what derivations read. The ferritins go, and the
    # criterion pends where the whole case meets it: the equality checks here and in
    # tests/test_relevance.py catch a sieve that drops a fact a derivation needs.
    case = _ferritin_case()
    policy = toy.policy("toy-ferritin")
    roots, seen = relevance.inputs(toy, policy.iri)
    blind = relevance.analyse(toy.shapes, roots, seen, lambda c: toy.types_of([c]))
    assert _kept(toy, case, blind) == set()
    model = load_json(json.dumps(case).encode())
    from reasoner.pipeline import determine_graph

    answer = determine_graph(to_graph(model, toy, blind), toy, policy="toy-ferritin")
    assert answer.outcome == "pended-information-needed"
    assert _same(toy, case)["outcome"] == "medically-necessary"


HAZARD = """
PREFIX cv: <https://w3id.org/guideline-reasoner/case#>
PREFIX gr: <https://w3id.org/guideline-reasoner/core#>
PREFIX sh: <http://www.w3.org/ns/shacl#>
PREFIX tad: <https://w3id.org/guideline-reasoner/kb/toy-adherence/>
"""


def _with(kb: KnowledgeBase, turtle: str) -> relevance.Relevance:
    """The toy ferritin policy's relevance with one more root shape, ``urn:hazard:Root``."""
    from .test_relevance import _with as with_root

    return with_root(kb, turtle, "toy-ferritin", HAZARD)


def test_a_derived_node_reached_from_its_derivation_keeps_what_it_reads(toy: KnowledgeBase) -> None:
    use = toy.types_of([OBS.ToyNightlyUse]) | {CV.UsageSeries}
    assert not relevance.for_policy(toy, toy.policy("toy-ferritin")).needed(CV.usageSeries, use, 9)
    targeted = _with(  # ^gr:derivation first from the derivation: what it reads, and what those read
        toy,
        "<urn:hazard:Root> sh:targetNode tad:adherence ; sh:property [ sh:path ( [ sh:inversePath gr:derivation ]"
        " gr:derivedValue ) ; sh:minCount 1 ] .",
    )
    assert targeted.needed(CV.usageSeries, use, 9)
    setup = toy.types_of([PROC.ToyBreathingDevice]) | {CV.Device}
    assert targeted.needed(CV.device, setup, 9)  # tad:adherence counts from tad:setup
    assert not targeted.needed(CV.observation, toy.types_of([OBS.ToyReEvaluation]) | {CV.Observation}, 9)
    anywhere = _with(  # reached other than from a derivation: what every derivation reads
        toy,
        "<urn:hazard:Root> sh:targetClass cv:Case ; sh:property [ sh:path ( cv:request [ sh:inversePath"
        " gr:derivation ] gr:derivedValue ) ; sh:maxCount 1 ] .",
    )
    assert anywhere.needed(CV.observation, toy.types_of([OBS.ToyReEvaluation]) | {CV.Observation}, 9)
    assert anywhere.needed(CV.usageSeries, use, 9)


def test_a_method_class_narrows_what_a_select_fact_keeps() -> None:
    d = derivations.Derivation(
        URIRef("urn:d"), derivations.GR.SelectFact, "d", "d", fact_class=OBS.SleepApneaIndex, method_class=PROC.Psg
    )
    assert d.needs == (frozenset({OBS.SleepApneaIndex, PROC.Psg}),)  # a fact needs both classes
    series = derivations.Derivation(
        URIRef("urn:s"), derivations.GR.WindowedSeriesAggregate, "s", "s", series_class=OBS.X
    )
    assert series.needs == (frozenset({OBS.X}),)
    assert derivations.Derivation(URIRef("urn:e"), derivations.GR.Elapsed, "e", "e").needs == ()


def test_the_examples_cover_the_new_kinds() -> None:
    # tests/test_relevance.py pools every example's history, the new kinds included.
    from .test_relevance import HISTORY

    assert {"observations", "treatments", "devices", "usageSeries"} <= set(HISTORY)
    assert any(Path(p).name.startswith(("bar-", "pap-")) for p in EXAMPLES.glob("*.json"))
