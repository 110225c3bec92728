"""What every FHIR answer may carry (an error's OperationOutcome, X-FHIR-Skipped) and what none may.

FHIR JSON and CDS Hooks forbid ``null``, ``""``, ``[]`` and ``{}``: :func:`no_nulls` removes them.
Output, so it lives here and not with the FHIR intake (intake imports no later stage; the readers
only count what they skip and raise ``FhirError``).
"""

from __future__ import annotations

from typing import Any, TypeVar

from reasoner.errors import FhirError

T = TypeVar("T")


def operation_outcome(err: FhirError) -> dict[str, Any]:
    """The OperationOutcome for an error: one issue per problem, with its element when known."""
    issues = []
    for code, where, why in err.issues:
        issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": why}
        if where:
            issue["expression"] = [where]
        issues.append(issue)
    return {"resourceType": "OperationOutcome", "issue": issues}


def skipped_header(skipped: dict[str, int]) -> str:
    """The X-FHIR-Skipped header value: "Coverage=1, Organization=2"."""
    return ", ".join(f"{k}={v}" for k, v in sorted(skipped.items()))


def no_nulls(obj: T) -> T:
    """``obj`` without ``None``, ``""``, ``[]`` or ``{}`` anywhere (removed bottom-up, so emptied parents go too).

    >>> no_nulls({"a": None, "b": [{}, "", {"c": []}], "d": 0, "e": False, "f": "x"})
    {'d': 0, 'e': False, 'f': 'x'}
    """
    if isinstance(obj, dict):
        out = {k: no_nulls(v) for k, v in obj.items()}
        return {k: v for k, v in out.items() if not _empty(v)}  # type: ignore[return-value]  # a dict, as given
    if isinstance(obj, list):
        items = [no_nulls(v) for v in obj]
        return [v for v in items if not _empty(v)]  # type: ignore[return-value]  # a list, as given
    return obj


def find_nulls(obj: Any, path: str = "$") -> list[str]:
    """The paths of every ``null``, ``""``, ``[]`` or ``{}`` in ``obj`` (empty when it is clean).

    >>> find_nulls({"cards": [], "x": {"y": None}})
    ['$.cards', '$.x.y']
    """
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            found += [f"{path}.{k}"] if _empty(v) else find_nulls(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += [f"{path}[{i}]"] if _empty(v) else find_nulls(v, f"{path}[{i}]")
    return found


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)
