"""The CRD ``ext-coverage-information`` extension for a determination, or for an order without a case.

The extension has every part CRD 2.2.1 makes 1..1 (``coverage``, ``covered``, ``date``,
``coverage-assertion-id``) and each ``detail`` its ``category``, ``code`` (in CRD 2.2.1's code
system and CRD 2.1's) and ``value``; ``coverage_label`` is its ``covered`` code. Read from a
finished :class:`~reasoner.model.Determination`; reasoner/interop/cds_hooks.py puts the extension
on the draft order in an ``update`` system action.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from reasoner.model import Determination, Outcome, Status

COVERAGE_INFORMATION = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
COVERAGE_DETAIL = "http://terminology.hl7.org/CodeSystem/crd-coverage-detail"  # CRD 2.2.1's detail codes
CRD_TEMP = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"  # the same codes as CRD 2.1 had them
_EXCLUDED = frozenset({"not-covered", "experimental-unproven"})  # RequestedLine.coverageStatus


def coverage_label(d: Determination) -> str:
    """The CRD ``covered`` code for a determination: covered, not-covered, conditional or indeterminate."""
    if d.outcome is Outcome.MEDICALLY_NECESSARY:
        return "covered"
    if d.outcome is Outcome.NO_APPLICABLE_GUIDELINE:
        return "indeterminate"
    if d.outcome is Outcome.NOT_MEDICALLY_NECESSARY and _excluded(d):
        return "not-covered"
    return "conditional"


def coverage_information(
    d: Determination, *, coverage_ref: str, policy_url: str, today: date, supporting: bool = False
) -> dict[str, Any]:
    """The CRD ``ext-coverage-information`` extension for one determination.

    Its ``detail``s: the policy (``policy-link``, the policy's URL, its name and version as the
    qualification) and, when coverage is conditional, what would settle it (``instructions``: the
    information needed and the criteria not met). ``supporting``: the call is a supporting hook
    (order-select), whose coverage information CRD 2.2.1 (hook-19) forbids to ask for clinical or
    administrative documentation, so ``doc-needed`` is left out.
    """
    covered = coverage_label(d)
    pa_needed = {"covered": "no-auth", "conditional": "auth-needed", "indeterminate": "indeterminate"}.get(covered)
    details = [
        _detail(
            "cat-other",
            "policy-link",
            "Policy Link",
            {"valueUrl": policy_url},
            qualification=f"Judged under {d.policy.label} (version {d.policy.version})",
        )
    ]
    if covered == "conditional":
        details.append(_detail("cat-limitation", "instructions", "Instructions", {"valueString": _instructions(d)}))
    return _coverage_extension(
        coverage_ref=coverage_ref,
        covered=covered,
        pa_needed=pa_needed,
        doc_needed="clinical" if d.outcome is Outcome.PENDED and not supporting else None,
        reason=d.rationale[0] if d.rationale else d.outcomeLabel,
        details=details,
        today=today,
        assertion_id=d.determinationId,
    )


def problem_coverage_information(*, coverage_ref: str, problem: str, assertion_id: str, today: date) -> dict[str, Any]:
    """The coverage-information extension for an order without a case: conditional, authorization needed."""
    needed = {"valueString": f"Information needed: {problem}"}
    return _coverage_extension(
        coverage_ref=coverage_ref,
        covered="conditional",
        pa_needed="auth-needed",
        doc_needed=None,
        reason=problem,
        details=[_detail("cat-limitation", "instructions", "Instructions", needed)],
        today=today,
        assertion_id=assertion_id,
    )


def _excluded(d: Determination) -> bool:
    coverage_failed = any(c.category == "coverage" and c.status is Status.NOT_MET for c in d.criteria)
    return coverage_failed and any(r.coverageStatus in _EXCLUDED for r in d.requested)


def _instructions(d: Determination) -> str:
    """What would settle a conditional answer: the information needed, then the criteria not met."""
    parts = []
    if d.missingInformation:
        parts.append("Information needed: " + "; ".join(d.missingInformation))
    not_met = [c.label for c in d.criteria if c.status is Status.NOT_MET]
    if not_met:
        lead = "For clinician review, not met: " if d.outcome is Outcome.PENDED_REVIEW else "Criteria not met: "
        parts.append(lead + "; ".join(not_met))
    return ". ".join(parts) or (d.rationale[0] if d.rationale else d.outcomeLabel)


def _detail(
    category: str, code: str, display: str, value: dict[str, Any], *, qualification: str | None = None
) -> dict[str, Any]:
    """A coverage-information ``detail``: category, code (CRD 2.2.1's system and CRD 2.1's), value, qualification."""
    codings = [{"system": system, "code": code, "display": display} for system in (COVERAGE_DETAIL, CRD_TEMP)]
    parts: list[dict[str, Any]] = [
        {"url": "category", "valueCode": category},
        {"url": "code", "valueCodeableConcept": {"coding": codings}},
        {"url": "value", **value},
    ]
    if qualification:
        parts.append({"url": "qualification", "valueString": qualification})
    return {"url": "detail", "extension": parts}


def _coverage_extension(
    *,
    coverage_ref: str,
    covered: str,
    pa_needed: str | None,
    doc_needed: str | None,
    reason: str,
    details: Sequence[dict[str, Any]],
    today: date,
    assertion_id: str,
) -> dict[str, Any]:
    subs: list[dict[str, Any]] = [
        {"url": "coverage", "valueReference": {"reference": coverage_ref}},
        {"url": "covered", "valueCode": covered},
    ]
    if pa_needed and covered != "not-covered":  # CRD crd-ci-q2
        subs.append({"url": "pa-needed", "valueCode": pa_needed})
    if doc_needed:
        subs.append({"url": "doc-needed", "valueCode": doc_needed})
    if covered == "conditional":  # CRD crd-ci-q3: info-needed iff something is conditional
        subs.append({"url": "info-needed", "valueCode": "OTH"})
    if reason.strip():
        subs.append({"url": "reason", "valueCodeableConcept": {"text": reason}})
    subs += details
    subs.append({"url": "date", "valueDate": today.isoformat()})
    subs.append({"url": "coverage-assertion-id", "valueString": assertion_id})
    return {"url": COVERAGE_INFORMATION, "extension": subs}
