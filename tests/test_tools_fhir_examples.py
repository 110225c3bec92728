"""tools/fhir_examples.py, which writes the FHIR twins of JSON example cases: what it writes reads back as the case.

The twins of the PAP and bariatric examples are judged in tests/test_fhir_examples_new_policies.py;
here the script is held to every generic fact the JSON form has (a coded value, a component, a
method, an unknown LOINC code, an absent condition, a treatment's result, a device and its usage
series), through both the PAS and the CDS Hooks intake, and to refusing what it cannot write.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from reasoner import KnowledgeBase
from reasoner.intake.fhir.hooks import read_hook
from reasoner.intake.fhir.pas import read_pas
from reasoner.intake.json_case.to_rdf import to_graph
from reasoner.interop.cds_hooks import PREFETCH
from tools import fhir_examples

from .conftest import EXAMPLES
from .test_generic_facts import CASE, _facts, _graph, facts_kb

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture(scope="module")
def fkb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return KnowledgeBase.load(facts_kb(tmp_path_factory.mktemp("facts-kb")))


def _case() -> dict[str, Any]:
    case = copy.deepcopy(CASE)
    case["request"] = {"date": "2026-11-02", "codes": [{"code": "E0601"}], "diagnoses": ["G47.33"]}
    case["documents"] = [{"id": "note", "kind": "clinic-note", "date": "2026-10-02", "title": "Sleep clinic"}]
    return case


def _as_samples(case: dict[str, Any]) -> dict[str, Any]:
    """The JSON case with its daily series written as the dated samples FHIR gives (a day without data has none)."""
    out = copy.deepcopy(case)
    for s in out["usageSeries"]:
        start, values = s.pop("start"), s.pop("values")
        days = [f"{start[:8]}{int(start[8:]) + i:02d}" for i in range(len(values))]
        s["samples"] = [{"date": d, "value": v} for d, v in zip(days, values, strict=True) if v is not None]
    return out


def test_the_pas_twin_gives_every_generic_fact_of_the_json_case(fkb: KnowledgeBase) -> None:
    case = _case()
    pas = read_pas(json.dumps(fhir_examples.pas_bundle(case)).encode(), fkb)
    assert pas.case is not None, pas.problem
    assert pas.skipped == {"Patient": 1, "Organization": 2, "Coverage": 1}
    assert _facts(to_graph(pas.case, fkb)) == _facts(_graph(_as_samples(case), fkb))
    assert [(c.code, c.kind, c.status, c.onset and str(c.onset)) for c in pas.case.conditions] == [
        ("E11.9", None, "active", "2019-04-01"),
        (None, "ExcessiveDaytimeSleepiness", "absent", None),
    ]
    assert [(t.kind, t.outcome) for t in pas.case.treatments] == [("SupervisedWeightManagement", "failed")]
    assert [(d.id, d.code, str(d.start)) for d in pas.case.devices] == [("cpap-1", "E0601", "2026-01-05")]


def test_the_order_sign_twin_gives_the_same_facts(fkb: KnowledgeBase) -> None:
    case = _case()
    request = fhir_examples.order_sign(case)
    assert [request["prefetch"][k]["entry"][0]["resource"]["id"] for k in ("devices", "deviceUse")] == [
        "cpap-1",
        "cpap-1-use-1",
    ]
    assert set(request["prefetch"]) <= set(PREFETCH) | {"patient"}  # what the service's discovery asks for
    call = read_hook(json.dumps(request).encode(), fkb, service_hook="order-sign")
    assert call.case is not None, call.problem
    assert [o.reference for o in call.orders] == ["DeviceRequest/facts-1-E0601"]
    assert _facts(to_graph(call.case, fkb)) == _facts(_graph(_as_samples(case), fkb))


def test_a_procedure_order_is_a_service_request_with_its_units(kb: KnowledgeBase) -> None:
    case = json.loads((EXAMPLES / "bar-lap-rygb.json").read_text())
    case["request"]["codes"] = [{"code": "43644", "units": 2, "modifiers": ["RT"]}]
    (order,) = [e["resource"] for e in fhir_examples.order_sign(case)["context"]["draftOrders"]["entry"]]
    assert (order["resourceType"], order["quantityQuantity"]) == ("ServiceRequest", {"value": 2})
    (item,) = fhir_examples.pas_bundle(case)["entry"][0]["resource"]["item"]
    assert item["quantity"] == {"value": 2} and item["modifier"][0]["coding"][0]["code"] == "RT"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda c: c.update(priorProcedures=[{"code": "64493"}]), "priorProcedures: not written by this script"),
        (lambda c: c["request"].update(levels=["L4-L5"]), "request.levels: not written by this script"),
        (lambda c: c["devices"][0].update(outcome="effective"), "devices.outcome: FHIR intake does not read"),
    ],
)
def test_what_it_cannot_write_is_refused(change: Any, words: str) -> None:
    case = _case()
    change(case)
    with pytest.raises(fhir_examples.Unsupported, match=words):
        fhir_examples.pas_bundle(case)


def test_the_command_writes_checks_and_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fhir_examples, "OUT", tmp_path)
    monkeypatch.setattr(fhir_examples, "ROOT", tmp_path)
    source = tmp_path / "x.json"
    source.write_text(json.dumps(_case()))
    (tmp_path / "x.expected.json").write_text("{}")  # named by a glob, and skipped
    expected = [str(source), str(tmp_path / "x.expected.json")]
    assert fhir_examples.main(["--check", *expected]) == 1  # not written yet
    assert fhir_examples.main(expected) == 0
    assert sorted(p.name for p in tmp_path.glob("x.*.json")) == ["x.expected.json", "x.order-sign.json", "x.pas.json"]
    assert fhir_examples.main(["--check", *expected]) == 0
    (tmp_path / "x.pas.json").write_text("{}")
    assert fhir_examples.main(["--check", *expected]) == 1
    bad = _case() | {"painHistory": {"score": 5}}
    source.write_text(json.dumps(bad))
    assert fhir_examples.main([str(source)]) == 2
