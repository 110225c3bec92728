"""The OpenAPI document is well formed, documents a schema for every success answer, and real answers match it.

openapi-spec-validator is not a dependency, so the document's structure is checked here: OpenAPI
3.1, unique operation ids, every path parameter declared, every ``$ref`` resolvable, every
component schema a valid JSON Schema (2020-12, OpenAPI 3.1's dialect). Then every 2xx answer of
every operation has content with a schema for each media type, and a real answer of each
operation, in each JSON media type it has, validates against the schema the document gives for
it (jsonschema-rs, with the document's components).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from ..conftest import EXAMPLES, ROOT
from .conftest import JSON

FHIR_EXAMPLES = ROOT / "examples" / "fhir"
FHIR = {"content-type": "application/fhir+json"}
SEED = (EXAMPLES / "sij-seed-neurectomy.json").read_bytes()
SEED_TTL = (EXAMPLES / "sij-seed-neurectomy.ttl").read_bytes()
SELECT = "PREFIX gr: <https://w3id.org/guideline-reasoner/core#> SELECT ?p ?label WHERE { ?p a gr:Policy }"
ASK = "PREFIX gr: <https://w3id.org/guideline-reasoner/core#> ASK { ?p a gr:Policy }"
CONSTRUCT = (
    "PREFIX gr: <https://w3id.org/guideline-reasoner/core#> CONSTRUCT { ?p a gr:Policy } WHERE { ?p a gr:Policy }"
)


@pytest.fixture(scope="module")
def document(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, ops in document["paths"].items() for m, op in ops.items()]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if isinstance(node.get("$ref"), str) else []) + [
            r for v in node.values() for r in _refs(v)
        ]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_the_document_is_well_formed(document: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])
    assert document["info"]["title"] and document["info"]["version"]
    operations = _operations(document)
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids))
    for method, path, op in operations:
        assert method in {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{([^}]+)}", path)), (method, path)
        assert op["responses"], (method, path)
        for status, response in op["responses"].items():
            assert re.fullmatch(r"[1-5](\d\d|XX)|default", status), (path, status)
            assert response["description"], (path, status)
    for ref in _refs(document):
        _resolve(document, ref)  # a KeyError names a reference to nothing


def test_every_component_schema_is_a_valid_json_schema(document: dict[str, Any]) -> None:
    for name, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_every_success_answer_has_a_schema_for_each_media_type(document: dict[str, Any]) -> None:
    for method, path, op in _operations(document):
        successes = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        assert successes or set(op["responses"]) & {"303"}, (method, path)  # a success, or a redirect
        for status, response in successes.items():
            assert response.get("content"), (method, path, status)
            for media_type, body in response["content"].items():
                assert body.get("schema"), (method, path, status, media_type)


def test_the_determination_and_the_comparison_are_documented(document: dict[str, Any]) -> None:
    answer = document["paths"]["/determinations"]["post"]["responses"]["200"]["content"]
    assert set(answer) == {"application/json", "text/markdown", "text/html", "text/turtle", "application/ld+json"}
    refs = {r["$ref"] for r in answer["application/json"]["schema"]["anyOf"]}
    assert refs == {"#/components/schemas/Determination", "#/components/schemas/Comparison"}
    outcome = _resolve(document, "#/components/schemas/Outcome")
    assert set(outcome["enum"]) == {
        "medically-necessary",
        "not-medically-necessary",
        "pended-information-needed",
        "pended-clinician-review",
        "no-applicable-guideline",
    }
    criterion = _resolve(document, "#/components/schemas/CriterionResult")["properties"]
    assert {"verification", "advisory", "decidesBecause"} <= set(criterion)


def _calls(client: TestClient) -> list[tuple[str, str, Any]]:
    """(method, path template, real answer): at least one success of every operation, in each JSON form."""
    pas = (FHIR_EXAMPLES / "sij-seed-neurectomy.pas.json").read_bytes()
    calls: list[tuple[str, str, Any]] = []

    def post(template: str, url: str, body: bytes, headers: dict[str, str]) -> None:
        calls.append(("POST", template, client.post(url, content=body, headers=headers)))

    def get(template: str, url: str, headers: dict[str, str] | None = None) -> None:
        calls.append(("GET", template, client.get(url, headers=headers)))

    for accept in ("application/json", "application/ld+json", "text/markdown", "text/html", "text/turtle"):
        post("/determinations", "/determinations", SEED, {**JSON, "accept": accept})
    post("/determinations", "/determinations", SEED_TTL, {"content-type": "text/turtle"})
    post("/determinations", "/determinations?policy=all", SEED, JSON)
    post("/determinations", "/determinations?policy=sij-clinical-pathway", pas, FHIR)
    post("/Claim/$submit", "/Claim/$submit?policy=sij-clinical-pathway", pas, FHIR)
    post("/Claim/$submit", "/Claim/$submit", pas, FHIR)  # no policy: pended, several policies named
    post("/Claim/$inquire", "/Claim/$inquire", pas, FHIR)  # the request just submitted, as it stands
    get("/metadata", "/metadata")
    get("/cds-services", "/cds-services")
    for hook in ("order-sign", "order-select"):
        body = (FHIR_EXAMPLES / f"sij-seed-neurectomy.{hook}.json").read_bytes()
        post("/cds-services/{service_id}", f"/cds-services/guideline-reasoner-{hook}", body, JSON)
    get("/policies", "/policies")
    for accept in ("application/json", "text/html"):
        get("/", "/", {"accept": accept})
        get("/policies/{policy_id}", "/policies/sij-clinical-pathway", {"accept": accept})
    calls.append(("GET", "/search", client.get("/search?code=64635", follow_redirects=False)))
    html = {"accept": "text/html"}
    get("/criteria/{criterion_id}", "/criteria/medicare-bariatric/bmi", html)
    get("/procedures/{code}", "/procedures/64635", html)
    for path in ("/codes/icd10cm/M54.15", "/codes/icd10cm/M47.8", "/codes/icd10cm/M54.5", "/codes/hcpcs/E0601"):
        get("/codes/{system}/{code}", path)
    for accept in ("application/json", "text/html"):
        get("/references/{reference_id}", "/references/ref-ncd-100-1", {"accept": accept})
        get("/examples/{name}", "/examples/bar-bmi-33?policy=medicare-bariatric", {"accept": accept})
    get("/examples/{name}", "/examples/bar-bmi-33")
    for policy in client.get("/policies").json():
        get("/policies/{policy_id}", f"/policies/{policy['id']}")
        for code in policy["codes"]:
            get("/procedures/{code}", f"/procedures/{code}")
        for criterion in client.get(f"/policies/{policy['id']}").json()["criteria"]:
            get("/criteria/{criterion_id}", f"/criteria/{criterion['policy']}/{criterion['id'].split('/')[-1]}")
    for query in (SELECT, ASK):
        get("/sparql", f"/sparql?query={quote(query)}", {"accept": "application/sparql-results+json"})
        post("/sparql", "/sparql", query.encode(), {"content-type": "application/sparql-query"})
    graph = {"content-type": "application/sparql-query", "accept": "application/ld+json"}
    post("/sparql", "/sparql", CONSTRUCT.encode(), graph)
    rows = {"accept": "application/sparql-results+json"}
    get("/sparql/determinations", f"/sparql/determinations?query={quote(SELECT)}", rows)
    browser = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    for endpoint in ("/sparql", "/sparql/determinations"):  # the SPARQL page, and its results
        get(endpoint, endpoint, browser)
        get(endpoint, f"{endpoint}?query={quote(SELECT)}", browser)
    post("/sparql/determinations", "/sparql/determinations", ASK.encode(), {"content-type": "application/sparql-query"})
    get("/reports/prior-authorization", "/reports/prior-authorization")
    get("/health", "/health")
    get("/version", "/version")
    posted = client.post("/determinations", content=SEED, headers=JSON)
    kept = posted.headers["location"]
    get("/determinations", "/determinations")
    for accept in ("application/json", "application/ld+json", "text/markdown", "text/html", "text/turtle"):
        get("/determinations/{ident}", kept, {"accept": accept})
    get("/determinations/{ident}/case", kept + "/case")
    get("/determinations/{ident}/case", kept + "/case", {"accept": "text/turtle"})
    get("/determinations/{ident}/reviews", kept + "/reviews")
    review = {"action": "uphold", "reviewer": "dr-openapi", "digest": posted.headers["etag"].strip('"')}
    calls.append(("POST", "/determinations/{ident}/reviews", client.post(kept + "/reviews", json=review)))
    page = kept.replace("/determinations/", "/review/")
    for accept in ("application/json", "text/html"):
        get("/review", "/review?outcome=not-medically-necessary", {"accept": accept})
        get("/review/{ident}", page, {"accept": accept})
    get("/review/sign-in", "/review/sign-in", {"accept": "text/html"})
    form = {"content-type": "application/x-www-form-urlencoded", "accept": "text/html"}
    signed = "action=uphold&reviewer=dr-page&digest=" + quote(posted.headers["etag"].strip('"'))
    for template, url, body in (
        ("/review/{ident}", page, signed.encode()),
        ("/review/sign-in", "/review/sign-in", b"token=t&next=%2Freview"),
        ("/review/sign-out", "/review/sign-out", b""),
    ):
        calls.append(("POST", template, client.post(url, content=body, headers=form, follow_redirects=False)))
    return calls


def test_real_answers_validate_against_their_documented_schemas(client: TestClient, document: dict[str, Any]) -> None:
    calls = _calls(client)
    exercised = {(method, template) for method, template, _ in calls}
    assert exercised == {(m, p) for m, p, _ in _operations(document)}  # a new operation needs a call here
    validators: dict[str, Any] = {}
    for method, template, r in calls:
        if r.status_code == 303:  # a redirect, documented without a body
            assert "303" in document["paths"][template][method.lower()]["responses"] and r.headers["location"]
            continue
        assert r.status_code in (200, 201), (method, template, r.status_code, r.text[:500])
        media_type = r.headers["content-type"].split(";")[0].strip()
        operation = document["paths"][template][method.lower()]
        content = operation["responses"][str(r.status_code)]["content"]
        assert media_type in content, (method, template, media_type)
        schema = content[media_type]["schema"]
        key = json.dumps(schema, sort_keys=True)
        if key not in validators:
            validators[key] = jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})
        body = r.json() if media_type.endswith("json") else r.text
        errors = [f"{e.instance_path}: {e.message}"[:300] for e in validators[key].iter_errors(body)]
        assert not errors, (method, r.url, media_type, errors[:5])


def test_a_schema_that_does_not_fit_is_caught(client: TestClient, document: dict[str, Any]) -> None:
    """The check above can fail: a determination is not a comparison, and a bundle without entries is no Bundle."""
    determination = client.post("/determinations", content=SEED, headers=JSON).json()
    components = {"components": document["components"]}
    assert jsonschema_rs.Draft202012Validator({"$ref": "#/components/schemas/Determination", **components}).is_valid(
        determination
    )
    assert not jsonschema_rs.Draft202012Validator({"$ref": "#/components/schemas/Comparison", **components}).is_valid(
        determination
    )
    bundle = jsonschema_rs.Draft202012Validator({"$ref": "#/components/schemas/FhirBundle", **components})
    assert not bundle.is_valid({"resourceType": "Bundle", "type": "collection"})
