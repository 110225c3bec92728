"""The determination: what the reasoner answers, as pydantic models (serialised to JSON as is)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Outcome(StrEnum):
    """The five possible answers."""

    MEDICALLY_NECESSARY = "medically-necessary"
    NOT_MEDICALLY_NECESSARY = "not-medically-necessary"
    PENDED = "pended-information-needed"
    PENDED_REVIEW = "pended-clinician-review"
    """Only advisory criteria (resting on single-source or unverified facts) are not met: a clinician decides."""
    NO_APPLICABLE_GUIDELINE = "no-applicable-guideline"

    @property
    def label(self) -> str:
        """The outcome as a reviewer writes it."""
        return {
            "medically-necessary": "Medically necessary",
            "not-medically-necessary": "Not medically necessary",
            "pended-information-needed": "Pended: information needed",
            "pended-clinician-review": "Pended: clinician review",
            "no-applicable-guideline": "No applicable guideline",
        }[self.value]


class Status(StrEnum):
    """A criterion's three-valued result; unknown is never collapsed into met or not met."""

    MET = "met"
    NOT_MET = "not-met"
    UNKNOWN = "unknown"


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Source(_Out):
    """The document a case fact came from."""

    id: str
    kind: str
    date: str | None = None
    title: str | None = None


class Fact(_Out):
    """A case fact a criterion rests on."""

    node: str
    text: str
    assessment: str | None = None
    source: Source | None = None
    notStated: list[str] = Field(
        default_factory=list, description="with assessment 'may qualify': the values the case does not state"
    )


class Evidence(_Out):
    """An evidence grade in its scheme."""

    grade: str
    scheme: str
    recommendation: str


class CriterionResult(_Out):
    """One applicable criterion and how the case fares against it."""

    id: str
    label: str
    category: str
    required: bool
    verification: str | None = Field(
        default=None,
        description="the weakest verification tag (V, V2, S, U) of the facts the criterion rests on: its own, the "
        "thresholds it uses and, for a coverage criterion, the coverage rules of the codes it judges",
    )
    advisory: bool = Field(
        default=False,
        description="required, but resting on a single-source or unverified fact (S or U): not met, it pends the "
        "request for the clinician reviewer instead of denying it",
    )
    decidesBecause: str | None = Field(
        default=None,
        description="why the criterion decides a denial although its tag is S or U (the knowledge base says)",
    )
    statement: str
    status: Status
    finding: str
    facts: list[Fact]
    evidence: Evidence | None = None
    references: list[str]
    notStated: list[str] = Field(
        default_factory=list,
        description="the values the case does not state that leave this criterion unknown, each in words",
    )


class RequestedLine(_Out):
    """A requested code with its coverage under the policy."""

    code: str
    system: str
    label: str
    units: int
    coverage: str
    coverageStatus: str
    """The coverage status as a stable code: covered, not-covered, experimental-unproven, unlisted, not-addressed."""
    coverageReferences: list[str]


class DiagnosisOut(_Out):
    """A diagnosis on the request, as the ICD-10-CM release the service holds describes it."""

    code: str
    system: str = "ICD-10-CM"
    description: str | None = Field(description="the official description; null when the release has no such code")
    billable: bool | None = Field(
        description="whether a claim may carry the code (a category may not); null when the release has no such code"
    )
    primary: bool
    problem: str | None = Field(
        default=None, description="why the request pends on this code (a category, a code that cannot be checked)"
    )


class NextStep(_Out):
    """A step of the pathway not yet done, in pathway order."""

    order: int
    step: str
    action: str
    requested: bool
    evidence: Evidence | None = None
    details: list[str]


class ReferenceOut(_Out):
    """A cited source."""

    id: str
    label: str
    publisher: str
    year: str
    identifiers: list[str]
    verification: str
    verifiedContent: str | None = Field(default=None, description="for a reference tagged V: what in it was checked")
    grades: list[str]


UNJUDGED = "none"
"""The policy id of what is kept of a PAS request no policy could judge (no policy of a knowledge base has it)."""


class PolicyOut(_Out):
    """The policy the case was judged under."""

    id: str
    label: str
    publisher: str
    version: str
    effectiveDate: str


class Determination(_Out):
    """The reasoner's answer for one case under one policy."""

    determinationId: str = Field(
        description="a digest of the knowledge base, the policy and the case as submitted (a JSON or FHIR case's "
        "validated fields, a Turtle or JSON-LD case's triples): the same case always gets the same id"
    )
    case: str
    requestDate: str | None = Field(None, description="the date of the request (ISO 8601), as the case gives it")
    policy: PolicyOut
    knowledgeBase: str
    outcome: Outcome
    outcomeLabel: str
    clinicianReview: bool
    requested: list[RequestedLine]
    diagnoses: list[DiagnosisOut] = Field(
        default_factory=list, description="the diagnoses on the request, primary first"
    )
    rationale: list[str]
    criteria: list[CriterionResult]
    missingInformation: list[str]
    nextSteps: list[NextStep]
    references: list[ReferenceOut]
