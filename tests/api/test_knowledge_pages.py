"""The pages beyond the landing and policy pages: criterion, example, code and reference, in HTML and JSON."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from rdflib import Graph, Literal, URIRef

from reasoner.authoring.examples import criterion_page, example_index
from reasoner.knowledge.base import KnowledgeBase

from ..conftest import EXAMPLES
from .test_pages import BROWSER, _links

CRITERION = "medicare-bariatric/bmi"
CODE = "64635"


def _main(text: str) -> str:
    """The page's own content: the site's nav leads to pages other parts of the site serve."""
    return text[text.index("<main") : text.index("</main>")]


def _follow_every_link(client: TestClient, url: str) -> set[str]:
    """Every internal link in the page's content answers 200 to a browser, and its #fragment exists there."""
    r = client.get(url, headers=BROWSER)
    assert r.status_code == 200, url
    hrefs = {h for h in _links(_main(r.text)).hrefs if h.startswith("/")}
    for href in sorted(hrefs):
        target = client.get(href, headers=BROWSER)
        assert target.status_code == 200 and target.headers["content-type"].startswith("text/html"), href
        fragment = urlsplit(href).fragment
        assert not fragment or fragment in _links(target.text).ids, href
    return hrefs


def _expected_examples(criterion: str) -> dict[str, set[tuple[str, str]]]:
    """(name, policy) of the examples whose expected file gives the criterion each status, read here."""
    out: dict[str, set[tuple[str, str]]] = {"met": set(), "not-met": set(), "unknown": set()}
    for path in EXAMPLES.glob("*.expected.json"):
        for e in json.loads(path.read_text())["expectations"]:
            if criterion in e["criteria"]:
                out[e["criteria"][criterion]].add((path.name.removesuffix(".expected.json"), e["policy"]))
    return out


def test_the_criterion_page_shows_the_criterion_its_shape_and_its_examples(client: TestClient) -> None:
    view = client.get(f"/criteria/{CRITERION}").json()
    r = client.get(f"/criteria/{CRITERION}", headers=BROWSER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert view["label"] in r.text and view["statement"] in r.text and view["category"] in r.text
    hrefs = _links(r.text).hrefs
    assert f"/policies/{view['policy']}" in hrefs
    assert view["references"] and all(f"/references/{ref}" in hrefs for ref in view["references"])
    threshold = view["thresholds"][0]
    assert f"<strong>{threshold['value']}</strong> {threshold['unit']}" in r.text
    want = _expected_examples(CRITERION)
    assert all(want.values())  # this criterion has examples of each status, so the check below can fail
    got = {key: {(e["name"], e["policy"]) for e in view["examples"][key]} for key in ("met", "notMet", "unknown")}
    assert got == {"met": want["met"], "notMet": want["not-met"], "unknown": want["unknown"]}
    for status, key in (("met", "met"), ("not-met", "notMet"), ("unknown", "unknown")):
        section = r.text.split(f'id="examples-{key}"', 1)[1].split("<h3", 1)[0]
        names = {
            urlsplit(h).path.removeprefix("/examples/") for h in _links(section).hrefs if h.startswith("/examples/")
        }
        assert names == {n for n, _ in want[status]}


def test_the_shape_is_turtle_that_parses_and_names_the_shape(client: TestClient) -> None:
    view = client.get(f"/criteria/{CRITERION}").json()
    page = client.get(f"/criteria/{CRITERION}", headers=BROWSER).text
    assert view["shapes"] and set(view["shapesTurtle"]) == set(view["shapes"])
    blocks = [html.unescape(b) for b in re.findall(r"<pre[^>]*><code>(.*?)</code></pre>", page, re.S)]
    assert len(blocks) == len(view["shapes"])
    for shape, text in zip(view["shapes"], blocks, strict=True):
        for turtle in (view["shapesTurtle"][shape], text):
            graph = Graph().parse(data=turtle, format="turtle")
            assert (URIRef(shape), None, None) in graph and "@prefix sh:" in turtle
            assert any(isinstance(o, Literal) and o.value == 35 for o in graph.objects()), (
                "the threshold is written into the shape"
            )


def test_every_link_of_a_criterion_page_leads_to_a_page(client: TestClient) -> None:
    hrefs = _follow_every_link(client, f"/criteria/{CRITERION}")
    assert any(h.startswith("/examples/") for h in hrefs) and any(h.startswith("/references/") for h in hrefs)


def test_every_link_of_a_code_page_leads_to_a_page(client: TestClient) -> None:
    hrefs = _follow_every_link(client, f"/procedures/{CODE}")
    view = client.get(f"/procedures/{CODE}").json()
    covered = next(p for p in view["policies"] if p["coverage"] == "covered")
    assert {f"/criteria/{c}" for c in covered["criteria"]} <= hrefs
    assert all(f"/policies/{p['policy']}" in hrefs for p in view["policies"])
    assert any("#" in h for h in hrefs) and all(f"/references/{ref}" in hrefs for ref in covered["references"])


def test_the_code_page_shows_coverage_under_every_policy(client: TestClient) -> None:
    view = client.get(f"/procedures/{CODE}").json()
    r = client.get(f"/procedures/{CODE}", headers=BROWSER)
    assert r.status_code == 200 and f"{view['system']} {view['code']}: {view['label']}" in r.text
    assert view["procedureClass"] in r.text
    assert r.text.count('class="badge coverage-') == len(view["policies"]) == len(client.get("/policies").json())
    covered = next(p for p in view["policies"] if p["coverage"] == "covered")
    assert covered["verification"] and f"[{covered['verification']}]" in r.text
    assert covered["pathwaySteps"] and all(s["step"] in r.text for s in covered["pathwaySteps"])


def test_an_unknown_code_is_a_404_in_json_and_in_html(client: TestClient) -> None:
    r = client.get("/procedures/99999")
    assert r.status_code == 404 and r.json()["code"] == "not-found" and "99999" in r.json()["detail"]
    page = client.get("/procedures/99999", headers=BROWSER)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "No such procedure code" in page.text and str(escape(r.json()["detail"])) in page.text


def test_the_reference_page_shows_the_source_and_who_cites_it(client: TestClient) -> None:
    view = client.get("/references/ref-ncd-100-1").json()
    assert view["verification"] == "V" and view["verifiedContent"]
    cited = view["citedBy"]
    assert "medicare-bariatric" in cited["policies"] and CRITERION in cited["criteria"]
    assert {"policy": "medicare-bariatric", "code": "43644"} in cited["codes"]
    assert any(CRITERION in t["criteria"] for t in cited["thresholds"])
    r = client.get("/references/ref-ncd-100-1", headers=BROWSER)
    assert r.status_code == 200 and str(escape(view["label"])) in r.text
    hrefs = _links(r.text).hrefs
    assert (
        f"/criteria/{CRITERION}" in hrefs and "/procedures/43644" in hrefs and "/policies/medicare-bariatric" in hrefs
    )


def test_a_reference_page_links_pmids_and_dois(client: TestClient) -> None:
    refs = {r["id"]: r for p in client.get("/policies").json() for r in _cited(client, p["id"])}
    ref = next(r for r in refs.values() if any(i.upper().startswith("PMID") for i in r["identifiers"]))
    page = client.get(f"/references/{ref['id']}", headers=BROWSER).text
    assert any(h.startswith("https://pubmed.ncbi.nlm.nih.gov/") for h in _links(page).hrefs)


def _cited(client: TestClient, policy: str) -> list[dict[str, object]]:
    view = client.get(f"/policies/{policy}").json()
    ids = set(view["references"]) | {r for c in view["criteria"] for r in c["references"]}
    return [client.get(f"/references/{i}").json() for i in sorted(ids)]


def test_the_example_page_is_the_determination(client: TestClient) -> None:
    expected = json.loads((EXAMPLES / "bar-bmi-33.expected.json").read_text())["expectations"][0]
    d = client.get("/examples/bar-bmi-33").json()
    assert d["policy"]["id"] == expected["policy"] and d["outcome"] == expected["outcome"]
    assert {c["id"]: c["status"] for c in d["criteria"]} == expected["criteria"]
    r = client.get("/examples/bar-bmi-33", headers=BROWSER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.text.count("<html") == 1 and "/static/site.css" in r.text and '<article class="letter">' in r.text
    assert f"Determination: {d['outcomeLabel']}" in r.text and 'class="status-not-met"' in r.text
    assert "/policies/medicare-bariatric" in _links(r.text).hrefs


def test_an_example_under_each_policy_its_expected_file_names(client: TestClient) -> None:
    policies = [
        e["policy"] for e in json.loads((EXAMPLES / "sij-seed-neurectomy.expected.json").read_text())["expectations"]
    ]
    assert len(policies) > 1
    for policy in policies:
        assert client.get(f"/examples/sij-seed-neurectomy?policy={policy}").json()["policy"]["id"] == policy
    page = client.get(f"/examples/sij-seed-neurectomy?policy={policies[0]}", headers=BROWSER).text
    assert all(f"/examples/sij-seed-neurectomy?policy={p}" in html.unescape(page) for p in policies[1:])
    r = client.get("/examples/bar-bmi-33?policy=sij-clinical-pathway")
    assert r.status_code == 404 and "medicare-bariatric" in r.json()["detail"]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/examples/no-such-case", 404),
        ("/examples/bar-bmi-33.expected", 404),  # a file beside the cases, not an example
        ("/examples/..%2F..%2Fpyproject", 404),  # no route: the path is /examples/../../pyproject
        ("/examples/.hidden", 422),
        ("/examples/%2e%2e", 422),
        ("/examples/bar-bmi-33?policy=..%2Fx", 422),
        ("/criteria/no-such/criterion", 404),
        ("/references/no-such-reference", 404),
    ],
)
def test_what_is_not_there_is_a_precise_4xx(client: TestClient, url: str, status: int) -> None:
    r = client.get(url)
    assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json"), url
    page = client.get(url, headers=BROWSER)
    assert page.status_code == status, url
    if status == 404 and "%2F" not in url:
        assert page.headers["content-type"].startswith("text/html") and "Back to the policies" in page.text


def test_a_browser_clicks_from_the_landing_page_to_an_example_determination(client: TestClient) -> None:
    landing = client.get("/", headers=BROWSER)
    policy = next(h for h in _links(landing.text).hrefs if h == "/policies/medicare-bariatric")
    policy_page = client.get(policy, headers=BROWSER)
    criterion = next(h for h in _links(policy_page.text).hrefs if h == f"/criteria/{CRITERION}")
    criterion_page = client.get(criterion, headers=BROWSER)
    example = next(h for h in _links(criterion_page.text).hrefs if h.startswith("/examples/bar-bmi-33"))
    letter = client.get(example, headers=BROWSER)
    assert letter.status_code == 200 and "Determination: Not medically necessary" in letter.text


def test_the_examples_come_from_the_folder_named_not_from_the_knowledge_base_snapshot(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    # A server answers from a published snapshot of ontology/ and shapes/, without examples/:
    # the router names the folder beside the source (api/routers/examples.py examples_folder).
    assert example_index(kb, tmp_path) == {} and criterion_page(kb, tmp_path, CRITERION)["examples"]["met"] == []
    assert "bar-bmi-33" in example_index(kb, EXAMPLES)
    folder = tmp_path / "cases"  # another folder: the index of one is read once per knowledge base
    folder.mkdir()
    (folder / "copy.json").write_bytes((EXAMPLES / "bar-bmi-33.json").read_bytes())
    (folder / "copy.expected.json").write_bytes((EXAMPLES / "bar-bmi-33.expected.json").read_bytes())
    (folder / "broken.json").write_text("{}")
    (folder / "broken.expected.json").write_text("not json")
    assert list(example_index(kb, folder)) == ["copy"]  # a malformed expected file is skipped, not a 500
