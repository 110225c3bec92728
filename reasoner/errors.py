"""Errors raised by the reasoner, each with a stable code (documented in docs/errors.md).

* ReasonerError
  + KnowledgeBaseError          ontology/ or shapes/ failed to load or to self-check
    - KnowledgeBaseLintError    lint has findings, so the knowledge base is not used
  + UnknownPolicyError          the policy id is not in the knowledge base
  + CaseError                   the submitted case is unusable
    - CaseParseError            syntax error (carries line and column)
    - CaseTooLarge              over the byte, triple or nesting limit
    - CaseSchemaError           a JSON case misses a field or has a wrong value (names each field)
    - CaseVocabularyError       a Turtle case uses a term outside the case vocabulary
    - CaseShapeError            the case graph fails the well-formedness shapes
    - FhirError                 FHIR input that cannot be read (rendered as an OperationOutcome)
  + ValidationError             SHACL validation could not be completed safely
  + NotFound                    no such policy, code or criterion (catalogue.py)
  + QueryRejected, QueryTimeout, QueryBusy   SPARQL refusals and limits (sparql.py)
  + UpdateRefused, QueryFailed  a SPARQL Update (read-only endpoint); a query the endpoint failed to run

Messages never quote the submitted content: cases are PHI.
"""

from __future__ import annotations

from typing import ClassVar, Literal

ErrorCode = Literal[
    "kb-load",
    "kb-lint",
    "unknown-policy",
    "case-parse",
    "case-too-large",
    "case-schema",
    "case-vocabulary",
    "case-shape",
    "fhir-invalid",
    "validation",
    "not-found",
    "sparql-rejected",
    "sparql-timeout",
    "sparql-busy",
    "sparql-update-refused",
    "sparql-failed",
]


class ReasonerError(Exception):
    """Base of every error the reasoner raises on purpose."""

    code: ClassVar[ErrorCode]

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class KnowledgeBaseError(ReasonerError):
    """The knowledge base could not be loaded or failed its own checks."""

    code: ClassVar[ErrorCode] = "kb-load"  # widened: subclasses have codes of their own


class KnowledgeBaseLintError(KnowledgeBaseError):
    """The knowledge base has lint findings, so it is not used (fail closed)."""

    code = "kb-lint"

    def __init__(self, findings: list[str]) -> None:
        shown = "\n".join(f"  {f}" for f in findings[:20])
        more = (
            f"\n  ... and {len(findings) - 20} more (guideline-reasoner lint lists them all)"
            if len(findings) > 20
            else ""
        )
        super().__init__(f"the knowledge base has {len(findings)} lint findings, so it is not used:\n{shown}{more}")
        self.findings = findings


class UnknownPolicyError(ReasonerError):
    """A policy id that the knowledge base does not hold."""

    code = "unknown-policy"

    def __init__(self, policy: str, valid: list[str]) -> None:
        what = policy if policy in ("no policy given", "the policy named in the case") else f"unknown policy {policy!r}"
        super().__init__(f"{what}; valid policies: {', '.join(valid)}")
        self.policy, self.valid = policy, valid


class ValidationError(ReasonerError):
    """SHACL validation failed or could not be trusted (for example, shape recursion)."""

    code = "validation"


class CaseError(ReasonerError):
    """The submitted case cannot be judged."""

    code: ClassVar[ErrorCode] = "case-schema"  # widened: subclasses have codes of their own


class CaseParseError(CaseError):
    """The case is not well-formed Turtle or JSON."""

    code = "case-parse"

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(where + message)
        self.reason, self.line, self.column = message, line, column


class CaseTooLarge(CaseError):
    """The case is over a size limit."""

    code = "case-too-large"


class CaseSchemaError(CaseError):
    """A JSON case misses required fields or has invalid values."""

    code = "case-schema"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{where}: {what}" for where, what in problems))
        self.problems = problems


class CaseVocabularyError(CaseError):
    """A case uses predicates or types outside the case vocabulary."""

    code = "case-vocabulary"


class CaseShapeError(CaseError):
    """The case graph does not conform to shapes/case.ttl."""

    code = "case-shape"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        shown = "; ".join(f"{where}: {what}" for where, what in problems[:10])
        more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        super().__init__(f"the case is not well-formed: {shown}{more}")
        self.problems = problems


IssueCode = Literal["structure", "invalid", "not-found", "required", "too-costly", "not-supported"]
_STATUS: dict[str, int] = {"required": 422, "too-costly": 413}


class FhirError(CaseError):
    """FHIR input that cannot be read: each issue has a FHIR issue code, the element, and why.

    ``status`` is the HTTP status it maps to: 413 too large, 422 a required element missing, 412
    when the caller passes it (CDS Hooks prefetch), else 400.
    """

    code = "fhir-invalid"

    def __init__(self, issues: list[tuple[IssueCode, str | None, str]], *, status: int | None = None) -> None:
        shown = "; ".join(f"{where}: {why}" if where else why for _, where, why in issues[:10])
        more = f"; and {len(issues) - 10} more" if len(issues) > 10 else ""
        super().__init__(shown + more)
        self.issues = issues
        self.status = status or max((_STATUS.get(code, 400) for code, _, _ in issues), default=400)
