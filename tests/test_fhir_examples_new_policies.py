"""The FHIR twins of the PAP and bariatric examples (issue 17): the same answer from FHIR as from the JSON case.

Every ``examples/cases/pap-*.json`` and ``bar-*.json`` has two twins in ``examples/fhir/``: a Da Vinci
PAS request Bundle (``<name>.pas.json``) and a CDS Hooks order-sign request (``<name>.order-sign.json``),
written by ``python -m tools.fhir_examples`` (tools/fhir_examples.py). Each twin, read by the FHIR
intake, is judged with the outcome and the status of every criterion that the case's expected file
lists (the file is read here, nothing is copied from it), and passes FHIR.js. The cases are found by
glob, so an example added later is covered, and one without twins fails, saying how to add them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reasoner import Determination, KnowledgeBase
from reasoner.intake.fhir.history import _HISTORY_TYPES
from reasoner.intake.fhir.hooks import ORDER_TYPES, read_hook
from reasoner.intake.fhir.pas import read_pas
from reasoner.intake.json_case.to_rdf import to_graph
from reasoner.interop.pas import judge
from reasoner.pipeline import determine_graph
from tools import fhir_examples

from .conftest import EXAMPLES, ROOT
from .fhir_validation import FhirValidator, errors

FHIR = ROOT / "examples" / "fhir"
PREFIXES = ("pap-", "bar-")
TWINS = ("pas", "order-sign")
HOW = (
    "write its FHIR twins with `python -m tools.fhir_examples examples/cases/{name}.json` (tools/fhir_examples.py; "
    "for a case the script refuses, write examples/fhir/{name}.pas.json and {name}.order-sign.json by hand, "
    "following examples/fhir/pap-initial-b1-hst.*.json), then review and commit them"
)


def _cases() -> list[str]:
    return sorted(
        p.name.removesuffix(".json")
        for prefix in PREFIXES
        for p in EXAMPLES.glob(f"{prefix}*.json")
        if not p.name.endswith(".expected.json")
    )


CASES = _cases()


def _expectations(name: str) -> list[dict[str, Any]]:
    return list(json.loads((EXAMPLES / f"{name}.expected.json").read_text())["expectations"])


def _differences(d: Determination, expected: dict[str, Any]) -> list[str]:
    """What differs from an expectation: the outcome, every criterion (none more, none fewer), and the
    next steps and missing information where the expected file lists them."""
    diffs = []
    if d.outcome.value != expected["outcome"]:
        diffs.append(f"outcome: expected {expected['outcome']}, got {d.outcome.value}")
    got = {c.id: c.status.value for c in d.criteria}
    if got != expected["criteria"]:
        diffs.append(f"criteria: expected {expected['criteria']}, got {got}")
    if "nextSteps" in expected and [s.step for s in d.nextSteps] != expected["nextSteps"]:
        diffs.append(f"next steps: expected {expected['nextSteps']}, got {[s.step for s in d.nextSteps]}")
    if "missingInformation" in expected and d.missingInformation != expected["missingInformation"]:
        diffs.append(f"missing information: expected {expected['missingInformation']}, got {d.missingInformation}")
    return diffs


def test_the_new_policies_have_examples() -> None:
    assert {n.split("-", 1)[0] for n in CASES} == {"pap", "bar"}
    assert len(CASES) >= 21


@pytest.mark.parametrize("name", CASES)
def test_every_example_has_its_fhir_twins(name: str) -> None:
    missing = [f"examples/fhir/{name}.{t}.json" for t in TWINS if not (FHIR / f"{name}.{t}.json").is_file()]
    assert not missing, f"{name} has no FHIR twin ({', '.join(missing)}): {HOW.format(name=name)}"


def test_every_twin_has_its_json_case() -> None:
    orphans = [
        p.name
        for prefix in PREFIXES
        for p in FHIR.glob(f"{prefix}*.json")
        if not (EXAMPLES / (p.name.split(".", 1)[0] + ".json")).is_file()
    ]
    assert orphans == []


def _history_skipped(skipped: dict[str, int]) -> list[str]:
    """What the intake skipped of the history (a Patient or an Organization gives no facts anyway)."""
    return [k for k in skipped if k.split(" ", 1)[0] in _HISTORY_TYPES or k.startswith(ORDER_TYPES)]


def _twin(name: str, kind: str) -> Path:
    path = FHIR / f"{name}.{kind}.json"
    if not path.is_file():
        pytest.fail(f"{name} has no FHIR twin {path.name}: {HOW.format(name=name)}")
    return path


@pytest.mark.parametrize("name", CASES)
def test_the_pas_bundle_gives_the_expected_answer(kb: KnowledgeBase, name: str) -> None:
    pas = read_pas(_twin(name, "pas").read_bytes(), kb)
    assert pas.case is not None, pas.problem
    assert pas.case.id == name and _history_skipped(pas.skipped) == []
    for expected in _expectations(name):
        assert _differences(judge(pas, kb, policy=expected["policy"]), expected) == [], expected["policy"]


@pytest.mark.parametrize("name", CASES)
def test_the_order_sign_request_gives_the_expected_answer(kb: KnowledgeBase, name: str) -> None:
    call = read_hook(_twin(name, "order-sign").read_bytes(), kb, service_hook="order-sign")
    assert call.case is not None, call.problem
    assert call.coverage is not None and _history_skipped(call.skipped) == []
    json_case = json.loads((EXAMPLES / f"{name}.json").read_text())
    assert [c.code for c in call.case.request.codes] == [c["code"] for c in json_case["request"]["codes"]]
    for expected in _expectations(name):
        d = determine_graph(to_graph(call.case, kb), kb, policy=expected["policy"])
        assert _differences(d, expected) == [], expected["policy"]


def test_a_twin_that_loses_a_fact_is_caught(kb: KnowledgeBase) -> None:
    """The comparison can fail: the sleepy patient's twin without her sleepiness pends (expected: covered)."""
    bundle = json.loads(_twin("pap-initial-b2-sleepy", "pas").read_bytes())
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Condition"]
    claim = bundle["entry"][0]["resource"]
    info = claim["supportingInfo"]
    claim["supportingInfo"] = [s for s in info if "Condition/" not in s.get("valueReference", {}).get("reference", "")]
    pas = read_pas(json.dumps(bundle).encode(), kb)
    (expected,) = _expectations("pap-initial-b2-sleepy")
    assert _differences(judge(pas, kb, policy="medicare-pap"), expected) == [
        "outcome: expected medically-necessary, got pended-information-needed",
        f"criteria: expected {expected['criteria']}, got {expected['criteria'] | {'medicare-pap/b1-or-b2': 'unknown'}}",
    ]


def test_the_twins_are_what_the_script_writes() -> None:
    """A hand edit of a twin is made in the script (or the twin written by hand, and dropped from this list)."""
    written = [EXAMPLES / f"{n}.json" for n in CASES if all((FHIR / f"{n}.{t}.json").is_file() for t in TWINS)]
    assert written
    assert fhir_examples.main(["--check", *map(str, written)]) == 0


@pytest.fixture(scope="module")
def twin_resources() -> list[tuple[str, dict[str, Any]]]:
    """Every resource of every twin: the PAS Bundle, and the draft orders and each prefetch of the hook call."""
    out: list[tuple[str, dict[str, Any]]] = []
    for name in CASES:
        for path in sorted(FHIR.glob(f"{name}.*.json")):
            data = json.loads(path.read_bytes())
            if "resourceType" in data:
                out.append((path.name, data))
            else:
                out.append((f"{path.name} context.draftOrders", data["context"]["draftOrders"]))
                out += [(f"{path.name} prefetch.{k}", v) for k, v in data["prefetch"].items()]
    return out


def test_every_twin_passes_fhir_js(fhir_validator: FhirValidator, twin_resources: list[tuple[str, Any]]) -> None:
    assert len(twin_resources) >= 6 * len(CASES)  # a Bundle; the orders and five prefetches
    answers = fhir_validator.validate([r for _, r in twin_resources])
    found = {label: [str(m) for m in errors(a)] for (label, _), a in zip(twin_resources, answers, strict=True)}
    assert {label: e for label, e in found.items() if e} == {}


def test_fhir_js_sees_an_error_in_a_twin(fhir_validator: FhirValidator) -> None:
    bundle = json.loads(_twin("bar-bmi-33", "pas").read_bytes())
    bundle["entry"][0]["resource"]["use"] = "pre-authorisation"  # not in the required value set
    (messages,) = fhir_validator.validate([bundle])
    assert errors(messages)
