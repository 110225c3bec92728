"""The Coverage a CDS Hooks call is about, as Da Vinci CRD 2.2.1 asks for it.

CRD's ``ext-coverage-information`` has ``coverage`` 1..1: a reference to the patient's Coverage on
the client, "typically accessed via prefetch"; when no Coverage is available the extension
"cannot be returned". This service never queries the client's FHIR server, so the Coverage comes
from the ``coverage`` prefetch it declares (``Coverage?patient={{context.patientId}}&status=active``)
or not at all:

* the ``coverage`` key absent, or an OperationOutcome in its place (the client could not prefetch
  it): 412, as CDS Hooks 2.0 says of a service that cannot obtain required data, and CRD 2.2.1
  (Foundation, "Error Handling") allows only where the prefetch was not provided;
* provided but holding no Coverage (``null``, a Bundle without one), several Coverages, or a
  Coverage without an id to reference: 400 with an OperationOutcome, as CRD 2.2.1 (Hooks, hook-13)
  says of a call where no Coverage, or more than one, is accessible.

Which of these applies is decided here; ``fhir.hooks.read_hook`` raises it when a requested code
has a guideline (the service then has coverage information to give), and ``cds_hooks.respond``
when it is about to build one. README.md, "FHIR, PAS and CDS Hooks", has the rule in words.
"""

from __future__ import annotations

from typing import Any

from reasoner.errors import FhirError, IssueCode

KEY = "coverage"
WHERE = f"prefetch.{KEY}"


def primary_coverage(prefetch: dict[str, Any]) -> tuple[dict[str, Any] | None, FhirError | None]:
    """The one Coverage of the ``coverage`` prefetch, or the error a call needing it gets (412 or 400).

    >>> primary_coverage({"coverage": {"resourceType": "Coverage", "id": "c1"}})[0]["id"]
    'c1'
    >>> [primary_coverage(p)[1].status for p in ({}, {"coverage": None})]
    [412, 400]
    """
    if KEY not in prefetch:
        return None, _error("required", WHERE, "the service needs the Coverage prefetch and fetches nothing", 412)
    value = prefetch[KEY]
    if value is None:
        return None, _error("required", WHERE, _NONE, 400)
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        return None, _error("invalid", WHERE, "must be a Coverage, a Bundle of Coverages, or null", 400)
    found = _resources(value)
    coverages = [(path, r) for path, r in found if r.get("resourceType") == "Coverage"]
    if not coverages:
        if any(r.get("resourceType") == "OperationOutcome" for _, r in found):
            why = "the client could not prefetch the Coverage (an OperationOutcome came); the service fetches nothing"
            return None, _error("required", WHERE, why, 412)
        return None, _error("required", WHERE, _NONE, 400)
    ids = {c.get("id") for _, c in coverages}
    if len(ids) > 1 or (len(coverages) > 1 and not next(iter(ids))):  # not one Coverage sent twice
        why = "several Coverages were prefetched; coverage information is about the one primary Coverage"
        return None, _error("multiple-matches", WHERE, why, 400)
    path, coverage = coverages[0]
    if not isinstance(coverage.get("id"), str) or not coverage["id"]:
        return None, _error("required", f"{path}.id", "the Coverage has no id to reference", 400)
    return coverage, None


_NONE = "no Coverage was prefetched: coverage information needs the patient's active Coverage"


def _resources(value: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if value["resourceType"] != "Bundle":
        return [(WHERE, value)]
    return [
        (f"{WHERE}.entry[{j}].resource", e["resource"])
        for j, e in enumerate(value.get("entry") or [])
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]


def _error(code: IssueCode, where: str, why: str, status: int) -> FhirError:
    return FhirError([(code, where, why)], status=status)
