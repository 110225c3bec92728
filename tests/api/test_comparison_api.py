"""POST /determinations?policy=all: the comparison in JSON, Markdown and HTML; never as RDF."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli_app
from reasoner import Comparison

from ..conftest import EXAMPLES
from .conftest import JSON, TURTLE

SEED = EXAMPLES / "sij-seed-neurectomy.json"
EXPECTED = {"sij-clinical-pathway": "not-medically-necessary", "medicare-sij-lcd": "no-applicable-guideline"}


def test_seed_comparison_json(client: TestClient) -> None:
    r = client.post("/determinations?policy=all", content=SEED.read_bytes(), headers=JSON)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    comparison = Comparison.model_validate_json(r.text)
    outcomes = {d.policy.id: d.outcome.value for d in comparison.determinations}
    assert EXPECTED.items() <= outcomes.items()
    for policy_id in EXPECTED:
        single = client.post(f"/determinations?policy={policy_id}", content=SEED.read_bytes(), headers=JSON).json()
        mine = next(d for d in comparison.determinations if d.policy.id == policy_id)
        assert mine.model_dump(mode="json") == single


def test_comparison_over_http_equals_the_cli(client: TestClient) -> None:
    http = client.post("/determinations?policy=all", content=SEED.read_bytes(), headers=JSON)
    cli = CliRunner().invoke(cli_app, ["determine", str(SEED), "--policy", "all"])
    assert cli.exit_code == 0
    assert http.json() == json.loads(cli.stdout)


def test_turtle_body(client: TestClient) -> None:
    ttl = (EXAMPLES / "sij-seed-neurectomy.ttl").read_bytes()
    r = client.post("/determinations?policy=all", content=ttl, headers=TURTLE)
    assert r.status_code == 200
    assert EXPECTED.items() <= {s["policy"]: s["outcome"] for s in r.json()["summary"]}.items()


@pytest.mark.parametrize(
    ("accept", "media", "marker"),
    [
        ("text/markdown", "text/markdown", "# Comparison: sij-seed-neurectomy under "),
        ("text/html", "text/html", "<h2>Why the answers differ</h2>"),
        ("*/*", "application/json", '"comparisonId"'),
        ("text/turtle, text/markdown;q=0.5", "text/markdown", "## Side by side"),
    ],
)
def test_response_follows_accept(client: TestClient, accept: str, media: str, marker: str) -> None:
    r = client.post("/determinations?policy=all", content=SEED.read_bytes(), headers={**JSON, "accept": accept})
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media
    assert marker in r.text


@pytest.mark.parametrize("accept", ["text/turtle", "application/ld+json"])
def test_rdf_is_not_acceptable_for_a_comparison(client: TestClient, accept: str) -> None:
    r = client.post("/determinations?policy=all", content=SEED.read_bytes(), headers={**JSON, "accept": accept})
    assert r.status_code == 406 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "not-acceptable"
    assert problem["available"] == ["application/json", "text/markdown", "text/html"]
    assert "policy=all" in problem["detail"]


def test_markdown_table_has_a_column_per_policy(client: TestClient) -> None:
    r = client.post(
        "/determinations?policy=all", content=SEED.read_bytes(), headers={**JSON, "accept": "text/markdown"}
    )
    data = client.post("/determinations?policy=all", content=SEED.read_bytes(), headers=JSON).json()
    header = r.text.split("## Side by side\n\n", 1)[1].splitlines()[0]
    for s in data["summary"]:
        assert f"(`{s['policy']}`)" in header
    assert header.count(" | ") == len(data["summary"])


def test_html_escapes_case_content(client: TestClient) -> None:
    ttl = (EXAMPLES / "sij-seed-neurectomy.ttl").read_text()
    marked = ttl.replace('cv:identifier "sij-seed-neurectomy"', 'cv:identifier "<script>x</script>"')
    assert marked != ttl
    r = client.post("/determinations?policy=all", content=marked, headers={**TURTLE, "accept": "text/html"})
    assert r.status_code == 200
    assert "<script>x" not in r.text and "&lt;script&gt;x" in r.text


def test_no_relevant_policy_is_200_with_a_note(client: TestClient) -> None:
    case = json.loads(SEED.read_text())
    case["request"]["codes"] = [{"code": "99213", "units": 1}]
    r = client.post("/determinations?policy=all", content=json.dumps(case), headers=JSON)
    assert r.status_code == 200
    assert r.json()["determinations"] == [] and "99213" in r.json()["note"]


def test_bad_case_is_still_a_problem(client: TestClient) -> None:
    r = client.post("/determinations?policy=all", content=b'{"id": ', headers=JSON)
    assert r.status_code == 400 and r.json()["code"] == "case-parse"


def test_openapi_documents_policy_all(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    params = spec["paths"]["/determinations"]["post"]["parameters"]
    policy = next(p for p in params if p["name"] == "policy")
    assert "`all`" in policy["description"]
