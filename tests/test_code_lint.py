"""Lint of the codes and families the knowledge base names (reasoner/knowledge/code_lint.py), beyond its fixtures."""

from __future__ import annotations

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import SKOS

from reasoner.knowledge.code_lint import code_problems, range_problems
from reasoner.vocab import GR, ICD10CM

ENTRY = URIRef("urn:x:entry")


def _entry(**values: str) -> Graph:
    g = Graph()
    g.add((ENTRY, RDF.type, GR.DiagnosisEntry))
    for name, value in values.items():
        g.add((ENTRY, GR[name], Literal(value)))
    return g


def test_a_range_needs_two_billable_ends_in_order() -> None:
    assert code_problems(_entry(firstCode="Z68.35", lastCode="Z68.45")) == []
    (problem,) = [m for _, _, m in code_problems(_entry(firstCode="Z68.3", lastCode="Z68.45"))]
    assert problem.startswith("range Z68.3-Z68.45: Z68.3 is a category, not a billable code of ICD-10-CM FY2026")
    (problem,) = [m for _, _, m in code_problems(_entry(firstCode="Z68.45", lastCode="Z68.35"))]
    assert problem == "range Z68.45-Z68.35: its first code comes after its last, so it holds no code"


def test_a_range_has_ends_of_one_length_in_order() -> None:
    assert range_problems(_entry(firstCode="Z68.35", lastCode="Z68.45")) == []
    for first, last in (("Z68.3", "Z68.45"), ("Z68.45", "Z68.35")):
        ((term, message),) = range_problems(_entry(firstCode=first, lastCode=last))
        assert term == ENTRY and message.startswith("the two ends of a range must be codes of the same length")


def test_a_family_is_an_item_of_the_release() -> None:
    assert code_problems(_entry(codePrefix="M47.81")) == []
    ((term, check, message),) = code_problems(_entry(codePrefix="M47.80"))
    assert (term, check) == (ENTRY, "family-exists") and "has no item M47.80" in message


def test_a_category_held_as_a_code_is_a_finding_unless_held_as_deleted() -> None:
    g = Graph()
    code = ICD10CM["M54.5"]
    g.add((code, SKOS.inScheme, ICD10CM.scheme))
    g.add((code, SKOS.notation, Literal("M54.5")))
    ((_, check, message),) = code_problems(g)
    assert check == "code-exists" and message.startswith("M54.5 is a category of ICD-10-CM FY2026")
    g.add((code, GR.deletedOn, Literal("2021-10-01")))
    assert code_problems(g) == []
