"""POST /determinations: formats in and out, and the same answer as the CLI."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli_app

from ..conftest import EXAMPLES
from .conftest import JSON, TURTLE

SEED = EXAMPLES / "sij-seed-neurectomy.json"


def test_seed_over_http_equals_the_cli(client: TestClient) -> None:
    http = client.post("/determinations", content=SEED.read_bytes(), headers=JSON)
    assert http.status_code == 200 and http.headers["content-type"] == "application/json"
    cli = CliRunner().invoke(cli_app, ["determine", str(SEED)])
    assert cli.exit_code == 0
    assert http.json() == json.loads(cli.stdout)
    assert http.json()["outcome"] == "not-medically-necessary"


def test_turtle_body_and_policy_parameter(client: TestClient) -> None:
    r = client.post(
        "/determinations?policy=medicare-sij-lcd",
        content=(EXAMPLES / "sij-seed-neurectomy.ttl").read_bytes(),
        headers=TURTLE,
    )
    assert r.status_code == 200
    assert (r.json()["policy"]["id"], r.json()["outcome"]) == ("medicare-sij-lcd", "no-applicable-guideline")


def test_jsonld_body_with_the_published_context(client: TestClient) -> None:
    from rdflib import Graph

    from reasoner.intake.jsonld import CONTEXT_URL

    graph = Graph().parse(EXAMPLES / "sij-seed-neurectomy.ttl")
    doc = {"@context": CONTEXT_URL, "@graph": json.loads(graph.serialize(format="json-ld"))}
    r = client.post("/determinations", content=json.dumps(doc), headers={"content-type": "application/ld+json"})
    assert r.status_code == 200 and r.json()["outcome"] == "not-medically-necessary"


def test_jsonld_body_in_expanded_form(client: TestClient) -> None:
    """rdflib's own JSON-LD output, a top-level array of node objects, with no context at all."""
    from rdflib import Graph

    expanded = Graph().parse(EXAMPLES / "sij-seed-neurectomy.ttl").serialize(format="json-ld")
    assert expanded.lstrip().startswith("[")
    r = client.post("/determinations", content=expanded, headers={"content-type": "application/ld+json"})
    assert r.status_code == 200 and r.json()["outcome"] == "not-medically-necessary"


@pytest.mark.parametrize(
    ("accept", "media", "marker"),
    [
        ("text/markdown", "text/markdown", "# Determination: Not medically necessary"),
        ("text/html", "text/html", "<h1>Determination: Not medically necessary</h1>"),
        ("text/turtle", "text/turtle", "prov:wasGeneratedBy"),
        ("application/ld+json", "application/ld+json", "http://www.w3.org/ns/prov#wasGeneratedBy"),
        ("text/html;q=0.5, text/markdown", "text/markdown", "# Determination"),
        ("*/*", "application/json", '"outcome"'),
    ],
)
def test_response_follows_accept(client: TestClient, accept: str, media: str, marker: str) -> None:
    r = client.post("/determinations", content=SEED.read_bytes(), headers={**JSON, "accept": accept})
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media
    assert marker in r.text


def test_rdf_output_carries_provenance(client: TestClient) -> None:
    from rdflib import PROV, Graph, Literal
    from rdflib.namespace import RDF

    r = client.post("/determinations", content=SEED.read_bytes(), headers={**JSON, "accept": "text/turtle"})
    g = Graph().parse(data=r.text, format="turtle")
    gr = "https://w3id.org/guideline-reasoner/core#"
    from rdflib import URIRef

    det = next(g.subjects(RDF.type, URIRef(gr + "Determination")))
    assert (det, URIRef(gr + "outcome"), Literal("not-medically-necessary")) in g
    version = client.get("/version").json()["knowledgeBase"]
    assert (None, URIRef(gr + "contentHash"), Literal(version)) in g
    assert len(set(g.objects(None, PROV.used))) > 10  # the knowledge base, the policy, the case facts


def test_html_escapes_case_content(client: TestClient) -> None:
    ttl = (EXAMPLES / "sij-seed-neurectomy.ttl").read_text()
    marked = ttl.replace('cv:identifier "lbb-note"', 'cv:identifier "<script>x</script>"')
    assert marked != ttl
    r = client.post("/determinations", content=marked, headers={**TURTLE, "accept": "text/html"})
    assert r.status_code == 200
    assert "<script>x" not in r.text and "&lt;script&gt;x" in r.text


def test_a_schema_error_is_in_plain_words_in_the_problem(client: TestClient) -> None:
    case = json.loads(SEED.read_text())
    case["request"]["codes"][0]["code"] = "6477"
    case["request"]["date"] = "17/11/2025"
    r = client.post("/determinations", content=json.dumps(case), headers=JSON)
    assert r.status_code == 422 and r.json()["code"] == "case-schema"
    errors = {e["location"]: e["problem"] for e in r.json()["errors"]}
    assert errors["request.date"] == 'must be a date written YYYY-MM-DD; for example "2025-11-17"'
    assert errors["request.codes.0.code"].startswith("must be a CPT or HCPCS code")
    assert errors["request.codes.0.code"].endswith('; for example "64772"')
    assert "pattern" not in r.text and "Input should" not in r.text and "6477" not in r.text.replace("64772", "")


def test_a_fhir_bundle_sent_as_json_is_named_with_where_to_send_it(client: TestClient) -> None:
    bundle = (EXAMPLES.parent / "fhir" / "sij-seed-neurectomy.pas.json").read_bytes()
    r = client.post("/determinations", content=bundle, headers=JSON)
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert error["location"] == "resourceType"
    assert "FHIR Bundle" in error["problem"] and "application/fhir+json" in error["problem"]
    assert "/Claim/$submit" in error["problem"]
