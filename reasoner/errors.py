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
      . ExternalAccessRefused   parsing it reached for a file, the network or a process
    - CaseShapeError            the case graph fails the well-formedness shapes
    - FhirError                 FHIR input that cannot be read (rendered as an OperationOutcome)
  + ValidationError             SHACL validation could not be completed safely
  + VersionError                a revision or folder that cannot be read as a knowledge base (impact)
  + NotFound                    no such policy, code or criterion
  + QueryRejected, QueryTimeout, QueryBusy   SPARQL refusals and limits
  + UpdateRefused, QueryFailed  a SPARQL Update (read-only endpoint); a query the endpoint failed to run

Each class says how the HTTP API answers it: ``status``, ``title`` and, from :meth:`ReasonerError.members`,
the problem-details members beyond the standard ones. The API finds them by attribute lookup, so a
subclass answers as its nearest ancestor that sets them (api/problems.py has no list of classes).

Messages never quote the submitted content: cases are PHI.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

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
    status: int = 400
    """The HTTP status the API answers with."""
    title: ClassVar[str] = "Request refused"
    """The problem's title: the same for every error of the class."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def detail(self) -> str:
        """The problem's detail: the message, unless the class gives its parts as members."""
        return self.message

    def members(self) -> dict[str, Any]:
        """Problem-details members beyond type, title, status, detail and code (RFC 9457 extensions)."""
        return {}


class KnowledgeBaseError(ReasonerError):
    """The knowledge base could not be loaded or failed its own checks."""

    code: ClassVar[ErrorCode] = "kb-load"  # widened: subclasses have codes of their own
    status = 503
    title = "Knowledge base unavailable"


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
    status = 422
    title = "Unknown policy"

    def __init__(self, policy: str, valid: list[str]) -> None:
        what = policy if policy in ("no policy given", "the policy named in the case") else f"unknown policy {policy!r}"
        super().__init__(f"{what}; valid policies: {', '.join(valid)}")
        self.policy, self.valid = policy, valid

    def members(self) -> dict[str, Any]:
        """The ids a request may name."""
        return {"validPolicies": self.valid}


class ValidationError(ReasonerError):
    """SHACL validation failed or could not be trusted (for example, shape recursion)."""

    code = "validation"
    status = 422
    title = "The case cannot be judged"


class CaseError(ReasonerError):
    """The submitted case cannot be judged."""

    code: ClassVar[ErrorCode] = "case-schema"  # widened: subclasses have codes of their own
    status = 422
    title = "The case cannot be judged"


class CaseParseError(CaseError):
    """The case is not well-formed Turtle or JSON."""

    code = "case-parse"
    status = 400
    title = "The case cannot be parsed"

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(where + message)
        self.reason, self.line, self.column = message, line, column

    @property
    def detail(self) -> str:
        """The reason alone: the line and column are members of their own."""
        return self.reason

    def members(self) -> dict[str, Any]:
        """Where the syntax error is."""
        return {"line": self.line, "column": self.column}


class CaseTooLarge(CaseError):
    """The case is over a size limit."""

    code = "case-too-large"
    status = 413
    title = "The case is too large"


class CaseSchemaError(CaseError):
    """A JSON case misses required fields or has invalid values."""

    code = "case-schema"
    title = "The case is not valid"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{where}: {what}" for where, what in problems))
        self.problems = problems

    def members(self) -> dict[str, Any]:
        """Each problem with its location."""
        return {"errors": [{"location": where, "problem": what} for where, what in self.problems]}


class CaseVocabularyError(CaseError):
    """A case uses predicates or types outside the case vocabulary."""

    code = "case-vocabulary"


class CaseShapeError(CaseError):
    """The case graph does not conform to shapes/case.ttl."""

    code = "case-shape"
    title = "The case is not valid"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        shown = "; ".join(f"{where}: {what}" for where, what in problems[:10])
        more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        super().__init__(f"the case is not well-formed: {shown}{more}")
        self.problems = problems

    def members(self) -> dict[str, Any]:
        """Each problem with its location."""
        return {"errors": [{"location": where, "problem": what} for where, what in self.problems]}


class ExternalAccessRefused(CaseVocabularyError):
    """Parsing a case reached for a file, the network or a process, and was stopped (reasoner/intake/limits.py)."""

    def __init__(self) -> None:
        super().__init__("the case refers to something outside it (a file or a network address); nothing is fetched")


IssueCode = Literal[
    "structure", "invalid", "code-invalid", "not-found", "required", "too-costly", "not-supported", "multiple-matches"
]
_STATUS: dict[str, int] = {"required": 422, "code-invalid": 422, "too-costly": 413}


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


class VersionError(ReasonerError):
    """A revision or folder that cannot be read as a knowledge base (``guideline-reasoner impact``)."""

    code = "kb-load"


class NotFound(ReasonerError):
    """No such policy, procedure code or criterion."""

    code = "not-found"
    status = 404
    title = "Not found"


class QueryRejected(ReasonerError):
    """The query is not allowed, or not valid SPARQL (a syntax error carries its line and column)."""

    code = "sparql-rejected"
    title = "Query refused"

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line, self.column = line, column

    def members(self) -> dict[str, Any]:
        """Where the syntax error is."""
        return {"line": self.line, "column": self.column}


class UpdateRefused(ReasonerError):
    """A SPARQL Update, however it was sent: the endpoint is read-only."""

    code = "sparql-update-refused"
    status = 403
    title = "Updates not supported"

    def __init__(self) -> None:
        super().__init__(
            "SPARQL Update is not supported: this endpoint is read-only and answers SPARQL 1.1 queries"
            " (SELECT, ASK, CONSTRUCT, DESCRIBE) only"
        )


class QueryFailed(ReasonerError):
    """A query the endpoint accepted failed while it was run or written: a fault of the endpoint."""

    code = "sparql-failed"
    status = 500
    title = "Query failed"


class QueryTimeout(ReasonerError):
    """The query was still being parsed or run at its deadline (or ran out of memory) and was stopped."""

    code = "sparql-timeout"
    status = 503
    title = "Query stopped"


class QueryBusy(ReasonerError):
    """No query slot became free before the request's deadline; try again."""

    code = "sparql-busy"
    status = 503
    title = "Busy"
