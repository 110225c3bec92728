"""What every FHIR answer may carry: the OperationOutcome of a FHIR error and the X-FHIR-Skipped header.

Output, so it lives here and not with the FHIR intake (intake imports no later stage; the readers
only count what they skip and raise ``FhirError``).
"""

from __future__ import annotations

from typing import Any

from reasoner.errors import FhirError


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
