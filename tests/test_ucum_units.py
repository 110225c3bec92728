"""Units the knowledge base's table does not list, read as UCUM (reasoner/_ucum.py via reasoner/knowledge/measures.py).

The table converts its own units exactly; any other UCUM unit converts when it measures what the
kind's canonical unit measures, and is a 422 naming the field otherwise, or when it is not UCUM.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from reasoner import KnowledgeBase, determine
from reasoner._ucum import NotUcum, factor
from reasoner.errors import CaseSchemaError

from .conftest import EXAMPLES


def _bmi_case(value: float, unit: str) -> bytes:
    case: dict[str, Any] = json.loads((EXAMPLES / "bar-bmi-33.json").read_text())
    case["observations"][0].update(value=value, unit=unit)
    return json.dumps(case).encode()


def _bmi(kb: KnowledgeBase, value: float, unit: str) -> str:
    d = determine(_bmi_case(value, unit), "json", kb)
    bmi = next(c for c in d.criteria if c.id == "medicare-bariatric/bmi")
    return next(f.text for f in bmi.facts if "BMI" in f.text or "body mass" in f.text.lower())


def test_a_unit_the_table_does_not_list_converts_by_its_dimensions(kb: KnowledgeBase) -> None:
    """3.3 g/cm2 is 33 kg/m2: decided as the example with kg/m2 is."""
    assert _bmi(kb, 3.3, "g/cm2") == _bmi(kb, 33, "kg/m2")


def test_a_unit_of_another_dimension_is_refused_naming_the_field(kb: KnowledgeBase) -> None:
    with pytest.raises(CaseSchemaError) as caught:
        determine(_bmi_case(33, "mm[Hg]"), "json", kb)
    ((where, why),) = caught.value.problems
    assert where == "observations.0.unit"
    assert why.startswith("does not convert to kg/m2, the unit of ")


def test_text_that_is_not_ucum_is_refused_saying_so_without_repeating_it(kb: KnowledgeBase) -> None:
    with pytest.raises(CaseSchemaError) as caught:
        determine(_bmi_case(33, "kilos"), "json", kb)
    ((where, why),) = caught.value.problems
    assert where == "observations.0.unit" and why.startswith("not a UCUM unit (") and "kilos" not in why


def test_an_annotated_unit_is_the_tables_alone() -> None:
    """``{beats}/min`` and ``{events}/h`` are both per time to pint: only the table may say they convert."""
    kb_free = factor("/min", "/h")
    assert kb_free == Decimal(60)
    assert factor("[lb_av]", "kg") == Decimal("0.45359237")
    assert factor("mm[Hg]", "kg/m2") is None
    with pytest.raises(NotUcum):
        factor("kilos", "kg")


def test_an_annotated_rate_does_not_convert_to_events_per_hour(kb: KnowledgeBase) -> None:
    case: dict[str, Any] = json.loads((EXAMPLES / "pap-initial-b1-hst.json").read_text())
    index = next(i for i, o in enumerate(case["observations"]) if o["code"] == "SleepApneaIndex")
    case["observations"][index]["unit"] = "{beats}/min"
    with pytest.raises(CaseSchemaError) as caught:
        determine(json.dumps(case).encode(), "json", kb)
    ((where, why),) = caught.value.problems
    assert where == f"observations.{index}.unit" and why.startswith("does not convert to ")
    case["observations"][index].update(unit="/min", value=Decimal("0.5").__float__())  # 0.5 a minute: 30 an hour
    d = determine(json.dumps(case).encode(), "json", kb)
    assert any("30" in f.text for c in d.criteria for f in c.facts if "apnea" in f.text.lower() or "AHI" in f.text)


def test_an_overlong_unit_is_refused_before_any_parsing() -> None:
    with pytest.raises(NotUcum, match="longer than 30 characters"):
        factor("g" * 31, "kg")
