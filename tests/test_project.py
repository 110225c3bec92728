"""Project-level contracts: the public API, the vocabulary in code and in Turtle, documented errors, the schema."""

from __future__ import annotations

import json
import typing
from types import ModuleType

from rdflib import RDFS

import reasoner
from reasoner import KnowledgeBase
from reasoner.errors import ErrorCode
from reasoner.intake.json_case.schema import json_schema
from reasoner.vocab import CV, GR

from .conftest import ROOT


def test_public_api_is_exactly_all() -> None:
    public = sorted(
        name for name, value in vars(reasoner).items() if not name.startswith("_") and not isinstance(value, ModuleType)
    )
    assert sorted(reasoner.__all__) == public


def test_vocabulary_in_code_is_declared_in_the_ontology(kb: KnowledgeBase) -> None:
    for ns in (GR, CV):
        for term in ns.__annotations__:
            iri = ns[term]
            assert (iri, RDFS.label, None) in kb.ontology, f"{iri} is used in code but not declared"


def test_every_case_term_is_in_code(kb: KnowledgeBase) -> None:
    prefix = "https://w3id.org/guideline-reasoner/case#"
    declared = {str(s)[len(prefix) :] for s in kb.ontology.subjects(RDFS.label, None) if str(s).startswith(prefix)}
    classes_and_properties = {
        t
        for t in declared
        if t[0].islower()
        or t
        in {
            "Case",
            "Patient",
            "ServiceRequest",
            "RequestLine",
            "Condition",
            "PriorProcedure",
            "ConservativeCare",
            "ExamFinding",
            "ImagingFinding",
            "PainHistory",
            "SourceDocument",
        }
    }
    assert classes_and_properties <= set(CV.__annotations__)


def test_every_term_of_our_namespaces_has_label_and_definition(kb: KnowledgeBase) -> None:
    from rdflib import OWL, RDF
    from rdflib.namespace import SKOS

    base = "https://w3id.org/guideline-reasoner/"
    terms = {s for s in kb.ontology.subjects(RDF.type, None) if str(s).startswith(base)}
    subjects = {s for s in terms if (s, RDF.type, OWL.Ontology) not in kb.ontology}
    missing = sorted(
        str(s)
        for s in subjects
        if (s, RDFS.label, None) not in kb.ontology or (s, SKOS.definition, None) not in kb.ontology
    )
    assert missing == []


def test_every_error_code_is_documented() -> None:
    doc = (ROOT / "docs" / "errors.md").read_text()
    for code in typing.get_args(ErrorCode):
        assert f"\n## {code}\n" in doc, code


def test_json_schema_file_is_current() -> None:
    on_disk = json.loads((ROOT / "schemas" / "case.schema.json").read_text())
    assert on_disk == json_schema(), "regenerate with: guideline-reasoner schema > schemas/case.schema.json"


def test_examples_validate_against_the_schema_models() -> None:
    from reasoner.intake.json_case.load import load_json

    for path in (ROOT / "examples" / "cases").glob("*.json"):
        if not path.name.endswith(".expected.json"):
            load_json(path.read_bytes())


def test_every_threat_the_code_cites_is_in_docs_threats() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    listed = set(re.findall(r"^\| ([A-I][0-9]+) \|", (root / "docs/threats.md").read_text(), re.MULTILINE))
    sections = set(re.findall(r"^## ([A-I])\. ", (root / "docs/threats.md").read_text(), re.MULTILINE))
    cited: set[str] = set()
    for folder in ("reasoner", "api", "tests"):
        for path in (root / folder).rglob("*.py"):
            for run in re.findall(r"docs/threats\.md ((?:[A-I][0-9]*(?:-[A-I]?[0-9]+)?(?:, )?)+)", path.read_text()):
                for part in run.split(", "):
                    first, _, last = part.partition("-")
                    if first[1:] and last:
                        cited.update(f"{first[0]}{n}" for n in range(int(first[1:]), int(last.lstrip(first[0])) + 1))
                    else:
                        cited.add(first)
    assert cited, "no citation found: the pattern is wrong"
    assert {c for c in cited if c not in listed and c not in sections} == set()
