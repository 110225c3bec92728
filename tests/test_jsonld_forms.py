"""A JSON-LD case is read in every valid form, with the local context only, and judged as its Turtle is.

The seed case's Turtle is written out by rdflib (expanded, and with the context as an @graph
document) and by PyLD, an independent JSON-LD processor (expanded with the nodes nested,
compacted, flattened with and without a context, and framed as one tree with the case at the
top); each form with a context has it inline and, again, named by its published URL. Every one
gets the determination the Turtle gets. PyLD's document loader is replaced by one that refuses,
so nothing here is fetched either.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld
from rdflib import Graph
from typer.testing import CliRunner

from api.cli import app
from reasoner import CaseParseError, KnowledgeBase, determine
from reasoner.intake.jsonld import CONTEXT_URL, vendored_context

from .conftest import EXAMPLES

SEED_TTL = (EXAMPLES / "sij-seed-neurectomy.ttl").read_bytes()


def _no_fetch(url: str, options: Any = None) -> Any:
    raise AssertionError(f"PyLD tried to load {url}")


jsonld.set_document_loader(_no_fetch)
_GRAPH = Graph().parse(data=SEED_TTL, format="turtle")
_EXPANDED: list[dict[str, Any]] = json.loads(_GRAPH.serialize(format="json-ld"))
_CONTEXT = {"@context": vendored_context()}

FORMS: dict[str, Callable[[], Any]] = {
    "expanded (rdflib)": lambda: json.loads(_GRAPH.serialize(format="json-ld")),
    "@graph (rdflib)": lambda: json.loads(_GRAPH.serialize(format="json-ld", context=vendored_context())),
    "expanded, nodes nested (PyLD)": lambda: jsonld.expand(jsonld.frame(_EXPANDED, {**_CONTEXT, "@type": "Case"})),
    "compacted (PyLD)": lambda: jsonld.compact(_EXPANDED, _CONTEXT),
    "flattened (PyLD)": lambda: jsonld.flatten(_EXPANDED, _CONTEXT),
    "flattened, no context (PyLD)": lambda: jsonld.flatten(_EXPANDED),
    "framed: one tree, the case at the top (PyLD)": lambda: jsonld.frame(_EXPANDED, {**_CONTEXT, "@type": "Case"}),
}


def _by_url(doc: Any) -> Any:
    """The same document with its context named by the published URL instead of inline."""
    assert isinstance(doc, dict) and isinstance(doc.get("@context"), dict)
    return {**doc, "@context": CONTEXT_URL}


CASES = {name: form for name, form in FORMS.items()} | {
    f"{name}, context by URL": (lambda form=form: _by_url(form()))
    for name, form in FORMS.items()
    if "expanded" not in name and "no context" not in name
}


@pytest.fixture(scope="module")
def turtle(kb: KnowledgeBase) -> dict[str, Any]:
    return determine(SEED_TTL, "turtle", kb).model_dump(mode="json")


def _without_id(determination: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in determination.items() if k != "determinationId"}


def test_the_forms_differ() -> None:
    """Each form really is another shape of document (so the test below reads more than one)."""
    shapes = {name: json.dumps(form(), sort_keys=True) for name, form in CASES.items()}
    assert len(set(shapes.values())) == len(shapes)
    assert isinstance(FORMS["expanded (rdflib)"](), list)
    framed = FORMS["framed: one tree, the case at the top (PyLD)"]()
    assert "@graph" not in framed and framed["@type"] == "Case" and isinstance(framed["request"], dict)


@pytest.mark.parametrize("name", list(CASES))
def test_every_form_gets_the_turtle_determination(kb: KnowledgeBase, turtle: dict[str, Any], name: str) -> None:
    doc = CASES[name]()
    got = determine(json.dumps(doc).encode(), "json-ld", kb).model_dump(mode="json")
    assert got["outcome"] == "not-medically-necessary"
    assert _without_id(got) == _without_id(turtle)
    assert got["determinationId"] == turtle["determinationId"]  # the id digests the triples


@pytest.mark.parametrize("payload", [b'"a string"', b"42", b"null", b"true"])
def test_json_that_is_no_jsonld_document_is_refused_with_the_reason(kb: KnowledgeBase, payload: bytes) -> None:
    with pytest.raises(CaseParseError, match="an object .* or an array of node objects"):
        determine(payload, "json-ld", kb)


@pytest.mark.parametrize("suffix", [".jsonld", ".json", ""])
def test_the_cli_reads_the_expanded_form_from_a_file_or_standard_input(tmp_path: Path, suffix: str) -> None:
    body = json.dumps(FORMS["expanded (rdflib)"]())
    runner = CliRunner()
    if suffix:
        path = tmp_path / f"seed{suffix}"
        path.write_text(body)
        result = runner.invoke(app, ["determine", str(path)])
    else:
        result = runner.invoke(app, ["determine", "-"], input=body)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outcome"] == "not-medically-necessary"
