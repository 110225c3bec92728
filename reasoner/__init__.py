"""guideline-reasoner: decide whether a requested procedure meets a policy's criteria, and explain why.

The pipeline is intake -> enrich -> validate -> explain -> render; see the modules of the same
names. Load the knowledge base once with :meth:`KnowledgeBase.load` and share it.
"""

import logging

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

__version__ = "0.1.0"

# rdflib logs the lexical form of a literal it cannot convert (an ill-typed date in a case, say),
# with a traceback: patient data in the logs. The reasoner reports such problems itself, by
# location; rdflib's and pyshacl's own logging is silenced below ERROR.
for _library in ("rdflib", "pyshacl"):
    logging.getLogger(_library).setLevel(logging.ERROR)

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
