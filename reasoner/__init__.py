"""guideline-reasoner: decide whether a requested procedure meets a policy's criteria, and explain why.

The pipeline is intake -> enrich -> validate -> explain -> render; see the modules of the same
names. Load the knowledge base once with :meth:`KnowledgeBase.load` and share it.
"""

from reasoner.compare import ALL_POLICIES, Comparison, compare
from reasoner.errors import (
    CaseError,
    CaseParseError,
    CaseSchemaError,
    CaseShapeError,
    CaseTooLarge,
    CaseVocabularyError,
    FhirError,
    KnowledgeBaseError,
    ReasonerError,
    UnknownPolicyError,
    ValidationError,
)
from reasoner.intake.parsed import ParsedCase
from reasoner.knowledge.base import KnowledgeBase
from reasoner.model import CriterionResult, Determination, Outcome, Status
from reasoner.pipeline import determine, determine_graph, parse_case
from reasoner.render.text import render, render_comparison, to_json, to_markdown
from reasoner.shacl._pyshacl import quiet_library_logs as _quiet_library_logs

__version__ = "0.1.0"

_quiet_library_logs()

__all__ = [
    "FhirError",
    "ALL_POLICIES",
    "CaseError",
    "CaseParseError",
    "CaseSchemaError",
    "CaseShapeError",
    "CaseTooLarge",
    "CaseVocabularyError",
    "Comparison",
    "CriterionResult",
    "Determination",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Outcome",
    "ReasonerError",
    "Status",
    "UnknownPolicyError",
    "ValidationError",
    "compare",
    "determine",
    "determine_graph",
    "ParsedCase",
    "parse_case",
    "render",
    "render_comparison",
    "to_json",
    "to_markdown",
]
