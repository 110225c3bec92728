"""Derived facts declared as data (issue 17): a policy in Turtle only decides cases, three-valued.

The proof of the issue: a copy of the bundled knowledge base with one more policy written in a
temporary folder, Turtle only (tests/fixtures/derived/toy-ferritin.ttl: a serum ferritin of at
least 30 ng/mL within 90 days before the request, an observation kind the bundled knowledge base
never mentions), decides a case met, not met and pended. A second toy policy
(toy-adherence.ttl) exercises the windowed series aggregate, the elapsed day number and a required
fact, edge by edge.

The cases are Turtle: the request part is built by the JSON intake, the observations, device and
series are added with rdflib (tests/test_generic_facts.py covers the JSON and FHIR forms of them).
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from rdflib import RDF, XSD, Graph, Literal, URIRef

from reasoner.errors import CaseShapeError, KnowledgeBaseError
from reasoner.intake.json_case.load import load_json
from reasoner.intake.json_case.to_rdf import to_case
from reasoner.knowledge.base import KnowledgeBase
from reasoner.knowledge.lint import lint
from reasoner.model import Determination, Status
from reasoner.pipeline import determine
from reasoner.vocab import CV, GR, HCPCS, OBS

from .conftest import FIXTURES, ROOT, bundled_kb

DERIVED = FIXTURES / "derived"
CASE = "https://w3id.org/guideline-reasoner/case-data/derived-test/"


def _kb_copy(dest: Path, *policies: str) -> Path:
    shutil.copytree(ROOT / "ontology", dest / "ontology")
    shutil.copytree(ROOT / "shapes", dest / "shapes")
    for name in policies:
        shutil.copyfile(DERIVED / name, dest / "ontology" / "guidelines" / name)
    return dest


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    root = _kb_copy(tmp_path_factory.mktemp("kb"), "toy-ferritin.ttl", "toy-adherence.ttl")
    report = lint(root)
    assert report.findings == (), "\n".join(map(str, report.findings))
    return KnowledgeBase.load(root)  # lint checks included


def _case(kb: KnowledgeBase, policy: str, code: str, request_date: str) -> Graph:
    """The request part of a case, built by the JSON intake."""
    case = {
        "id": "derived-test",
        "policy": policy,
        "patient": "p1",
        "request": {"date": request_date, "codes": [{"code": code, "units": 1}], "diagnoses": ["R53.83"]},
        "documents": [{"id": "lab-1", "kind": "clinic-note", "date": "2026-01-01", "title": "Report"}],
    }
    return to_case(load_json(json.dumps(case).encode()), kb).graph


def _observation(g: Graph, n: str, kind: URIRef, value: str | None, day: str | None) -> URIRef:
    case_node = next(g.subjects(RDF.type, CV.Case))
    o = URIRef(f"{CASE}observation-{n}")
    g.add((case_node, CV.observation, o))
    g.add((o, RDF.type, CV.Observation))
    g.add((o, CV.observationKind, kind))
    if value is not None:
        g.add((o, CV.value, Literal(value, datatype=XSD.decimal)))
    if day is not None:
        g.add((o, CV.date, Literal(day, datatype=XSD.date)))
    return o


def _decide(kb: KnowledgeBase, g: Graph) -> Determination:
    return determine(g.serialize(format="turtle", encoding="utf-8"), "turtle", kb)


# --- the proof: a Turtle-only policy on an observation the bundled KB never mentions ---------------


def test_the_toy_policy_is_turtle_only_and_compiled(kb: KnowledgeBase) -> None:
    assert "toy-ferritin" in kb.policies
    assert "SerumFerritin" not in "".join(p.read_text() for p in (ROOT / "ontology").rglob("*.ttl"))
    assert kb.validator.uncompiled == frozenset()
    assert [d.iri.rsplit("/", 1)[-1] for d in kb.derivations][:1]  # read at load


@pytest.mark.parametrize(
    ("observations", "outcome", "status", "words"),
    [
        ([("45", "2026-10-01")], "medically-necessary", Status.MET, ": 45, the serum ferritin of 2026-10-01"),
        ([("12", "2026-10-01")], "not-medically-necessary", Status.NOT_MET, "of 2026-10-01 at 12"),
        ([("12", "2026-06-01"), ("45", "2026-10-20")], "medically-necessary", Status.MET, "of 2026-10-20"),
        ([("45", "2026-06-01"), ("12", "2026-10-20")], "not-medically-necessary", Status.NOT_MET, "20 at 12"),
        ([], "pended-information-needed", Status.UNKNOWN, "dated within 90 days"),
        ([("45", "2026-07-01")], "pended-information-needed", Status.UNKNOWN, "dated within 90 days"),  # too old
        ([("45", "2026-11-03")], "pended-information-needed", Status.UNKNOWN, "dated within 90 days"),  # after it
        ([("12", "2026-10-01"), ("45", None)], "pended-information-needed", Status.UNKNOWN, "date of the serum"),
        ([("45", "2026-10-01"), ("50", None)], "pended-information-needed", Status.UNKNOWN, "date of the serum"),
    ],
)
def test_a_turtle_only_policy_decides(
    kb: KnowledgeBase, observations: list[tuple[str, str | None]], outcome: str, status: Status, words: str
) -> None:
    g = _case(kb, "toy-ferritin", "J1439", "2026-11-02")
    for i, (value, day) in enumerate(observations):
        _observation(g, str(i), OBS.SerumFerritin, value, day)
    d = _decide(kb, g)
    assert d.outcome == outcome
    [criterion] = d.criteria
    assert criterion.status is status
    said = criterion.finding + " ".join(f.text for f in criterion.facts) + " ".join(d.missingInformation)
    assert words in said, said


def test_a_window_edge_is_inclusive(kb: KnowledgeBase) -> None:
    g = _case(kb, "toy-ferritin", "J1439", "2026-11-02")
    _observation(g, "0", OBS.SerumFerritin, "45", (date(2026, 11, 2) - timedelta(90)).isoformat())
    assert _decide(kb, g).outcome == "medically-necessary"
    g = _case(kb, "toy-ferritin", "J1439", "2026-11-02")
    _observation(g, "0", OBS.SerumFerritin, "45", (date(2026, 11, 2) - timedelta(91)).isoformat())
    assert _decide(kb, g).outcome == "pended-information-needed"


# --- windowed aggregate, elapsed day number, required fact ------------------------------------------

SETUP = date(2026, 1, 5)


def _device_case(
    kb: KnowledgeBase, nights: list[str | None] | None, reeval_day: int | None = 45, setup: bool = True
) -> Graph:
    """Continued use: a device set up on SETUP, a nightly series from it (None: no data that night)."""
    g = _case(kb, "toy-adherence", "A9999", "2026-04-20")
    case_node = next(g.subjects(RDF.type, CV.Case))
    device = URIRef(f"{CASE}device-1")
    g.add((case_node, CV.device, device))
    g.add((device, RDF.type, CV.Device))
    g.add((device, CV.code, HCPCS.A9999))
    if setup:
        g.add((device, CV.start, Literal(SETUP.isoformat(), datatype=XSD.date)))
    if nights is not None:
        series = URIRef(f"{CASE}series-1")
        g.add((case_node, CV.usageSeries, series))
        g.add((series, RDF.type, CV.UsageSeries))
        g.add((series, CV.observationKind, OBS.ToyNightlyUse))
        for i, hours in enumerate(nights):
            if hours is None:
                continue
            sample = URIRef(f"{CASE}series-1-day-{i + 1}")
            g.add((series, CV.sample, sample))
            g.add((sample, RDF.type, CV.UsageSample))
            g.add((sample, CV.date, Literal((SETUP + timedelta(i)).isoformat(), datatype=XSD.date)))
            g.add((sample, CV.value, Literal(hours, datatype=XSD.decimal)))
    if reeval_day is not None:
        _observation(g, "reeval", OBS.ToyReEvaluation, None, (SETUP + timedelta(reeval_day - 1)).isoformat())
    return g


def _status(d: Determination, criterion: str) -> Status:
    return next(c.status for c in d.criteria if c.id == f"toy-adherence/{criterion}")


def _nights(met: int, gaps: int = 0, total: int = 90) -> list[str | None]:
    """``met`` good nights, then ``gaps`` without data, then short nights, ``total`` in all."""
    return ["6.5"] * met + [None] * gaps + ["2"] * (total - met - gaps)


@pytest.mark.parametrize(
    ("nights", "status", "words"),
    [
        (_nights(21), Status.MET, "21 of 30 days with at least 4 hours"),  # exactly 70 %: met
        (["4"] * 21 + ["3.99"] * 69, Status.MET, "21 of 30 days"),  # exactly the per-night threshold counts
        (_nights(20), Status.NOT_MET, "20 of 30 days"),
        (_nights(25, 5), Status.MET, "25 of 30 days"),  # gaps that cannot change the answer
        (_nights(10, 5), Status.NOT_MET, "best 30-day window"),  # even every gap a good night: 15 < 21
        (_nights(18, 10), Status.UNKNOWN, "2026-01-23 to 2026-02-01"),  # the gaps decide: named
        (["6.5"] * 20, Status.UNKNOWN, "no data for"),  # a series shorter than the span pends
        (None, Status.UNKNOWN, "Nightly device use for the first 90 days"),
    ],
)
def test_windowed_aggregate(kb: KnowledgeBase, nights: list[str | None] | None, status: Status, words: str) -> None:
    d = _decide(kb, _device_case(kb, nights))
    assert _status(d, "adherent") is status
    c = next(c for c in d.criteria if c.id == "toy-adherence/adherent")
    said = c.finding + " ".join(f.text for f in c.facts) + " ".join(d.missingInformation)
    assert words in said, said


def test_the_best_window_anywhere_in_the_span(kb: KnowledgeBase) -> None:
    nights = ["2"] * 50 + ["6"] * 21 + ["2"] * 19  # days 51-71: a window of days 42-71 or so holds all 21
    d = _decide(kb, _device_case(kb, nights))
    assert _status(d, "adherent") is Status.MET
    nights = ["2"] * 80 + ["6"] * 10 + ["6"] * 11  # 21 good nights, 11 of them after the span: not met
    assert _status(_decide(kb, _device_case(kb, nights)), "adherent") is Status.NOT_MET


def test_no_set_up_date_pends_the_aggregate(kb: KnowledgeBase) -> None:
    d = _decide(kb, _device_case(kb, _nights(30), setup=False))
    assert _status(d, "adherent") is Status.UNKNOWN
    assert _status(d, "reeval-timing") is Status.UNKNOWN


@pytest.mark.parametrize(
    ("day", "status"),
    [(30, Status.NOT_MET), (31, Status.MET), (91, Status.MET), (92, Status.NOT_MET), (None, Status.UNKNOWN)],
)
def test_elapsed_day_number(kb: KnowledgeBase, day: int | None, status: Status) -> None:
    d = _decide(kb, _device_case(kb, _nights(30), reeval_day=day))
    assert _status(d, "reeval-timing") is status
    assert _status(d, "reevaluated") is (Status.UNKNOWN if day is None else Status.MET)
    if day is not None:
        c = next(c for c in d.criteria if c.id == "toy-adherence/reeval-timing")
        assert f"(day {day})" in " ".join(f.text for f in c.facts)


def test_a_required_fact_missing_pends_naming_it(kb: KnowledgeBase) -> None:
    d = _decide(kb, _device_case(kb, _nights(30), reeval_day=None))
    assert d.outcome == "pended-information-needed"
    assert any("A dated re-evaluation after set-up" in m for m in d.missingInformation), d.missingInformation


def test_only_the_policies_outside_spine_pain_declare_derivations() -> None:
    bundled = bundled_kb()
    assert {str(d.iri).split("/kb/")[1].split("/")[0] for d in bundled.derivations} == {
        "medicare-bariatric",
        "medicare-pap",
    }


def test_a_malformed_derivation_refuses_the_load(tmp_path: Path) -> None:
    root = _kb_copy(tmp_path)
    (root / "ontology" / "guidelines" / "bad.ttl").write_text(
        "PREFIX gr: <https://w3id.org/guideline-reasoner/core#>\n"
        "<https://w3id.org/guideline-reasoner/kb/bad/x> a gr:Elapsed ;\n"
        "    gr:from <https://w3id.org/guideline-reasoner/kb/bad/nothing> ;\n"
        "    gr:to gr:RequestDate .\n"
    )
    with pytest.raises(KnowledgeBaseError, match="not a derivation"):
        KnowledgeBase.load(root, checks="load")


def test_derivations_come_after_what_they_read(kb: KnowledgeBase) -> None:
    order = [d.iri for d in kb.derivations]
    for d in kb.derivations:
        assert all(order.index(r) < order.index(d.iri) for r in d.reads)
    assert GR.derivation  # the vocabulary term the rules and the derived nodes share


def test_the_sieve_keeps_what_derivations_read(kb: KnowledgeBase) -> None:
    from reasoner.knowledge import relevance
    from reasoner.vocab import PROC

    # The derivations the policy's criteria use are seen; what they read is kept (tests/test_sieve_derived.py).
    _roots, ferritin = relevance.inputs(kb, kb.policy("toy-ferritin").iri)
    assert URIRef("https://w3id.org/guideline-reasoner/kb/toy-ferritin/latest-ferritin") in ferritin
    needs = relevance.for_policy(kb, kb.policy("toy-adherence")).kinds[CV.observation].all_of
    assert {frozenset({c}) for c in (OBS.ToyNightlyUse, OBS.ToyReEvaluation, PROC.ToyBreathingDevice)} <= set(needs)


# --- the enrichment alone: method, component, earliest, chained elapsed, undated candidates -------


def test_select_fact_method_component_earliest_and_elapsed() -> None:
    from dataclasses import dataclass, field
    from typing import Any

    from reasoner.enrich.derived import derive
    from reasoner.knowledge.derivations import Derivation
    from reasoner.vocab import PROC

    kb_ns = "https://w3id.org/guideline-reasoner/kb/unit-test/"
    select = Derivation(
        URIRef(kb_ns + "first-test"),
        GR.SelectFact,
        "First test",
        "A test.",
        fact_class=OBS.ApneaIndex,
        latest=False,
        method_class=PROC.TypeIII,
        component_class=OBS.EventCount,
    )
    elapsed = Derivation(URIRef(kb_ns + "since"), GR.Elapsed, "Since", "Dates.", start=select.iri)

    @dataclass
    class _KB:
        derivations: tuple[Derivation, ...]
        derivations_used_by: dict[URIRef, frozenset[URIRef]]
        memo: dict[object, dict[Any, Any]] = field(default_factory=dict)

    kb = _KB((select, elapsed), {URIRef(kb_ns + "c"): frozenset({elapsed.iri})})

    def run(undated: bool) -> Graph:
        g = Graph()
        case = URIRef(CASE + "case")
        for n, (day, method, events) in enumerate(
            [("2026-03-10", True, "10"), ("2026-03-01", True, "40"), ("2026-02-01", False, "99"), (None, True, "7")]
        ):
            if day is None and not undated:
                continue
            o, part = URIRef(f"{CASE}obs-{n}"), URIRef(f"{CASE}obs-{n}-events")
            g.add((o, RDF.type, OBS.ApneaIndex))
            if method:
                g.add((o, RDF.type, PROC.TypeIII))
            if day is not None:
                g.add((o, CV.date, Literal(day, datatype=XSD.date)))
            g.add((o, CV.component, part))
            g.add((part, RDF.type, OBS.EventCount))
            g.add((part, CV.value, Literal(events, datatype=XSD.decimal)))
        added: list[tuple[Any, Any, Any]] = []
        derive(
            lambda s, p: tuple(g.objects(s, p)),
            lambda p, o: tuple(g.subjects(p, o)),
            added.append,
            kb,  # type: ignore[arg-type]
            case,
            date(2026, 4, 20),
            [URIRef(kb_ns + "c")],
        )
        for t in added:
            g.add(t)
        return g

    g = run(undated=False)
    first, since = URIRef(CASE + "case/derived/unit-test/first-test"), URIRef(CASE + "case/derived/unit-test/since")
    assert g.value(first, GR.selected) == URIRef(CASE + "obs-1")  # the earliest with the method
    assert str(g.value(first, GR.derivedValue)) == "40"  # its component's value
    assert g.value(first, GR.elapsedDays).toPython() == 50
    assert g.value(since, GR.elapsedDays).toPython() == 50
    assert g.value(since, GR.dayNumber).toPython() == 51
    assert str(g.value(since, GR.elapsedWeeks)) == "7.14"
    assert str(g.value(since, GR.elapsedMonths)) == "1.64"

    g = run(undated=True)  # the undated one may be the earliest: nothing is surely selected
    assert g.value(first, GR.selected) is None
    possible = {g.value(s, GR.possibleObject) for s in g.subjects(GR.possibleSubject, first)}
    assert {URIRef(CASE + "obs-1"), URIRef(CASE + "obs-3")} <= possible
    gaps = {
        (g.value(h, GR.gapFact), g.value(h, GR.gapProperty))
        for s in g.subjects(GR.possibleSubject, first)
        for h in g.objects(s, GR.hangsOn)
    }
    assert gaps == {(URIRef(CASE + "obs-3"), CV.date)}
    assert (since, GR.unstated, GR.elapsedDays) in g


def _statuses(kb: KnowledgeBase, g: Graph) -> dict[str, Status]:
    return {c.id: c.status for c in _decide(kb, g).criteria}


@pytest.mark.parametrize("met", [21, 23])
def test_removing_one_value_never_makes_a_criterion_not_met(kb: KnowledgeBase, met: int) -> None:
    """Three-valued: a value taken away can make a criterion unknown, never not met that was not already."""
    g = _device_case(kb, _nights(met)[:60] + [None] * 30, reeval_day=45)
    before = _statuses(kb, g)
    facts = ("series-1-day-", "observation-", "device-1")  # the generic facts, not the request or documents
    removable = [t for t in g if t[1] in (CV.value, CV.date, CV.start) and any(f in str(t[0]) for f in facts)]
    # A sample is its date and its value: a sample without a date is refused at intake (the case
    # shapes), which is an error to the sender, never a denial.
    undated = next(t for t in removable if t[1] == CV.date and "series-1-day-" in str(t[0]))
    g.remove(undated)
    with pytest.raises(CaseShapeError, match="expected exactly one date"):
        _statuses(kb, g)
    g.add(undated)
    removable = [t for t in removable if not (t[1] == CV.date and "series-1-day-" in str(t[0]))]
    assert len(removable) > 60
    for triple in removable[::3]:  # a third of them: the cost of a determination each
        g.remove(triple)
        after = _statuses(kb, g)
        g.add(triple)
        for criterion, status in after.items():
            assert status is not Status.NOT_MET or before[criterion] is Status.NOT_MET, (triple, criterion)


# --- The proof through the case forms a client sends: JSON and FHIR ------------------------------------


def _ferritin_json(value: float | None) -> bytes:
    case: dict[str, object] = {
        "id": "ferritin-json",
        "policy": "toy-ferritin",
        "patient": "patient-0901",
        "request": {"date": "2026-06-01", "codes": [{"code": "J1439"}], "diagnoses": ["D50.9"]},
        "documents": [{"id": "lab", "kind": "clinic-note", "date": "2026-05-20", "title": "Laboratory report"}],
    }
    if value is not None:
        case["observations"] = [
            {"code": "SerumFerritin", "value": value, "unit": "ng/mL", "date": "2026-05-20", "source": "lab"}
        ]
    return json.dumps(case).encode()


def _ferritin_fhir(value: float) -> bytes:
    """The seed's PAS Bundle (its request dated 2025-11-17) asking for J1439, its history one ferritin Observation."""
    bundle = json.loads((ROOT / "examples" / "fhir" / "sij-seed-neurectomy.pas.json").read_text())
    keep = {"Claim", "Patient", "Organization", "Coverage"}
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] in keep]
    claim = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    claim["supportingInfo"] = [s for s in claim.get("supportingInfo", []) if "valueReference" not in s]
    claim["item"] = claim["item"][:1]
    claim["item"][0]["productOrService"]["coding"][0].update(
        {"system": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "code": "J1439"}
    )
    claim["item"][0].pop("modifier", None)
    observation = {
        "resourceType": "Observation",
        "id": "ferritin",
        "status": "final",
        "code": {"coding": [{"system": "https://w3id.org/guideline-reasoner/observation", "code": "SerumFerritin"}]},
        "subject": claim["patient"],
        "effectiveDateTime": "2025-11-05",
        "valueQuantity": {"value": value, "unit": "ng/mL", "system": "http://unitsofmeasure.org", "code": "ng/mL"},
    }
    bundle["entry"].append({"fullUrl": "urn:uuid:00000001-0000-4000-8000-000000000000", "resource": observation})
    return json.dumps(bundle).encode()


def test_a_turtle_only_policy_decides_a_json_case_and_a_fhir_case(tmp_path: Path) -> None:
    """Issue 17: a policy added as Turtle alone, reading an observation the bundled knowledge base never mentions."""
    root = _kb_copy(tmp_path, "toy-ferritin.ttl")
    assert not any("SerumFerritin" in p.read_text() for p in (ROOT / "ontology").rglob("*.ttl"))
    kb = KnowledgeBase.load(root)
    criterion = "toy-ferritin/ferritin"
    for value, outcome, status in (
        (45, "medically-necessary", Status.MET),
        (12, "not-medically-necessary", Status.NOT_MET),
    ):
        for payload, fmt in ((_ferritin_json(value), "json"), (_ferritin_fhir(value), "fhir")):
            d = determine(payload, fmt, kb, policy="toy-ferritin")  # type: ignore[arg-type]
            assert (d.outcome.value, {c.id: c.status for c in d.criteria}[criterion]) == (outcome, status), fmt
    pended = determine(_ferritin_json(None), "json", kb)
    assert pended.outcome.value == "pended-information-needed"
    assert {c.id: c.status for c in pended.criteria}[criterion] is Status.UNKNOWN
