"""UCUM through ucumvert (its grammar) and pint (its dimensions and factors): the one adapter module for both.

The knowledge base's unit table (ontology/units.ttl) converts the units it lists exactly; this
module answers for any other unit a case gives: whether it is UCUM at all, and the factor that
takes it to a unit of the table when the two measure the same dimension. The registry costs most
of a second to build, so it is built on the first unit the table does not list, never at import.
"""

from __future__ import annotations

import functools
import threading
from decimal import Decimal
from typing import Any

_LOCK = threading.Lock()  # pint's registry caches as it parses: one caller at a time
_LONGEST = 30  # as the JSON case form allows; a FHIR Quantity's code is capped here
_DIGITS = "{:.12g}"  # a factor pint computes in binary floating point, to 12 significant digits


class NotUcum(ValueError):
    """Text that is not a UCUM unit; ``reason`` says where the parser stopped."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@functools.cache
def _registry() -> Any:
    from ucumvert import PintUcumRegistry

    return PintUcumRegistry()


def factor(unit: str, to: str) -> Decimal | None:
    """What a value in ``unit`` is multiplied by to be in ``to``; None when they measure different things.

    Raises:
        NotUcum: ``unit`` is not a UCUM unit (``to`` is one of the table's, so always is).
    """
    if len(unit) > _LONGEST:
        raise NotUcum(f"longer than {_LONGEST} characters")
    with _LOCK:
        registry = _registry()
        try:
            given = registry.from_ucum(unit)
        except Exception as exc:  # noqa: BLE001 - ucumvert raises its own and lark's errors
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise NotUcum(_without_value(first, unit)) from None
        target = registry.from_ucum(to)
        if given.dimensionality != target.dimensionality:
            return None
        magnitude = float((1 * given).to(target).magnitude)
    return Decimal(_DIGITS.format(magnitude))


def _without_value(message: str, unit: str) -> str:
    """The parser's reason, without the text it was given (a case's values are never repeated)."""
    reason = message.replace(repr(unit), "it").replace(unit, "it") if unit else message
    return reason[:160]
